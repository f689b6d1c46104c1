/**
 * The permissions cmcs runs with, read from `permissions.txt` (the one list: the `cmcs` and
 * `install` tasks, the tests and the README all use it) for the build scripts, which bake the same
 * flags into the compiled binary and smoke-test the bundle under them.
 */
import { fileURLToPath } from "node:url";
import { UserError } from "../src/cli/errors.ts";

/** `permissions.txt` at the root of this checkout. */
export const PERMISSIONS_FILE: string = fileURLToPath(
  new URL("../permissions.txt", import.meta.url),
);

const PERMISSION = /^--(allow|deny)-(read|write|net|env|run|sys|ffi|import)(=\S+)?$/;

/**
 * Splits the file's text into flags (any whitespace separates them) and refuses anything that is
 * not one explicit `--allow-…`/`--deny-…` permission: `-A`/`--allow-all` would silently widen what
 * a released binary may do, and any other flag (a typo, `--unstable…`) does not belong in the list.
 * An empty list is refused too, since cmcs cannot run without permissions.
 */
export function parsePermissionFlags(text: string, source = "permissions.txt"): string[] {
  const flags = text.split(/\s+/).filter(Boolean);
  for (const flag of flags) {
    if (!PERMISSION.test(flag)) {
      throw new UserError(`${source}: "${flag}" is not an explicit permission flag`, {
        hint: "list only --allow-<name>[=…] or --deny-<name>[=…] flags (never -A/--allow-all)",
      });
    }
  }
  if (flags.length === 0) {
    throw new UserError(`${source} lists no permission flags`, {
      hint: "put cmcs's --allow-… flags in it, separated by spaces",
    });
  }
  return flags;
}

/** Reads and checks {@link PERMISSIONS_FILE} (or `file`); a missing file is a clear one-line error. */
export async function readPermissionFlags(file: string = PERMISSIONS_FILE): Promise<string[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UserError(`${file} does not exist`, {
        hint: "run the build from a cmcs checkout: permissions.txt sits at its root",
      });
    }
    throw error;
  }
  return parsePermissionFlags(text, file);
}
