/**
 * The user-error types, defined in src/core/errors.ts (the core raises them), re-exported for the
 * commands, which print them; and the exit codes, which only the command line has.
 */
export { UsageError, UserError } from "../core/errors.ts";

/** Exit codes shared by every command; documented in the README. */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  timeout: 124,
  interrupted: 130,
} as const;
