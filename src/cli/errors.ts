/**
 * Errors that are the user's to fix. The CLI prints them as one `error: …` line (plus an optional
 * `hint: …` line) and exits with their code; anything else that escapes a command is a bug in cmcs
 * and is printed with its stack.
 */
export class UserError extends Error {
  /** Process exit code: 1 for operational failures, 2 for usage mistakes. */
  readonly exitCode: number;
  /** One line telling the user what to do next, if there is something useful to say. */
  readonly hint?: string;

  constructor(message: string, options: { hint?: string; exitCode?: number } = {}) {
    super(message);
    this.name = "UserError";
    this.exitCode = options.exitCode ?? 1;
    this.hint = options.hint;
  }
}

/** A mistake in how a command was called (bad flag value, missing argument): exit code 2. */
export class UsageError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, { hint, exitCode: 2 });
    this.name = "UsageError";
  }
}

/** Exit codes shared by every command; documented in the README. */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  timeout: 124,
  interrupted: 130,
} as const;
