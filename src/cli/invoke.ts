import { printError } from "./output.ts";
import { UserError } from "./errors.ts";

/**
 * Runs one command's implementation (loaded lazily, so `cmcs --help` never pays for SQLite, YAML
 * or the web server) and turns its result into the process exit code. A {@link UserError} becomes
 * `error: …` and an optional `hint: …` on stderr; anything else is a bug and keeps its stack.
 */
export async function invoke(action: () => Promise<number | void>): Promise<void> {
  try {
    const code = await action();
    Deno.exitCode = code ?? 0;
  } catch (error) {
    Deno.exitCode = reportError(error);
  }
}

/** Prints an error the way every cmcs command does and returns the exit code to use. */
export function reportError(error: unknown): number {
  if (error instanceof UserError) {
    printError(`error: ${error.message}`);
    if (error.hint) printError(`hint: ${error.hint}`);
    return error.exitCode;
  }
  printError(`error: internal error in cmcs: ${(error as Error)?.message ?? String(error)}`);
  printError((error as Error)?.stack ?? "");
  printError("hint: this is a bug in cmcs; please report it with the command you ran");
  return 70;
}
