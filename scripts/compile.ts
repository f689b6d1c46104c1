/**
 * `deno task compile`: turns the single-file program into standalone executables with
 * `deno compile`, baking in exactly the permission flags of permissions.txt.
 *
 *     deno task compile                     # dist/cmcs (this machine's platform)
 *     deno task compile --target T [...]    # dist/cmcs-T (dist/cmcs-T.exe for Windows)
 *     deno task compile --all-targets       # the five release targets
 *
 * It compiles dist/cmcs.js (freshly built and stamped by scripts/bundle.ts) from an empty
 * temporary directory with `--no-config`, so the only embedded file is that bundle: no
 * node_modules tree, hence no dev-only package such as playwright-core, can end up in a binary.
 *
 * `deno compile` needs Deno's `denort` runtime for each target; it downloads it (and caches it in
 * DENO_DIR) unless the environment variable DENORT_BIN names a local one, which Deno then uses for
 * every target. So this script checks that a DENORT_BIN matches each requested target and is not
 * the full `deno` CLI (a program compiled onto that binary runs as `deno`, not as cmcs), and turns
 * a failed download into one line saying what is missing and how to provide it.
 */
import { Buffer } from "node:buffer";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { UsageError, UserError } from "../src/cli/errors.ts";
import { reportError } from "../src/cli/invoke.ts";
import { VERSION } from "../src/version.ts";
import { bundle, condenseDenoError, denoErrorCauses, PROJECT_DIR } from "./bundle.ts";
import { readPermissionFlags } from "./permission_flags.ts";

/** The platforms a release is built for (Rust target triples, as `deno compile --target` wants). */
export const RELEASE_TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

export type Target = typeof RELEASE_TARGETS[number];

export interface CompileOptions {
  /** Targets to build; empty means this machine's platform, written to dist/cmcs. */
  targets: Target[];
  /** Build stamp passed on to the bundle step. */
  build?: string;
  /** Output directory (default dist/). */
  outDir?: string;
}

export interface CompiledBinary {
  target: string;
  path: string;
  bytes: number;
}

const decoder = new TextDecoder();

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/** Deno's output without colour codes (it colours even with NO_COLOR in some messages). */
function _plain(text: string): string {
  return text.replace(ANSI, "");
}

/** The machine this runs on, as a target triple. */
export function hostTarget(): string {
  return Deno.build.target;
}

/** Where the binary for `target` goes: `cmcs` for the host build, `cmcs-<target>[.exe]` otherwise. */
export function outputName(target: string | undefined): string {
  if (target === undefined) return Deno.build.os === "windows" ? "cmcs.exe" : "cmcs";
  return `cmcs-${target}${target.includes("windows") ? ".exe" : ""}`;
}

/**
 * The target triple an executable was built for, read from its header (ELF, Mach-O or PE), or
 * undefined for anything else (a script, a universal Mach-O, a truncated file).
 */
export function executableTarget(header: Uint8Array): string | undefined {
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const has = (bytes: number[], at = 0) =>
    header.length >= at + bytes.length && bytes.every((b, i) => header[at + i] === b);
  if (has([0x7f, 0x45, 0x4c, 0x46]) && header.length >= 20) {
    const machine = view.getUint16(18, header[5] !== 2);
    if (machine === 0x3e) return "x86_64-unknown-linux-gnu";
    if (machine === 0xb7) return "aarch64-unknown-linux-gnu";
    return undefined;
  }
  if (has([0xcf, 0xfa, 0xed, 0xfe]) && header.length >= 8) {
    const cpu = view.getUint32(4, true);
    if (cpu === 0x01000007) return "x86_64-apple-darwin";
    if (cpu === 0x0100000c) return "aarch64-apple-darwin";
    return undefined;
  }
  if (has([0x4d, 0x5a]) && header.length >= 0x40) {
    const pe = view.getUint32(0x3c, true);
    if (!has([0x50, 0x45, 0, 0], pe) || header.length < pe + 6) return undefined;
    const machine = view.getUint16(pe + 4, true);
    if (machine === 0x8664) return "x86_64-pc-windows-msvc";
    if (machine === 0xaa64) return "aarch64-pc-windows-msvc";
  }
  return undefined;
}

async function _readHeader(path: string): Promise<Uint8Array> {
  const file = await Deno.open(path, { read: true });
  try {
    const buffer = new Uint8Array(4096);
    let filled = 0;
    while (filled < buffer.length) {
      const n = await file.read(buffer.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    return buffer.subarray(0, filled);
  } finally {
    file.close();
  }
}

/**
 * Checks a DENORT_BIN before any compiling: it exists, is an executable for every requested
 * target (Deno uses it whatever `--target` says), and, when it can run here, is not the full deno
 * CLI (whose `--version` names TypeScript, which denort does not ship).
 */
export async function checkDenortBin(path: string, targets: string[]): Promise<void> {
  let header: Uint8Array;
  try {
    header = await _readHeader(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UserError(`DENORT_BIN=${path} does not exist`, {
        hint: "point DENORT_BIN at a denort binary, or unset it to let deno compile download one",
      });
    }
    throw new UserError(`DENORT_BIN=${path} cannot be read: ${(error as Error).message}`);
  }
  const kind = executableTarget(header);
  if (kind === undefined) {
    throw new UserError(`DENORT_BIN=${path} is not a Linux, macOS or Windows executable`, {
      hint: `use the denort binary from Deno ${Deno.version.deno}'s denort-<target>.zip`,
    });
  }
  const wrong = targets.filter((target) => target !== kind);
  if (wrong.length > 0) {
    throw new UserError(
      `DENORT_BIN=${path} is built for ${kind}, so it cannot build ${wrong.join(", ")} ` +
        "(deno compile uses DENORT_BIN for every target)",
      { hint: "build those targets without DENORT_BIN (downloads denort) or one at a time" },
    );
  }
  if (kind !== hostTarget()) return;
  const out = await new Deno.Command(path, {
    args: ["--version"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output().catch(() => undefined);
  const text = out ? decoder.decode(out.stdout) : "";
  if (/^deno \d/m.test(text) && /^typescript /m.test(text)) {
    throw new UserError(
      `DENORT_BIN=${path} is the full deno CLI, not denort: a program compiled onto it runs ` +
        "as deno, not as cmcs",
      {
        hint: `use the denort binary from Deno ${Deno.version.deno}'s denort-${kind}.zip ` +
          "(deno compile caches it under DENO_DIR/dl/)",
      },
    );
  }
}

/**
 * Turns deno compile's failure into one line. A failed denort download (no network, proxy, DNS)
 * becomes "denort … is missing" with the two ways to provide it; anything else keeps deno's own
 * first lines.
 */
export function explainCompileFailure(stderr: string, target: string): UserError {
  const text = _plain(stderr);
  if (/base binary|denort/i.test(text)) {
    const reason = denoErrorCauses(text).at(-1) ?? "download failed";
    return new UserError(
      `deno compile needs Deno's denort ${Deno.version.deno} runtime for ${target} and could not ` +
        `download it (${reason}): set DENORT_BIN to a local denort binary for ${target}, or run ` +
        "once with network access (deno caches it in DENO_DIR)",
    );
  }
  return new UserError(`deno compile failed for ${target}: ${condenseDenoError(text)}`);
}

/** The files `deno compile` lists under "Embedded Files" (names only, no sizes). */
export function embeddedFiles(compileOutput: string): string[] {
  return _plain(compileOutput).split("\n")
    .map((line) => /[├└]─[─┬] (.+?)(?: \([^()]*\))?$/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
}

async function _smokeTest(binary: string, build: string): Promise<void> {
  const cwd = await Deno.makeTempDir({ prefix: "cmcs-compile-check-" });
  try {
    const out = await new Deno.Command(binary, {
      args: ["version", "--json"],
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    let info: { version?: string; build?: string } = {};
    try {
      info = JSON.parse(decoder.decode(out.stdout));
    } catch { /* reported below */ }
    if (out.code !== 0 || info.version !== VERSION || info.build !== build) {
      const said = _plain(decoder.decode(out.stderr)).trim().split("\n")[0];
      throw new UserError(
        `the compiled ${binary} does not run as cmcs (exit ${out.code}: ${said || "no output"})`,
        {
          hint: Deno.env.get("DENORT_BIN")
            ? "DENORT_BIN must be denort, the runtime deno compile builds on, not another binary"
            : "report this with the output of `deno compile` run by hand",
        },
      );
    }
  } finally {
    await Deno.remove(cwd, { recursive: true }).catch(() => {});
  }
}

/**
 * Compiles one self-contained bundle into `output` for `target` (undefined: this machine) with the
 * given permission flags. The bundle is copied into an empty temporary directory and compiled
 * there with `--no-config --no-lock`, so deno compile finds no deno.json, lock file or
 * node_modules to embed; the "Embedded Files" listing it prints must then name the bundle alone,
 * otherwise the binary is deleted and this throws. `env` is the whole environment of deno compile
 * (DENORT_BIN in it picks the runtime). Returns the embedded file names.
 */
export async function compileBundle(
  bundlePath: string,
  target: string | undefined,
  output: string,
  flags: string[],
  env: Record<string, string> = Deno.env.toObject(),
): Promise<string[]> {
  const work = await Deno.makeTempDir({ prefix: "cmcs-compile-" });
  try {
    const entry = join(work, "cmcs.js");
    await Deno.copyFile(bundlePath, entry);
    const args = ["compile", "--no-config", "--no-lock", "--no-check", ...flags];
    if (target) args.push("--target", target);
    args.push("--output", output, entry);
    const out = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: work,
      clearEnv: true,
      env: { ...env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const said = decoder.decode(out.stdout) + decoder.decode(out.stderr);
    if (out.code !== 0) throw explainCompileFailure(said, target ?? hostTarget());
    const embedded = embeddedFiles(said);
    if (embedded.length !== 1 || embedded[0] !== "cmcs.js") {
      await Deno.remove(output).catch(() => {});
      throw new UserError(
        `deno compile embedded ${JSON.stringify(embedded)} in ${output}; expected only cmcs.js`,
        {
          hint: "compile from the self-contained bundle with --no-config (see scripts/compile.ts)",
        },
      );
    }
    return embedded;
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

/**
 * Builds the bundle, then one executable per target with the documented permissions. A binary for
 * this machine is run once (`version --json`) to prove it is cmcs with the right stamp; a failed
 * binary is deleted rather than left looking usable.
 */
export async function compile(options: CompileOptions): Promise<CompiledBinary[]> {
  const outDir = resolve(options.outDir ?? join(PROJECT_DIR, "dist"));
  const requested = options.targets.length > 0 ? options.targets : [undefined];
  const denort = Deno.env.get("DENORT_BIN") || undefined;
  if (denort) await checkDenortBin(denort, requested.map((t) => t ?? hostTarget()));
  const flags = await readPermissionFlags();
  const bundled = await bundle({ build: options.build, output: join(outDir, "cmcs.js") });
  const env = Deno.env.toObject();
  if (!denort) delete env.DENORT_BIN; // an empty DENORT_BIN would make deno read the path ""
  await Deno.mkdir(outDir, { recursive: true });
  const results: CompiledBinary[] = [];
  for (const target of requested) {
    const path = join(outDir, outputName(target));
    await compileBundle(bundled.path, target, path, flags, env);
    if ((target ?? hostTarget()) === hostTarget()) {
      await _smokeTest(path, bundled.build).catch(async (error) => {
        await Deno.remove(path).catch(() => {});
        throw error;
      });
    }
    results.push({ target: target ?? hostTarget(), path, bytes: (await Deno.stat(path)).size });
  }
  return results;
}

/** True when the file contains `needle` (used to prove no dev-only package was embedded). */
export async function fileContains(path: string, needle: string): Promise<boolean> {
  return Buffer.from(await Deno.readFile(path)).includes(needle);
}

/** Parses `[--target T]... [--all-targets] [--build STAMP] [--out-dir DIR]`. */
export function parseCompileArgs(args: string[]): CompileOptions {
  const usage = "usage: deno task compile [--target T]... [--all-targets] [--build STAMP]";
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        target: { type: "string", multiple: true },
        "all-targets": { type: "boolean" },
        build: { type: "string" },
        "out-dir": { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message, usage);
  }
  const targets = values["all-targets"] ? [...RELEASE_TARGETS] : [...new Set(values.target ?? [])];
  for (const target of targets) {
    if (!(RELEASE_TARGETS as readonly string[]).includes(target)) {
      throw new UsageError(
        `unknown target "${target}"`,
        `use one of ${RELEASE_TARGETS.join(", ")}, or --all-targets`,
      );
    }
  }
  return { targets: targets as Target[], build: values.build, outDir: values["out-dir"] };
}

if (import.meta.main) {
  try {
    for (const binary of await compile(parseCompileArgs(Deno.args))) {
      const size = `${(binary.bytes / 1024 / 1024).toFixed(1)} MiB`;
      console.log(`${relative(Deno.cwd(), binary.path) || binary.path}  ${size}  ${binary.target}`);
    }
  } catch (error) {
    Deno.exit(reportError(error));
  }
}
