/**
 * Loading `.cmcs/config.yml`: the file is deep-merged over the defaults, and anything wrong in it
 * (syntax, an unknown key, a wrong type, a value out of range) stops cmcs with an error naming the
 * file, line and key — never a silent fallback to a default. A config written for the earlier cmcs
 * (`codex.args`, `worktrees.start_point`) still loads, translated, with warnings.
 */
import { isAbsolute, relative } from "./path.ts";
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type ParsedNode,
  parseDocument,
} from "yaml";
import { UserError } from "./errors.ts";
import type { Project } from "./project.ts";
import { type Config, defaultConfig, KEY_SPECS, type KeySpec, SECTIONS } from "./config_schema.ts";
import { translateLegacyArgs } from "./config_legacy.ts";

export {
  type CodexConfig,
  type Config,
  configKeys,
  type DashboardConfig,
  DEFAULT_CONFIG,
  defaultConfig,
  type Effort,
  EFFORTS,
  type HooksConfig,
  KEY_SPECS,
  type KeySpec,
  type RunConfig,
  type Sandbox,
  SANDBOXES,
  SECTIONS,
  type TicketsConfig,
  type WorktreesConfig,
} from "./config_schema.ts";
import { editDistance } from "./edit_distance.ts";
import { readRegularFile, RefusedFile } from "./bounded_read.ts";

/** The effective config and where each value came from. */
export interface LoadedConfig {
  config: Config;
  /** Dotted key → `"default"` or `"<path>:<line>"` of the line that set it. */
  sources: Record<string, string>;
  /** One line per legacy setting that was translated or dropped. */
  warnings: string[];
  /** The config file's path (absolute when loaded by {@link loadConfig}). */
  path: string;
  /** False when there is no config file (everything is a default). */
  exists: boolean;
}

const SPECS = new Map<string, KeySpec>(KEY_SPECS.map((spec) => [spec.key, spec]));
const LEGACY_KEYS = new Set(["codex.args", "worktrees.start_point"]);

/**
 * The largest config file read, the same limit as a ticket's (`MAX_TICKET_BYTES`): a config is a page of settings, and
 * anything near this is a mistake (a log pasted in, a symlink to a large file).
 */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

/**
 * Reads the project's config. A missing file gives the defaults (`exists: false`); a file that
 * cannot be read, is not a regular file (a FIFO would hang the read, `/dev/zero` would never end),
 * is larger than {@link MAX_CONFIG_BYTES}, is not UTF-8, or is wrong in any way throws a
 * {@link UserError}. Errors name
 * the file relative to the current directory when it is below it, else by its absolute path.
 */
export async function loadConfig(project: Project): Promise<LoadedConfig> {
  const path = project.configPath;
  const shown = _displayPath(path);
  let bytes: Uint8Array;
  try {
    bytes = await readRegularFile(path, MAX_CONFIG_BYTES);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return _defaults(path, false);
    if (error instanceof RefusedFile) {
      throw new UserError(`${shown} ${error.reason}`, {
        hint: "make .cmcs/config.yml a small regular file, or remove it to use the defaults",
      });
    }
    throw new UserError(`cannot read ${shown}: ${(error as Error).message}`, {
      hint: "make .cmcs/config.yml a readable file, or remove it to use the defaults",
    });
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new UserError(`${shown}: the file is not valid UTF-8`, { hint: "save it as UTF-8" });
  }
  return parseConfig(text, path, { displayPath: shown });
}

/**
 * Parses config text (pure: no file access). `path` is recorded in `sources`; `displayPath`, when
 * given, is what error messages call the file. An empty file, or one with only comments, gives
 * the defaults; so does a section left empty (`codex:` with nothing under it). Throws a
 * {@link UserError} (exit 1) for any problem.
 */
export function parseConfig(
  text: string,
  path: string,
  options: { displayPath?: string } = {},
): LoadedConfig {
  const shown = options.displayPath ?? path;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true });
  const lineAt = (offset: number) => Math.max(1, lineCounter.linePos(offset).line);
  const lineOf = (node: Node | null | undefined, fallback = 1) =>
    node?.range ? lineAt(node.range[0]) : fallback;
  const fail = (line: number, message: string, hint?: string): never => {
    throw new UserError(`${shown}:${line}: ${message}`, { hint });
  };

  if (doc.errors.length > 0) {
    const error = doc.errors[0];
    const line = error.linePos?.[0]?.line ?? lineAt(error.pos[0]);
    const what = error.code === "DUPLICATE_KEY"
      ? "a key appears twice in the same mapping"
      : error.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
    fail(
      line,
      `invalid YAML: ${what}`,
      "fix the YAML syntax: check indentation, colons and quotes",
    );
  }

  const loaded = _defaults(path, true);
  const contents = _resolve(doc, doc.contents);
  if (contents === null || contents === undefined || _isNullScalar(contents)) return loaded;
  if (!isMap(contents)) {
    fail(
      lineOf(contents),
      `the top level must be a mapping of sections (${SECTIONS.join(", ")}), got ${
        _describe(contents.toJS(doc))
      }`,
      "write sections like `codex:` at the start of a line, their keys indented below",
    );
  }

  const settings = contents as unknown as { items: { key: unknown; value: unknown }[] };
  const legacy = new Map<string, { value: unknown; line: number }>();
  for (const pair of settings.items) {
    const keyNode = pair.key as Node | null;
    const section = _keyName(keyNode);
    const sectionLine = lineOf(keyNode);
    if (section === undefined) fail(sectionLine, "keys must be plain names");
    if (!(SECTIONS as readonly string[]).includes(section!)) {
      const suggestion = _suggest(section!, [...SECTIONS], [...SPECS.keys()]);
      fail(
        sectionLine,
        `unknown section ${section}${suggestion ? ` — did you mean ${suggestion}?` : ""}`,
        `the sections are: ${SECTIONS.join(", ")}`,
      );
    }
    const body = _resolve(doc, pair.value as Node | null);
    if (body === null || body === undefined || _isNullScalar(body)) continue;
    if (!isMap(body)) {
      fail(
        lineOf(body, sectionLine),
        `${section} must be a mapping of keys, got ${_describe(body.toJS(doc))}`,
        `indent ${section}'s keys under it, e.g. "${section}:\\n  ${_keysOf(section!)[0]}: …"`,
      );
    }
    for (const inner of (body as unknown as typeof settings).items) {
      const innerKey = inner.key as Node | null;
      const name = _keyName(innerKey);
      const keyLine = lineOf(innerKey, sectionLine);
      if (name === undefined) fail(keyLine, `keys in ${section} must be plain names`);
      const dotted = `${section}.${name}`;
      const valueNode = inner.value as Node | null;
      const value = valueNode ? valueNode.toJS(doc) : null;
      const line = lineOf(valueNode, keyLine);
      const spec = SPECS.get(dotted);
      if (!spec) {
        if (LEGACY_KEYS.has(dotted)) {
          legacy.set(dotted, { value, line: keyLine });
          continue;
        }
        const near = _suggest(name!, _keysOf(section!), [...SPECS.keys()]);
        const suggestion = near && !near.includes(".") ? `${section}.${near}` : near;
        fail(
          keyLine,
          `unknown key ${dotted}${suggestion ? ` — did you mean ${suggestion}?` : ""}`,
          `the keys of ${section} are: ${_keysOf(section!).join(", ")}`,
        );
      }
      const problem = spec!.check(value);
      if (problem) {
        const items = _resolve(doc, valueNode);
        const itemNode = problem.item !== undefined && isSeq(items)
          ? (items.items[problem.item] as Node | null)
          : undefined;
        const got = problem.item !== undefined && Array.isArray(value)
          ? `${_describe(value[problem.item])} (item ${problem.item + 1})`
          : _describe(value);
        fail(
          itemNode ? lineOf(itemNode, line) : line,
          `${dotted} must be ${problem.expected}, got ${got}`,
          problem.hint ?? `the default is ${formatConfigValue(spec!.default)}`,
        );
      }
      _set(loaded.config, dotted, value);
      loaded.sources[dotted] = `${path}:${line}`;
    }
  }

  const args = legacy.get("codex.args");
  if (args) _applyLegacyArgs(loaded, args.value, args.line, shown, fail);
  const startPoint = legacy.get("worktrees.start_point");
  if (startPoint) _applyStartPoint(loaded, startPoint.value, startPoint.line, shown, fail);
  return loaded;
}

/** Reads `codex.args` of the earlier cmcs into the structured keys it stands for. */
function _applyLegacyArgs(
  loaded: LoadedConfig,
  value: unknown,
  line: number,
  shown: string,
  fail: (line: number, message: string, hint?: string) => never,
): void {
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) {
    fail(
      line,
      `codex.args (from the earlier cmcs) must be a list of strings, got ${_describe(value)}`,
      "replace it with codex.sandbox, codex.reasoning_effort, codex.model and codex.extra_args",
    );
  }
  const result = translateLegacyArgs(value as string[]);
  if (result.error) {
    fail(line, `codex.args (from the earlier cmcs): ${result.error}`, result.hint);
  }
  const source = `${loaded.path}:${line}`;
  const translated: string[] = [];
  const ignored: string[] = [];
  const take = (key: string, wanted: unknown, from: string) => {
    if (loaded.sources[key] !== "default") {
      ignored.push(`${from} (${key} is set)`);
      return;
    }
    _set(loaded.config, key, wanted);
    loaded.sources[key] = source;
    translated.push(`${key}: ${formatConfigValue(wanted)}`);
  };
  if (result.sandbox) take("codex.sandbox", result.sandbox.value, result.sandbox.from);
  if (result.effort) take("codex.reasoning_effort", result.effort.value, result.effort.from);
  if (result.model) take("codex.model", result.model.value, result.model.from);
  if (result.extraArgs.length > 0) {
    const explicit = loaded.config.codex.extra_args;
    loaded.config.codex.extra_args = [...result.extraArgs, ...explicit];
    if (loaded.sources["codex.extra_args"] === "default") {
      loaded.sources["codex.extra_args"] = source;
    }
    translated.push(
      `codex.extra_args: ${formatConfigValue(result.extraArgs)} (now passed after exec)`,
    );
  }
  const where = `${shown}:${line}`;
  loaded.warnings.push(
    translated.length > 0
      ? `${where}: codex.args is from the earlier cmcs; translated to ${
        translated.join(" and ")
      } — replace it`
      : `${where}: codex.args is from the earlier cmcs and nothing in it is needed any more — remove it`,
  );
  for (const item of ignored) {
    loaded.warnings.push(`${where}: codex.args: ignored ${item}`);
  }
  for (const dropped of result.dropped) {
    loaded.warnings.push(`${where}: codex.args: dropped ${dropped}`);
  }
}

/** `worktrees.start_point` of the earlier cmcs is `worktrees.base`. */
function _applyStartPoint(
  loaded: LoadedConfig,
  value: unknown,
  line: number,
  shown: string,
  fail: (line: number, message: string, hint?: string) => never,
): void {
  const problem = SPECS.get("worktrees.base")!.check(value);
  if (problem) {
    fail(line, `worktrees.start_point must be ${problem.expected}, got ${_describe(value)}`);
  }
  const where = `${shown}:${line}`;
  if (loaded.sources["worktrees.base"] !== "default") {
    loaded.warnings.push(
      `${where}: worktrees.start_point is from the earlier cmcs; ignored because worktrees.base is set — remove it`,
    );
    return;
  }
  loaded.config.worktrees.base = value as string | null;
  loaded.sources["worktrees.base"] = `${loaded.path}:${line}`;
  loaded.warnings.push(
    `${where}: worktrees.start_point is from the earlier cmcs; read as worktrees.base: ${
      formatConfigValue(value)
    } — rename it`,
  );
}

function _defaults(path: string, exists: boolean): LoadedConfig {
  const sources: Record<string, string> = {};
  for (const spec of KEY_SPECS) sources[spec.key] = "default";
  return { config: defaultConfig(), sources, warnings: [], path, exists };
}

function _displayPath(path: string): string {
  let cwd: string;
  try {
    cwd = Deno.cwd();
  } catch {
    return path;
  }
  const rel = relative(cwd, path);
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}

function _resolve(doc: Document, node: unknown): ParsedNode | Node | null | undefined {
  if (isAlias(node)) return node.resolve(doc) ?? null;
  return node as Node | null | undefined;
}

function _isNullScalar(node: unknown): boolean {
  return isScalar(node) && node.value === null;
}

function _keyName(node: Node | null): string | undefined {
  if (node === null) return "null";
  if (!isScalar(node)) return undefined;
  return String(node.value);
}

function _keysOf(section: string): string[] {
  return KEY_SPECS.filter((spec) => spec.key.startsWith(`${section}.`)).map((spec) =>
    spec.key.slice(section.length + 1)
  );
}

function _set(config: Config, dotted: string, value: unknown): void {
  const [section, name] = dotted.split(".");
  (config as unknown as Record<string, Record<string, unknown>>)[section][name] = value;
}

/**
 * The closest known name for a misspelt one: a near spelling among `local` (the same level),
 * else a key elsewhere with the same leaf name (`codex.max_parallel` → `run.max_parallel`).
 */
function _suggest(name: string, local: string[], everywhere: string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of local) {
    const distance = editDistance(lower, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  if (best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3))) return best;
  const affix = local.find((candidate) =>
    lower.length >= 3 && (candidate.startsWith(lower) || candidate.endsWith(lower))
  );
  if (affix) return affix;
  const elsewhere = everywhere.find((key) =>
    key.endsWith(`.${lower}`) || key === lower || key.startsWith(`${lower}.`)
  );
  return elsewhere;
}

/** How a wrong value is named in an error: strings that look like other types say so. */
function _describe(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") {
    if (/^(true|false|yes|no|on|off|null|~|[-+]?\d+(\.\d+)?)$/i.test(value.trim())) {
      return `the string ${JSON.stringify(value)}`;
    }
    return value === "" ? "an empty string" : JSON.stringify(value);
  }
  if (Array.isArray(value)) return value.length === 0 ? "an empty list" : "a list";
  if (typeof value === "object") return "a mapping";
  return String(value);
}

/**
 * A value as it would be written in config.yml: flow style, strings quoted only when YAML would
 * otherwise read them as something else (`"false"`, `"42"`, `"a: b"`).
 */
export function formatConfigValue(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return `[${value.map(formatConfigValue).join(", ")}]`;
  if (typeof value === "string") {
    const plain = /^[A-Za-z0-9_./@+-][A-Za-z0-9_./@+ :=-]*$/.test(value) &&
      !/[ :]$/.test(value) && !value.includes(": ") &&
      !/^(true|false|yes|no|on|off|null|~|[-+]?(\d[\d_]*)?(\.\d+)?([eE][-+]?\d+)?|0x[0-9a-f]+|0o[0-7]+|[-+]?\.(inf|nan))$/i
        .test(value);
    return plain ? value : JSON.stringify(value);
  }
  return String(value);
}
