/**
 * `deno task bundle`: builds `dist/cmcs.js`, the whole program in one JavaScript file: the CLI,
 * every command, the dashboard with its island bundle, and every npm dependency. It runs with
 * `deno run <flags of permissions.txt> cmcs.js` from any directory and imports nothing but Deno's
 * `node:` built-ins.
 *
 *     deno task bundle [--output PATH] [--build STAMP]
 *
 * How it is made: `deno bundle --platform deno` of a generated entry ({@link bundleEntry}) that
 * runs the fast path and otherwise main.ts. main.ts and the fast path load commander and each
 * command on demand through src/core/lazy.ts, whose specifiers `deno bundle` cannot see; the entry
 * first hands lazy.ts a literal `import()` for each of them (read from the modules' `OnDemand` maps
 * by {@link onDemandModules}, so the list is never written twice). deno bundle inlines such literal
 * dynamic imports as lazily initialised modules (`Promise.resolve().then(() => (init_x(),
 * x_exports))`) rather than splitting them into chunks, and it inlines `with { type: "text" }`
 * imports as string constants; the bundle never reads a source file at run time.
 * {@link foreignImports} checks that this still holds (no import of anything but `node:`) so a
 * future bundler that splits or externalises fails the build instead of shipping a broken file.
 */
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { UsageError, UserError } from "../src/cli/errors.ts";
import { reportError } from "../src/cli/invoke.ts";
import { onDemandEntries } from "../src/core/lazy.ts";
import { VERSION } from "../src/version.ts";
import { readPermissionFlags } from "./permission_flags.ts";

/** The root of this checkout. */
export const PROJECT_DIR: string = fileURLToPath(new URL("../", import.meta.url));

/** Where `deno task bundle` writes the program. */
export const DEFAULT_BUNDLE: string = join(PROJECT_DIR, "dist/cmcs.js");

export interface BundleOptions {
  /** Output file (default {@link DEFAULT_BUNDLE}); must end in `.js`. */
  output?: string;
  /** The build stamp (default {@link buildStamp}). */
  build?: string;
}

export interface BundleResult {
  path: string;
  build: string;
  bytes: number;
}

const decoder = new TextDecoder();

async function _git(cwd: string, ...args: string[]): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("git", { args, cwd, stdin: "null", stderr: "null" })
      .output();
    return out.code === 0 ? decoder.decode(out.stdout).trim() : undefined;
  } catch {
    return undefined; // no git on PATH
  }
}

/**
 * The build identity stamped into the program: `<version>+<short commit>` from git, with `.dirty`
 * appended when tracked files differ from that commit (so a binary built from uncommitted edits
 * never passes for the release), or `<version>+<yyyymmdd>` (UTC) outside a git checkout, e.g. from
 * a source tarball. Both are valid semver build metadata.
 */
export async function buildStamp(
  projectDir: string = PROJECT_DIR,
  now: Date = new Date(),
): Promise<string> {
  const sha = await _git(projectDir, "rev-parse", "--short", "HEAD");
  if (sha) {
    const changes = await _git(projectDir, "status", "--porcelain", "--untracked-files=no");
    return `${VERSION}+${sha}${changes ? ".dirty" : ""}`;
  }
  return `${VERSION}+${now.toISOString().slice(0, 10).replaceAll("-", "")}`;
}

const STAMPABLE = /^[0-9A-Za-z][0-9A-Za-z.+_-]*$/;

/**
 * Replaces the `BUILD = "dev"` of src/version.ts in the bundled text with `build`.
 *
 * Why text replacement on the output: src/version.ts must stay untouched in the checkout (several
 * people build from it and the lead commits it), deno bundle has no `--define`, and an import map
 * that swaps version.ts for a generated module would have to duplicate deno.json's imports. The
 * replacement is confined to the section deno bundle marks `// src/version.ts` and must match
 * exactly once, so a change in the bundler's output shape fails the build loudly (and
 * {@link bundle} then runs the result and checks that `cmcs version --json` reports the stamp).
 */
export function stampBuild(bundleText: string, build: string): string {
  if (!STAMPABLE.test(build)) {
    throw new UsageError(
      `build stamp "${build}" has characters other than letters, digits and . + _ -`,
      "pass something like --build 1.2.3+abc1234",
    );
  }
  const marker = "\n// src/version.ts\n";
  const start = bundleText.indexOf(marker);
  const next = start < 0 ? -1 : bundleText.indexOf("\n// ", start + marker.length);
  const end = next < 0 ? bundleText.length : next;
  const section = start < 0 ? "" : bundleText.slice(start, end);
  const matches = [...section.matchAll(/\bBUILD\d* = "dev"/g)];
  if (matches.length !== 1) {
    throw new UserError(
      `found ${matches.length} places to stamp the build in the bundle (expected one \`BUILD = "dev"\` ` +
        "under `// src/version.ts`)",
      {
        hint:
          "deno bundle's output or src/version.ts changed shape: update stampBuild() in scripts/bundle.ts",
      },
    );
  }
  const at = start + matches[0].index!;
  const old = matches[0][0];
  const stamped = old.replace('"dev"', JSON.stringify(build));
  return bundleText.slice(0, at) + stamped + bundleText.slice(at + old.length);
}

/** What deno bundle (esbuild) writes to give the CommonJS packages it inlines a `require`. */
const CREATE_REQUIRE =
  'import { createRequire as __deno_internal_createRequire } from "node:module";\n' +
  "var __require = __deno_internal_createRequire(import.meta.url);\n";

/**
 * Replaces the bundle's `require` (Node's `createRequire`, imported statically at the top) with one
 * that asks `process.getBuiltinModule()` when first called.
 *
 * Why: a static import of `node:module` loads most of Deno's Node layer before the first line runs,
 * about as long as an empty Deno program, for every command. The only callers are the CommonJS
 * packages (commander) that need Node built-ins, and they run only when a command goes through
 * commander. This is exact only while every `__require` call names a `node:` built-in, which is
 * checked here: anything else fails the build instead of shipping a `require` that cannot work.
 */
export function lazyRequire(bundleText: string): string {
  const at = bundleText.indexOf(CREATE_REQUIRE);
  if (at < 0) return bundleText; // no CommonJS package inlined: nothing to replace
  if (bundleText.indexOf(CREATE_REQUIRE, at + 1) >= 0) {
    throw new UserError("found two `createRequire` preludes in the bundle (expected one)", {
      hint: "deno bundle's output changed shape: update lazyRequire() in scripts/bundle.ts",
    });
  }
  const calls = [...bundleText.matchAll(/(?<![\w$.])__require\(([^()]*)\)/g)].map((m) => m[1]);
  const other = calls.filter((arg) => !/^\s*"node:[a-z_/]+"\s*$/.test(arg));
  if (other.length > 0) {
    throw new UserError(
      `the bundle requires ${other.join(", ")}: only node: built-ins can be required lazily`,
      { hint: "update lazyRequire() in scripts/bundle.ts to keep createRequire for it" },
    );
  }
  return bundleText.slice(0, at) +
    "var __require = (id) => globalThis.process.getBuiltinModule(id);\n" +
    bundleText.slice(at + CREATE_REQUIRE.length);
}

/** The import of node:process that npm packages (the MCP SDK's stdio transport) carry. */
const PROCESS_IMPORT = /^import process from "node:process";\n/gm;

/**
 * Drops every `import process from "node:process";` from the bundle: deno bundle hoists it to the
 * start of the program, so every command would load node:process (and with it most of Deno's Node
 * layer, +10 ms) before its first line. Without the import, `process` in that module is Deno's
 * global `process`, the same object, which Deno makes only when it is first used. Only the exact
 * name `process` is dropped; a renamed import (`process2`) is left as it is (correct, only slower),
 * and the bundle test then fails.
 */
export function globalProcess(bundleText: string): string {
  return bundleText.replace(PROCESS_IMPORT, "");
}

/**
 * Every module the bundled text would still load at run time other than Deno's `node:` built-ins:
 * static `import … from`/`export … from`, side-effect imports, `import(…)` and the bundler's
 * `__require(…)`. A non-literal `import(expr)` is reported as `import(<expr>)`. An empty list means
 * the file is self-contained. Lines that are only a comment are not code (zod's sources mention
 * "an inline `import()`" in one).
 */
export function foreignImports(bundleText: string): string[] {
  bundleText = bundleText.replace(/^[ \t]*\/\/.*$/gm, "");
  const found = new Set<string>();
  const literal = /^\s*(["'`])([^"'`]+)\1\s*$/;
  const patterns = [
    /^\s*(?:import|export)\s[^;]*?\sfrom\s*(["'])([^"']+)\1/gm,
    /^\s*import\s*(["'])([^"']+)\1/gm,
  ];
  for (const pattern of patterns) {
    for (const match of bundleText.matchAll(pattern)) found.add(match[2]);
  }
  for (const match of bundleText.matchAll(/(?<![\w$.])(import|__require)\(([^()]*)\)/g)) {
    const specifier = literal.exec(match[2]);
    found.add(specifier ? specifier[2] : `${match[1]}(${match[2].trim()})`);
  }
  return [...found].filter((specifier) => !specifier.startsWith("node:")).sort();
}

/** The program's source files that may hold an `OnDemand` map: main.ts and src/, relative paths. */
async function _programFiles(projectDir: string): Promise<string[]> {
  const files = ["main.ts"];
  const visit = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(join(projectDir, dir))) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await visit(path);
      else if (/\.tsx?$/.test(entry.name)) files.push(path);
    }
  };
  await visit("src");
  return files.sort();
}

/**
 * Every module the program loads on demand (src/core/lazy.ts): the names in the `OnDemand` maps of
 * main.ts and src/, sorted. A name must be what its `typeof import(…)` names — the path from the
 * project root of a relative specifier, or the bare specifier itself — or the build fails: the
 * bundle would otherwise hold a different module than the one the source runs.
 */
export async function onDemandModules(projectDir: string = PROJECT_DIR): Promise<string[]> {
  const names = new Set<string>();
  const wrong: string[] = [];
  for (const file of await _programFiles(projectDir)) {
    const text = await Deno.readTextFile(join(projectDir, file));
    for (const { name, specifier } of onDemandEntries(text)) {
      const expected = specifier.startsWith(".")
        ? relative(projectDir, resolve(projectDir, dirname(file), specifier)).split(sep)
          .join("/")
        : specifier;
      if (name !== expected) wrong.push(`${file}: "${name}" names ${specifier} (${expected})`);
      names.add(name);
    }
  }
  if (wrong.length > 0) {
    throw new UserError(`on-demand modules under the wrong name: ${wrong.join("; ")}`, {
      hint: "name each OnDemand entry by its path from the project root (src/core/lazy.ts)",
    });
  }
  if (!names.has("@commander-js/extra-typings")) {
    throw new UserError("found no OnDemand map loading commander in main.ts", {
      hint: "scripts/bundle.ts reads main.ts's OnDemand map; update onDemandModules()",
    });
  }
  return [...names].sort();
}

/**
 * The generated entry that is bundled instead of main.ts. Its first import gives src/core/lazy.ts
 * a literal `import()` of every on-demand module (`names`, from {@link onDemandModules}) and of
 * main.ts itself; imports are evaluated in order, so the loaders are in place before any other
 * line runs. Then it does what main.ts does as the main module: offer the arguments to the fast
 * path, and only when it declines load main.ts (with commander) and run its `main`. It must do
 * this itself: deno bundle compiles `import.meta.main` to `false` in every module but the entry.
 * Project files are named by absolute `file:` URLs: the entry is written outside the checkout.
 */
export function bundleEntry(names: string[], projectDir: string = PROJECT_DIR): {
  registry: string;
  entry: string;
} {
  const url = (path: string) => JSON.stringify(pathToFileURL(join(projectDir, path)).href);
  const loaders = [...names, "main.ts"].map((name) => {
    const specifier = /\.(ts|tsx|js)$/.test(name) ? url(name) : JSON.stringify(name);
    return `  ${JSON.stringify(name)}: () => import(${specifier}),`;
  });
  return {
    registry: `import { provideBundled } from ${url("src/core/lazy.ts")};\n` +
      `provideBundled({\n${loaders.join("\n")}\n});\n`,
    entry: [
      `import "./registry.ts";`,
      `import { fastPath } from ${url("src/commands/fast_path.ts")};`,
      `import { lazy } from ${url("src/core/lazy.ts")};`,
      `const code = await fastPath(Deno.args);`,
      `if (code !== null) Deno.exit(code);`,
      `const { main } = await lazy<{ main(argv: string[]): Promise<number> }>("main.ts");`,
      `Deno.exit(await main(Deno.args));`,
      ``,
    ].join("\n"),
  };
}

/**
 * The one non-literal `import()` a bundle may keep: src/core/lazy.ts's fallback for source runs,
 * never taken in the bundle, whose generated entry provides every on-demand module.
 */
export const SOURCE_RUN_IMPORTS: readonly string[] = ["import(sourceSpecifier)"];

async function _runDeno(args: string[], cwd: string): Promise<Deno.CommandOutput> {
  return await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
  }).output();
}

function _firstLines(bytes: Uint8Array, count = 6): string {
  return decoder.decode(bytes).trim().split("\n").slice(0, count).join(" | ");
}

/**
 * The error and its causes from Deno's error output, outermost first, without the "Caused by:"
 * headings, cause numbers, blank lines and the (always empty) stack backtrace.
 */
export function denoErrorCauses(text: string): string[] {
  return text.split("Stack backtrace:")[0].split("\n")
    .map((line) => line.trim().replace(/^\d+:\s*/, "").replace(/^error:\s*/, ""))
    .filter((line) => line && line !== "Caused by:");
}

/** Deno's error output as one line: {@link denoErrorCauses} joined by ": ". */
export function condenseDenoError(text: string): string {
  return denoErrorCauses(text).join(": ");
}

/**
 * Runs the bundle the way a user would (documented permissions, a working directory outside the
 * checkout) and checks that `cmcs version --json` reports this version and `build`.
 */
export async function verifyBundle(path: string, build: string): Promise<void> {
  const flags = await readPermissionFlags();
  const cwd = await Deno.makeTempDir({ prefix: "cmcs-bundle-check-" });
  try {
    const out = await _runDeno(["run", "--quiet", ...flags, path, "version", "--json"], cwd);
    let info: { version?: string; build?: string } = {};
    try {
      info = JSON.parse(decoder.decode(out.stdout));
    } catch { /* reported below */ }
    if (out.code !== 0 || info.version !== VERSION || info.build !== build) {
      throw new UserError(
        `${path} does not run as cmcs ${VERSION} (build ${build}): exit ${out.code}, ` +
          `output ${JSON.stringify(_firstLines(out.stdout) || _firstLines(out.stderr))}`,
        { hint: "run it by hand with `deno run $(cat permissions.txt) dist/cmcs.js version`" },
      );
    }
  } finally {
    await Deno.remove(cwd, { recursive: true }).catch(() => {});
  }
}

/**
 * Builds the single-file program: bundles main.ts (with the frozen lock file: a build never changes
 * dependencies) into a temporary `.js` file (deno bundle wants the `-o` name to end in `.js`),
 * stamps the build, refuses the result if it still imports anything but `node:` built-ins, runs it
 * once to prove it works, and only then moves it to `output` (atomically, so a failed build never
 * leaves a half-written or broken file there).
 */
export async function bundle(options: BundleOptions = {}): Promise<BundleResult> {
  const output = resolve(options.output ?? DEFAULT_BUNDLE);
  if (!output.endsWith(".js")) {
    throw new UsageError(`output "${output}" must end in .js`, "e.g. --output dist/cmcs.js");
  }
  const build = options.build ?? await buildStamp();
  const work = await Deno.makeTempDir({ prefix: "cmcs-bundle-" });
  try {
    const raw = join(work, "cmcs.js");
    const generated = bundleEntry(await onDemandModules());
    await Deno.writeTextFile(join(work, "registry.ts"), generated.registry);
    await Deno.writeTextFile(join(work, "entry.ts"), generated.entry);
    const out = await _runDeno(
      [
        "bundle",
        "--quiet",
        "--config",
        join(PROJECT_DIR, "deno.json"),
        "--frozen-lockfile",
        "--platform",
        "deno",
        "-o",
        raw,
        join(work, "entry.ts"),
      ],
      PROJECT_DIR,
    );
    if (out.code !== 0) {
      const said = decoder.decode(out.stderr);
      const offline = /error sending request|Failed loading https?:/.test(said);
      throw new UserError(`deno bundle failed: ${condenseDenoError(said)}`, {
        hint: offline
          ? "deno bundle fetches esbuild from the npm registry the first time: run it once online"
          : "run `deno task check` to see type and import errors",
      });
    }
    const text = globalProcess(lazyRequire(stampBuild(await Deno.readTextFile(raw), build)));
    const foreign = foreignImports(text).filter((found) => !SOURCE_RUN_IMPORTS.includes(found));
    if (foreign.length > 0) {
      throw new UserError(
        `the bundle is not self-contained: it still imports ${foreign.join(", ")}`,
        { hint: "import modules with literal specifiers so deno bundle can inline them" },
      );
    }
    const stamped = join(work, "stamped.js");
    await Deno.writeTextFile(stamped, text);
    await verifyBundle(stamped, build);
    await Deno.mkdir(dirname(output), { recursive: true });
    const partial = `${output}.partial`;
    await Deno.copyFile(stamped, partial);
    await Deno.rename(partial, output);
    return { path: output, build, bytes: new TextEncoder().encode(text).length };
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

/** Parses the script's arguments; unknown flags are usage errors. */
export function parseBundleArgs(args: string[]): BundleOptions {
  try {
    const { values } = parseArgs({
      args,
      options: { output: { type: "string", short: "o" }, build: { type: "string" } },
      strict: true,
      allowPositionals: false,
    });
    return { output: values.output, build: values.build };
  } catch (error) {
    throw new UsageError(
      (error as Error).message,
      "usage: deno task bundle [--output PATH] [--build STAMP]",
    );
  }
}

if (import.meta.main) {
  try {
    const result = await bundle(parseBundleArgs(Deno.args));
    const size = `${(result.bytes / 1024).toFixed(0)} KiB`;
    console.log(
      `${relative(Deno.cwd(), result.path) || result.path}  ${size}  build ${result.build}`,
    );
  } catch (error) {
    Deno.exit(reportError(error));
  }
}
