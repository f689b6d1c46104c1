/**
 * Errors that are the user's to fix. They live in the core because the core is what finds the
 * mistakes (a missing ticket, a bad config value, a branch already taken); the CLI prints them as
 * one `error: …` line (plus an optional `hint: …` line) and exits with their code, and the
 * dashboard shows their message. Anything else that escapes a command is a bug in cmcs and is
 * printed with its stack.
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
