/**
 * The invocations whose start-up time matters most — `cmcs --help`, `cmcs status` and `cmcs brief`
 * (the session-start hook) — parsed without commander. Commander imports `node:events`,
 * `node:child_process`, `node:fs` and `node:process`, and loading them costs about twice an empty
 * Deno program (bench/analysis.md).
 *
 * The fast path only ever accepts a well-formed invocation: anything it does not recognise exactly
 * (an unknown or repeated-with-a-value flag, `-h` after a command, `--`, a bad number, one
 * positional too many, an option value that starts with `-`) returns null, and commander parses
 * the same arguments, so every usage error and every help page still comes from one place.
 */
import { TOP_LEVEL_HELP } from "../cli/help_text.ts";
import { invoke } from "../cli/invoke.ts";
import { onDemand } from "../core/lazy.ts";
import { setPrettyJson } from "../cli/output.ts";
import { integer } from "../cli/parse.ts";

interface Spec {
  /** At most this many positional arguments. */
  positionals: number;
  /** `--name` switches. */
  switches: string[];
  /** `--name <value>` options and their parsers (which throw on a bad value). */
  values?: Record<string, (value: string) => unknown>;
  /** Option values when not given, as commander's defaults. */
  defaults?: Record<string, unknown>;
}

interface Parsed {
  positionals: string[];
  options: Record<string, unknown>;
}

/** `--dry-run` → `dryRun`, as commander names option keys. */
function key(flag: string): string {
  return flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Parses `args` against `spec`; null when commander should decide (see the module comment). */
export function parseSimple(args: string[], spec: Spec): Parsed | null {
  const positionals: string[] = [];
  const options: Record<string, unknown> = { ...spec.defaults };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("-")) {
      positionals.push(arg);
      continue;
    }
    if (spec.switches.includes(arg)) {
      options[key(arg)] = true;
      continue;
    }
    const eq = arg.indexOf("=");
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const parse = spec.values?.[flag];
    if (!parse) return null;
    const value = eq < 0 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined || value.startsWith("-")) return null;
    try {
      options[key(flag)] = parse(value);
    } catch {
      return null;
    }
  }
  return positionals.length > spec.positionals ? null : { positionals, options };
}

/**
 * The two commands' modules, loaded only when one runs (src/core/lazy.ts): `cmcs --help` does not
 * wait for `deno run` to fetch and analyse them and their imports.
 */
interface OnDemand {
  "src/commands/status.ts": typeof import("./status.ts");
  "src/commands/brief.ts": typeof import("./brief.ts");
}
const load = onDemand<OnDemand>();

/** `status` as main.ts declares it; no `--limit` means the running runs plus the 10 newest. */
const STATUS: Spec = {
  positionals: 1,
  switches: ["--active", "--latest", "--json", "--pretty"],
  values: { "--limit": integer(1) },
};
const BRIEF: Spec = { positionals: 1, switches: ["--json", "--pretty"] };

/**
 * Runs `argv` without commander when it can; returns the exit code, or null to hand `argv` to
 * commander. The top-level help is commander's own text, stored in help_text.ts (a test keeps it
 * equal), and is used only when standard output is not a terminal: commander wraps to a
 * terminal's width but to 80 columns elsewhere.
 */
export async function fastPath(argv: string[]): Promise<number | null> {
  const [command, ...rest] = argv;
  if ((command === "--help" || command === "-h") && rest.length === 0) {
    if (Deno.stdout.isTerminal()) return null;
    const bytes = new TextEncoder().encode(TOP_LEVEL_HELP);
    for (let n = 0; n < bytes.length;) n += await Deno.stdout.write(bytes.subarray(n));
    return 0;
  }
  if (command === "status") {
    const parsed = parseSimple(rest, STATUS);
    if (!parsed) return null;
    const opts = parsed.options as { limit?: number; active?: boolean; latest?: boolean };
    if (parsed.options.pretty) setPrettyJson(true);
    await invoke(async () =>
      (await load("src/commands/status.ts")).status(parsed.positionals[0], opts)
    );
    return Number(Deno.exitCode ?? 0);
  }
  if (command === "brief") {
    const parsed = parseSimple(rest, BRIEF);
    if (!parsed) return null;
    if (parsed.options.pretty) setPrettyJson(true);
    await invoke(async () =>
      (await load("src/commands/brief.ts")).brief(parsed.positionals[0] ?? ".", parsed.options)
    );
    return Number(Deno.exitCode ?? 0);
  }
  return null;
}
