/**
 * Words of a `cmcs …` command line that cmcs prints for the user (or Claude) to paste back: the
 * next step after `status`, `result`, `diff` or `resume`. A leaf module, so that `status`, which
 * runs on every prompt, does not load the result machinery to quote a path.
 */
import { relative } from "./path.ts";

/** `word` as one shell word: unchanged when it is plain, single-quoted otherwise. */
export function shellWord(word: string): string {
  if (/^[A-Za-z0-9_./@%+=:,-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** `target` as the path argument of a command typed in the current directory (`.` for itself). */
export function commandPath(target: string): string {
  return relative(Deno.cwd(), target) || ".";
}
