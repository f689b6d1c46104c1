import { print, printError, printJson } from "../cli/output.ts";
import { formatConfigValue, KEY_SPECS, loadConfig, type LoadedConfig } from "../core/config.ts";
import { requireProject } from "../core/project.ts";

/**
 * `cmcs config show [--json]`: the effective config with where each value came from. The text
 * form is valid YAML (sources are comments), so it can be pasted into `.cmcs/config.yml`.
 * Warnings about legacy settings go to stderr in text mode and into the document with `--json`.
 */
export async function configShow(opts: { json?: boolean }): Promise<number> {
  const project = await requireProject(Deno.cwd());
  const loaded = await loadConfig(project);
  if (opts.json) {
    printJson({
      path: loaded.path,
      exists: loaded.exists,
      config: loaded.config,
      sources: loaded.sources,
      warnings: loaded.warnings,
    });
    return 0;
  }
  for (const warning of loaded.warnings) printError(`warning: ${warning}`);
  print(renderConfig(loaded));
  return 0;
}

/** Nested YAML, one key per line, each followed by an aligned `# default` / `# line N` comment. */
export function renderConfig(loaded: LoadedConfig): string {
  const lines: { text: string; source?: string }[] = [];
  let section = "";
  for (const spec of KEY_SPECS) {
    const [name, key] = spec.key.split(".");
    if (name !== section) {
      section = name;
      lines.push({ text: `${name}:` });
    }
    const value = (loaded.config as unknown as Record<string, Record<string, unknown>>)[name][key];
    lines.push({
      text: `  ${key}: ${formatConfigValue(value)}`,
      source: _source(loaded.sources[spec.key] ?? "default", loaded.path),
    });
  }
  const width = Math.max(...lines.map((line) => line.text.length));
  const header = loaded.exists
    ? `# ${loaded.path}`
    : `# ${loaded.path} (no such file: every value is a default)`;
  return [
    header,
    ...lines.map((line) =>
      line.source === undefined ? line.text : `${line.text.padEnd(width)}  # ${line.source}`
    ),
  ].join("\n");
}

function _source(source: string, path: string): string {
  if (source.startsWith(`${path}:`)) return `line ${source.slice(path.length + 1)}`;
  return source;
}
