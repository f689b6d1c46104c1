/**
 * The shape of `.cmcs/config.yml`: every key, its type, default and meaning, and the check each
 * value must pass. One table drives the loader, `cmcs config show`, the config reference in the
 * docs and the docs-drift test, so a key cannot exist in one place and not another.
 */
import { isAbsolute, posix, win32 } from "node:path";

export type Effort = "low" | "medium" | "high" | "xhigh";
export const EFFORTS: readonly Effort[] = Object.freeze(["low", "medium", "high", "xhigh"]);

export type Sandbox = "read-only" | "workspace-write" | "danger-full-access";
export const SANDBOXES: readonly Sandbox[] = Object.freeze([
  "read-only",
  "workspace-write",
  "danger-full-access",
]);

export interface CodexConfig {
  command: string;
  model: string | null;
  reasoning_effort: Effort | null;
  sandbox: Sandbox;
  timeout_s: number;
  idle_timeout_s: number;
  auto_commit: boolean;
  fallback_model: string | null;
  extra_args: string[];
  max_retries: number;
  retry_backoff_s: number;
  stop_grace_s: number;
}

export interface TicketsConfig {
  dir: string;
}

export interface WorktreesConfig {
  root: string;
  base: string | null;
  copy: string[];
  setup: string | null;
  archive: string | null;
  timeout_s: number;
  port_range: [number, number];
}

export interface RunConfig {
  max_parallel: number;
}

export interface GitConfig {
  timeout_s: number;
}

export interface HooksConfig {
  on_ticket_end: string | null;
  on_run_end: string | null;
  timeout_s: number;
}

export interface DashboardConfig {
  host: string;
  port: number;
}

/** The effective configuration; keys are snake_case exactly as written in config.yml. */
export interface Config {
  codex: CodexConfig;
  tickets: TicketsConfig;
  worktrees: WorktreesConfig;
  run: RunConfig;
  git: GitConfig;
  hooks: HooksConfig;
  dashboard: DashboardConfig;
}

/** What is wrong with a value: the expectation (completes "<key> must be …"), and where. */
export interface Problem {
  expected: string;
  /** Index of the offending list item, so the error can point at that item's line. */
  item?: number;
  hint?: string;
}

/** One leaf key of the config. */
export interface KeySpec {
  /** Dotted key, e.g. `codex.timeout_s`. */
  key: string;
  /** The type as documented, e.g. `number > 0` or `string | null`. */
  type: string;
  default: unknown;
  description: string;
  /** Returns undefined when `value` is acceptable. */
  check: (value: unknown) => Problem | undefined;
}

type Check = KeySpec["check"];

const isString = (v: unknown): v is string => typeof v === "string";

function nonEmptyString(what = "a non-empty string"): Check {
  return (v) => isString(v) && v.trim() !== "" ? undefined : { expected: what };
}

function nullable(check: Check, what: string): Check {
  return (v) => {
    if (v === null) return undefined;
    const problem = check(v);
    return problem ? { ...problem, expected: what } : undefined;
  };
}

function oneOf(values: readonly string[], allowNull: boolean): Check {
  const listed = values.join(", ") + (allowNull ? " or null" : "");
  return (v) =>
    (allowNull && v === null) || (isString(v) && values.includes(v))
      ? undefined
      : { expected: `one of ${listed}` };
}

function positiveNumber(): Check {
  return (v) =>
    typeof v === "number" && Number.isFinite(v) && v > 0 ? undefined : {
      expected: "a number > 0",
      hint: "write a number of seconds greater than 0, without quotes",
    };
}

function nonNegativeNumber(): Check {
  return (v) =>
    typeof v === "number" && Number.isFinite(v) && v >= 0 ? undefined : {
      expected: "a number >= 0",
      hint: "write a number of seconds, 0 or more, without quotes",
    };
}

function integerAtLeast(min: number): Check {
  return (v) =>
    typeof v === "number" && Number.isInteger(v) && v >= min
      ? undefined
      : { expected: `a whole number >= ${min}` };
}

function port(v: unknown): boolean {
  return typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= 65535;
}

function boolean(): Check {
  return (v) => {
    if (typeof v === "boolean") return undefined;
    if (isString(v) && /^(true|false|yes|no|on|off)$/i.test(v.trim())) {
      const word = /^(true|yes|on)$/i.test(v.trim()) ? "true" : "false";
      return { expected: "true or false", hint: `write ${word} without quotes` };
    }
    return { expected: "true or false", hint: "write true or false without quotes" };
  };
}

function stringList(): Check {
  return (v) => {
    if (!Array.isArray(v)) return { expected: "a list of strings", hint: 'write e.g. ["a", "b"]' };
    const bad = v.findIndex((item) => !isString(item));
    return bad === -1 ? undefined : {
      expected: "a list of strings",
      item: bad,
      hint: 'quote each item, e.g. ["--flag", "42"]',
    };
  };
}

/**
 * A relative directory that stays inside its base: no absolute path (POSIX or Windows), no `..`
 * that climbs out after normalising, and (for `allowDot` false) not the base itself.
 */
function insidePath(base: string, allowDot: boolean): Check {
  return (v) => {
    const expected = `a relative path inside the ${base}`;
    if (!isString(v) || v.trim() === "") return { expected };
    if (isAbsolute(v) || posix.isAbsolute(v) || win32.isAbsolute(v)) {
      return { expected, hint: `write a path relative to the ${base}, without a leading /` };
    }
    const normal = posix.normalize(v.replaceAll("\\", "/"));
    if (normal === ".." || normal.startsWith("../")) {
      return { expected, hint: `the path must not climb out of the ${base} with ..` };
    }
    if (!allowDot && (normal === "." || normal === "./")) {
      return { expected: `a subdirectory of the ${base}, not the ${base} itself` };
    }
    return undefined;
  };
}

function portRange(): Check {
  return (v) => {
    const expected = "[start, end] with whole numbers 1..65535 and start <= end";
    if (!Array.isArray(v) || v.length !== 2) return { expected, hint: "write e.g. [4300, 4399]" };
    const bad = v.findIndex((item) => !port(item));
    if (bad !== -1) return { expected, item: bad };
    if (v[0] > v[1]) return { expected, hint: "put the smaller port first" };
    return undefined;
  };
}

const NULL_STRING = "a non-empty string or null";

/** Every leaf key, in the order `config show` and the docs list them. */
export const KEY_SPECS: readonly KeySpec[] = Object.freeze(
  [
    {
      key: "codex.command",
      type: "string",
      default: "codex",
      description: "Codex executable: a name looked up on PATH, or a path",
      check: nonEmptyString(),
    },
    {
      key: "codex.model",
      type: "string | null",
      default: null,
      description: "model passed as -m; null passes none and Codex uses the user's own config",
      check: nullable(nonEmptyString(), NULL_STRING),
    },
    {
      key: "codex.reasoning_effort",
      type: `${EFFORTS.join(" | ")} | null`,
      default: null,
      description: "passed as -c model_reasoning_effort=…; null passes none (Codex's own default)",
      check: oneOf(EFFORTS, true),
    },
    {
      key: "codex.sandbox",
      type: SANDBOXES.join(" | "),
      default: "danger-full-access",
      description: "passed as --sandbox; workspace-write cannot write a linked worktree's git " +
        "metadata, so commits from a worker need danger-full-access",
      check: oneOf(SANDBOXES, false),
    },
    {
      key: "codex.timeout_s",
      type: "number > 0",
      default: 1800,
      description: "seconds one attempt at a ticket may take in all",
      check: positiveNumber(),
    },
    {
      key: "codex.idle_timeout_s",
      type: "number > 0",
      default: 600,
      description: "seconds without a JSONL line from Codex before the attempt is ended",
      check: positiveNumber(),
    },
    {
      key: "codex.auto_commit",
      type: "boolean",
      default: true,
      description: "commit the worker's changes after each successful ticket",
      check: boolean(),
    },
    {
      key: "codex.fallback_model",
      type: "string | null",
      default: null,
      description: "model to retry with after a context-window failure; null: no retry",
      check: nullable(nonEmptyString(), NULL_STRING),
    },
    {
      key: "codex.extra_args",
      type: "list of strings",
      default: [],
      description: "extra options appended to `codex exec`'s options",
      check: stringList(),
    },
    {
      key: "codex.max_retries",
      type: "integer >= 0",
      default: 2,
      description: "retries after a transient error (HTTP 5xx, dropped stream)",
      check: integerAtLeast(0),
    },
    {
      key: "codex.retry_backoff_s",
      type: "number >= 0",
      default: 10,
      description: "seconds before the first retry; doubles with each retry",
      check: nonNegativeNumber(),
    },
    {
      key: "codex.stop_grace_s",
      type: "number > 0",
      default: 5,
      description: "seconds between SIGINT, SIGTERM and SIGKILL when stopping a worker; also " +
        "how long a commit in progress may go on after a stop",
      check: positiveNumber(),
    },
    {
      key: "tickets.dir",
      type: "relative path",
      default: ".cmcs/tickets",
      description: "ticket directory, relative to the target (repository or worktree), inside it",
      check: insidePath("target", true),
    },
    {
      key: "worktrees.root",
      type: "relative path",
      default: "worktrees",
      description: "directory for new worktrees, relative to the main checkout, inside it",
      check: insidePath("main checkout", false),
    },
    {
      key: "worktrees.base",
      type: "string | null",
      default: null,
      description: "ref new worktrees start from; null: the main checkout's HEAD",
      check: nullable(nonEmptyString(), NULL_STRING),
    },
    {
      key: "worktrees.copy",
      type: "list of strings",
      default: [],
      description: "git-ignored files copied from the main checkout into new worktrees, e.g. .env",
      check: stringList(),
    },
    {
      key: "worktrees.setup",
      type: "string | null",
      default: null,
      description: "shell command run in a new worktree",
      check: nullable(nonEmptyString(), NULL_STRING),
    },
    {
      key: "worktrees.archive",
      type: "string | null",
      default: null,
      description: "shell command run in a worktree before it is removed",
      check: nullable(nonEmptyString(), NULL_STRING),
    },
    {
      key: "worktrees.timeout_s",
      type: "number > 0",
      default: 1800,
      description: "seconds the setup or archive command may take before it is ended",
      check: positiveNumber(),
    },
    {
      key: "worktrees.port_range",
      type: "[start, end]",
      default: [4300, 4399],
      description: "ports handed out to worktrees (whole numbers 1..65535, start <= end)",
      check: portRange(),
    },
    {
      key: "run.max_parallel",
      type: "integer >= 1",
      default: 4,
      description: "targets run at the same time",
      check: integerAtLeast(1),
    },
    {
      key: "git.timeout_s",
      type: "number > 0",
      default: 600,
      description: "seconds a git step that runs hooks (the auto-commit's git add and git " +
        "commit, git worktree add) may take before it is ended",
      check: positiveNumber(),
    },
    {
      key: "hooks.on_ticket_end",
      type: "string | null",
      default: null,
      description: "shell command run once when a ticket ends (after its last attempt)",
      check: nullable(nonEmptyString(), NULL_STRING),
    },
    {
      key: "hooks.on_run_end",
      type: "string | null",
      default: null,
      description: "shell command run when a run ends",
      check: nullable(nonEmptyString(), NULL_STRING),
    },
    {
      key: "hooks.timeout_s",
      type: "number > 0",
      default: 30,
      description: "seconds a hook may take",
      check: positiveNumber(),
    },
    {
      key: "dashboard.host",
      type: "string",
      default: "127.0.0.1",
      description: "address the dashboard listens on",
      check: nonEmptyString(),
    },
    {
      key: "dashboard.port",
      type: "integer 1..65535",
      default: 4173,
      description: "port the dashboard listens on",
      check: (v) => port(v) ? undefined : { expected: "a whole number from 1 to 65535" },
    },
  ] satisfies KeySpec[],
);

/** Section names in the order they are shown. */
export const SECTIONS = [
  "codex",
  "tickets",
  "worktrees",
  "run",
  "git",
  "hooks",
  "dashboard",
] as const;
export type Section = typeof SECTIONS[number];

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** A fresh, mutable copy of the defaults. */
export function defaultConfig(): Config {
  const config: Record<string, Record<string, unknown>> = {};
  for (const section of SECTIONS) config[section] = {};
  for (const spec of KEY_SPECS) {
    const [section, name] = spec.key.split(".");
    config[section][name] = structuredClone(spec.default);
  }
  return config as unknown as Config;
}

/** The defaults (deeply frozen; use {@link defaultConfig} for a copy to change). */
export const DEFAULT_CONFIG: Config = deepFreeze(defaultConfig());

/**
 * Every leaf key, dotted, with its type, default and description: the source of the config
 * reference in the docs, which a test keeps in step with this table.
 */
export function configKeys(): {
  key: string;
  type: string;
  default: unknown;
  description: string;
}[] {
  return KEY_SPECS.map(({ key, type, default: value, description }) => ({
    key,
    type,
    default: structuredClone(value),
    description,
  }));
}
