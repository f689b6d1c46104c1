/**
 * Modules loaded on demand, out of sight of `deno run`'s start-up.
 *
 * Before the first line of a program runs, `deno run` builds the module graph of every *literal*
 * dynamic `import()` reachable from the entry, taken or not (template literals and string
 * concatenations included): it fetches and analyses each module and resolves its npm packages.
 * For main.ts that was every command, the MCP server and the dashboard, about as long as an empty
 * Deno program again (bench/analysis.md, "Start-up"). An `import()` of a specifier held in a
 * variable is not walked, so on-demand modules are loaded here, by name, from one place.
 *
 * A module that loads on demand lists what it may load as a map of names to types and makes its
 * loader with {@link onDemand}:
 *
 *     interface OnDemand {
 *       "src/commands/init.ts": typeof import("./src/commands/init.ts");
 *     }
 *     const load = onDemand<OnDemand>();
 *     (await load("src/commands/init.ts")).init();
 *
 * A name is the module's path from the project root (no `./`), or a bare specifier of deno.json's
 * imports (`@commander-js/extra-typings`). `typeof import(…)` is a type only: `deno run` does not
 * load it, `deno check` checks every use against it. Each entry's name must be the path its
 * `typeof import` names ({@link onDemandEntries} reads them, and the bundle build refuses a
 * mismatch).
 *
 * The one-file program (scripts/bundle.ts) cannot import source files at run time; its generated
 * entry hands {@link provideBundled} a literal `import()` for every entry of every such map, which
 * the bundler inlines, and {@link lazy} takes those first.
 */

/** Name → `import()` of that module, inside the bundle. */
export type Bundled = Record<string, () => Promise<unknown>>;

let bundled: Bundled | undefined;

/** Called by the bundle's generated entry before any module that loads on demand runs. */
export function provideBundled(loaders: Bundled): void {
  bundled = loaders;
}

/**
 * Imports the module called `name` (see the module comment): from the bundle's own copy when
 * running as the bundle, else from the source tree (a root-relative path) or the import map.
 */
export function lazy<M>(name: string): Promise<M> {
  if (bundled) {
    const load = bundled[name];
    if (!load) return Promise.reject(new Error(`${name} is not in the bundle`));
    return load() as Promise<M>;
  }
  // Never reached in the bundle (which has every name above); scripts/bundle.ts lets this one
  // non-literal import() through by its variable's name.
  const sourceSpecifier = /\.(ts|tsx|js)$/.test(name)
    ? new URL(`../../${name}`, import.meta.url).href
    : name;
  return import(sourceSpecifier);
}

/** The typed loader for one module's map of on-demand modules (see the module comment). */
export function onDemand<Map>(): <K extends keyof Map & string>(name: K) => Promise<Map[K]> {
  return (name) => lazy(name);
}

/** One entry of an `OnDemand` map as written in the source. */
export interface OnDemandEntry {
  /** The name used to load it. */
  name: string;
  /** What its `typeof import(…)` names, as written. */
  specifier: string;
}

/**
 * The entries of the on-demand maps in a module's source text: lines
 * `"<name>": typeof import("<specifier>");`. Comments are not code.
 */
export function onDemandEntries(source: string): OnDemandEntry[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  return [...code.matchAll(/^\s*"([^"]+)"\s*:\s*typeof import\(\s*"([^"]+)"\s*\)\s*;?\s*$/gm)]
    .map((match) => ({ name: match[1], specifier: match[2] }));
}
