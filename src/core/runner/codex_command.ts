import type { Config } from "../config.ts";

export interface CodexInvocation {
  target: string;
  model: string | null;
  effort: string | null;
  lastMessageFile: string;
  /** Continue this Codex thread (`codex exec … resume <id> -`) instead of starting a new one. */
  resumeThreadId?: string | null;
}

/**
 * The argument list for `codex exec`, built from the config (the flags of Codex CLI 0.169.0 and 0.171.0, which agree). With no model
 * or effort configured none is passed, so Codex uses the user's own configuration. For `resume`,
 * flags that `resume` rejects (`-s`, `-C`) go before the subcommand. The prompt is read from stdin
 * (`-`), so a ticket of any size works.
 */
export function buildCodexArgs(codex: Config["codex"], inv: CodexInvocation): string[] {
  const args = ["exec", "--json"];
  if (inv.model) args.push("-m", inv.model);
  if (inv.effort) args.push("-c", `model_reasoning_effort=${inv.effort}`);
  args.push(
    "-s",
    codex.sandbox,
    "-C",
    inv.target,
    "--skip-git-repo-check",
    "-o",
    inv.lastMessageFile,
  );
  args.push(...codex.extra_args);
  if (inv.resumeThreadId) args.push("resume", inv.resumeThreadId);
  args.push("-");
  return args;
}
