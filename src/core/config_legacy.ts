/**
 * The earlier cmcs configured Codex with one raw argument list (`codex.args`, default
 * `--yolo exec --sandbox danger-full-access -c reasoning_effort=xhigh`). cmcs now builds the
 * command line itself from structured keys; this reads such a list back into those keys.
 */
import { type Effort, EFFORTS, type Sandbox, SANDBOXES } from "./config_schema.ts";

export interface Translated<T> {
  value: T;
  /** The argument(s) it came from, for warnings: `--sandbox danger-full-access`. */
  from: string;
}

export interface LegacyArgs {
  sandbox?: Translated<Sandbox>;
  effort?: Translated<Effort>;
  model?: Translated<string>;
  /** Arguments with no structured key: kept, in order, for `codex.extra_args`. */
  extraArgs: string[];
  /** Arguments removed, each with why (one warning each). */
  dropped: string[];
  /** Set when the list cannot be read (a flag without its value, an unknown sandbox or effort). */
  error?: string;
  hint?: string;
}

const EFFORT_KEYS = new Set(["reasoning_effort", "model_reasoning_effort"]);

/**
 * Translates the earlier tool's `codex.args`. `exec` is dropped silently (cmcs adds it);
 * `--yolo` / `--dangerously-bypass-approvals-and-sandbox` win over any `--sandbox`, as they do in
 * Codex; `--full-auto` (removed from Codex) becomes `workspace-write`; `-a`/`--ask-for-approval`
 * is dropped (exec never asks, and Codex rejects it after `exec`). Everything else is kept.
 */
export function translateLegacyArgs(args: readonly string[]): LegacyArgs {
  const result: LegacyArgs = { extraArgs: [], dropped: [] };
  let bypass: Translated<Sandbox> | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const [flag, inline] = _splitInline(arg);
    const valueOf = (): string | undefined => {
      if (inline !== undefined) return inline;
      if (i + 1 >= args.length) return undefined;
      return args[++i];
    };
    const missing = (): LegacyArgs => ({
      ...result,
      error: `${flag} has no value after it`,
      hint: `give ${flag} a value, or remove it`,
    });

    if (arg === "exec") continue;
    if (arg === "--yolo" || arg === "--dangerously-bypass-approvals-and-sandbox") {
      bypass = { value: "danger-full-access", from: arg };
      continue;
    }
    if (arg === "--full-auto") {
      result.sandbox = { value: "workspace-write", from: arg };
      continue;
    }
    if (flag === "-s" || flag === "--sandbox") {
      const value = valueOf();
      if (value === undefined) return missing();
      if (!(SANDBOXES as readonly string[]).includes(value)) {
        return {
          ...result,
          error: `unknown sandbox ${JSON.stringify(value)}`,
          hint: `use one of ${SANDBOXES.join(", ")}`,
        };
      }
      result.sandbox = { value: value as Sandbox, from: `${flag} ${value}` };
      continue;
    }
    if (flag === "-m" || flag === "--model") {
      const value = valueOf();
      if (value === undefined || value.trim() === "") return missing();
      result.model = { value, from: `${flag} ${value}` };
      continue;
    }
    if (flag === "-a" || flag === "--ask-for-approval") {
      const value = valueOf();
      if (value === undefined) return missing();
      result.dropped.push(
        `"${flag} ${value}" (codex exec never asks for approval, and rejects ${flag} after exec)`,
      );
      continue;
    }
    if (flag === "-c" || flag === "--config") {
      const value = valueOf();
      if (value === undefined) return missing();
      const eq = value.indexOf("=");
      const key = eq === -1 ? value : value.slice(0, eq).trim();
      const setting = eq === -1 ? "" : _unquote(value.slice(eq + 1).trim());
      if (EFFORT_KEYS.has(key)) {
        if (!(EFFORTS as readonly string[]).includes(setting)) {
          return {
            ...result,
            error: `unknown reasoning effort ${JSON.stringify(setting)} in "${value}"`,
            hint: `use one of ${EFFORTS.join(", ")}`,
          };
        }
        result.effort = { value: setting as Effort, from: `${flag} ${value}` };
        continue;
      }
      if (key === "model" && setting !== "") {
        result.model = { value: setting, from: `${flag} ${value}` };
        continue;
      }
      result.extraArgs.push(flag, value);
      continue;
    }
    result.extraArgs.push(arg);
  }
  if (bypass) result.sandbox = bypass;
  return result;
}

/** `--sandbox=x` → [`--sandbox`, `x`]; `-sx`-style short options are left alone. */
function _splitInline(arg: string): [string, string | undefined] {
  if (!arg.startsWith("--")) return [arg, undefined];
  const eq = arg.indexOf("=");
  return eq === -1 ? [arg, undefined] : [arg.slice(0, eq), arg.slice(eq + 1)];
}

/** A TOML string value as Codex's `-c` reads it: `"xhigh"` and `'xhigh'` mean xhigh. */
function _unquote(value: string): string {
  const quoted = /^"(.*)"$/.exec(value) ?? /^'(.*)'$/.exec(value);
  return quoted ? quoted[1] : value;
}
