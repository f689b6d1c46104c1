/**
 * `deno task compile`: what it says when it cannot get Deno's denort runtime (no DENORT_BIN, no
 * network), how it vets a DENORT_BIN (missing, the full deno CLI, another platform), that a
 * compiled program embeds the bundle alone (no playwright-core), and — when a real denort is at
 * hand (CMCS_TEST_DENORT_BIN or DENORT_BIN) — that the binary it builds runs as cmcs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  checkDenortBin,
  compileBundle,
  embeddedFiles,
  executableTarget,
  explainCompileFailure,
  fileContains,
  hostTarget,
  outputName,
  parseCompileArgs,
  RELEASE_TARGETS,
} from "../scripts/compile.ts";
import { parsePermissionFlags, readPermissionFlags } from "../scripts/permission_flags.ts";
import { VERSION } from "../src/version.ts";
import { type CliResult, PROJECT_DIR } from "./helpers/cli.ts";
import { tempDir, tempRepo } from "./helpers/repo.ts";

const decoder = new TextDecoder();

/** `deno task compile …args` from the checkout, with DENORT_BIN removed unless `env` sets it. */
async function compileTask(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const base = Deno.env.toObject();
  delete base.DENORT_BIN;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "compile", ...args],
    cwd: PROJECT_DIR,
    clearEnv: true,
    env: { ...base, NO_COLOR: "1", ...env },
    stdin: "null",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** The lines a user reads on stderr. */
function lines(text: string): string[] {
  return text.trim().split("\n").filter((line) => line.trim() !== "");
}

/** A port on 127.0.0.1 with nothing listening: a proxy there refuses every connection at once. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Targets whose denort is not yet in Deno's download cache (a compile for them must download). */
async function uncachedTargets(): Promise<string[]> {
  const info = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdin: "null" })
    .output();
  const denoDir = JSON.parse(decoder.decode(info.stdout)).denoDir as string;
  const dl = join(denoDir, "dl/release", `v${Deno.version.deno}`);
  const targets = [hostTarget(), ...RELEASE_TARGETS.filter((t) => t !== hostTarget())];
  const missing: string[] = [];
  for (const target of targets) {
    try {
      await Deno.stat(join(dl, `denort-${target}.zip`));
    } catch {
      if ((RELEASE_TARGETS as readonly string[]).includes(target)) missing.push(target);
    }
  }
  return missing;
}

const OFFLINE_TARGET = (await uncachedTargets())[0];
if (!OFFLINE_TARGET) {
  console.log(
    "compile_test: skipping the no-network test: every release target's denort is already " +
      "cached in DENO_DIR, so deno compile would not need to download one",
  );
}

/** A real denort for this machine, if the environment names one (the full deno CLI does not count). */
async function realDenort(): Promise<{ path?: string; reason: string }> {
  const path = Deno.env.get("CMCS_TEST_DENORT_BIN") || Deno.env.get("DENORT_BIN");
  const how = `set CMCS_TEST_DENORT_BIN to the denort of Deno ${Deno.version.deno} for ` +
    `${hostTarget()} (from denort-${hostTarget()}.zip) to run it`;
  if (!path) return { reason: `no denort binary here (npm ships none); ${how}` };
  try {
    await checkDenortBin(path, [hostTarget()]);
    return { path, reason: "" };
  } catch (error) {
    return { reason: `${(error as Error).message}; ${how}` };
  }
}

const DENORT = await realDenort();
if (!DENORT.path) console.log(`compile_test: skipping the real compile: ${DENORT.reason}`);

Deno.test({
  name:
    "without DENORT_BIN and without network, compile fails with one line saying what is missing",
  ignore: !OFFLINE_TARGET,
  async fn() {
    await using out = await tempDir("cmcs-compile-out-");
    // The bundle step first, online, so its esbuild is cached; then compile with every
    // connection refused (a proxy on a closed port), which stands for "no network".
    const warm = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--quiet", "bundle", "--output", join(out.path, "warm.js")],
      cwd: PROJECT_DIR,
      stdin: "null",
    }).output();
    assert.equal(warm.code, 0, decoder.decode(warm.stderr));
    const proxy = `http://127.0.0.1:${closedPort()}`;
    const result = await compileTask(["--target", OFFLINE_TARGET!, "--out-dir", out.path], {
      HTTPS_PROXY: proxy,
      HTTP_PROXY: proxy,
      https_proxy: proxy,
      http_proxy: proxy,
      NO_PROXY: "",
      no_proxy: "",
    });
    assert.equal(result.code, 1, result.stderr);
    const said = lines(result.stderr);
    assert.equal(said.length, 1, result.stderr);
    assert.match(said[0], /^error: deno compile needs Deno's denort \S+ runtime for /);
    assert.ok(said[0].includes(OFFLINE_TARGET!), said[0]);
    assert.match(said[0], /set DENORT_BIN to a local denort binary/);
    assert.match(said[0], /network access/);
    assert.doesNotMatch(result.stderr, /Stack backtrace|\n\s+at /);
    await assert.rejects(Deno.stat(join(out.path, outputName(OFFLINE_TARGET))));
  },
});

Deno.test("a DENORT_BIN that does not exist is refused before anything is built", async () => {
  await using out = await tempDir("cmcs-compile-out-");
  const missing = join(out.path, "no-such-denort");
  const result = await compileTask(["--out-dir", out.path], { DENORT_BIN: missing });
  assert.equal(result.code, 1);
  assert.deepEqual(lines(result.stderr), [
    `error: DENORT_BIN=${missing} does not exist`,
    "hint: point DENORT_BIN at a denort binary, or unset it to let deno compile download one",
  ]);
  assert.deepEqual([...Deno.readDirSync(out.path)], []);
});

Deno.test("a DENORT_BIN that is the full deno CLI is refused: a program built on it runs as deno", async () => {
  await using out = await tempDir("cmcs-compile-out-");
  const result = await compileTask(["--out-dir", out.path], { DENORT_BIN: Deno.execPath() });
  assert.equal(result.code, 1);
  const said = lines(result.stderr);
  assert.equal(said.length, 2, result.stderr);
  assert.equal(
    said[0],
    `error: DENORT_BIN=${Deno.execPath()} is the full deno CLI, not denort: a program compiled ` +
      "onto it runs as deno, not as cmcs",
  );
  assert.match(said[1], new RegExp(`^hint: use the denort binary from .*denort-${hostTarget()}`));
});

Deno.test("a DENORT_BIN built for one platform is refused for the others", async () => {
  await using out = await tempDir("cmcs-compile-out-");
  const other = RELEASE_TARGETS.find((target) => target !== hostTarget())!;
  const result = await compileTask(["--target", other, "--out-dir", out.path], {
    DENORT_BIN: Deno.execPath(),
  });
  assert.equal(result.code, 1);
  assert.match(
    lines(result.stderr)[0],
    new RegExp(
      `^error: DENORT_BIN=\\S+ is built for ${hostTarget()}, so it cannot build ${other} `,
    ),
  );
});

Deno.test("an unknown --target is a usage error naming the five targets", async () => {
  const result = await compileTask(["--target", "riscv64-unknown-linux-gnu"]);
  assert.equal(result.code, 2);
  assert.deepEqual(lines(result.stderr), [
    'error: unknown target "riscv64-unknown-linux-gnu"',
    `hint: use one of ${RELEASE_TARGETS.join(", ")}, or --all-targets`,
  ]);
});

Deno.test("compiling the bundle embeds cmcs.js alone, so no dev-only package is in the binary", async () => {
  await using out = await tempDir("cmcs-compile-out-");
  const bundle = join(out.path, "cmcs.js");
  const built = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "bundle", "--output", bundle],
    cwd: PROJECT_DIR,
    stdin: "null",
  }).output();
  assert.equal(built.code, 0, decoder.decode(built.stderr));
  // The full deno CLI stands in for denort: deno compile accepts it, so the embedding is real,
  // but the result runs as deno (which is why checkDenortBin() refuses it for real builds).
  const binary = join(out.path, "cmcs");
  const embedded = await compileBundle(bundle, undefined, binary, await readPermissionFlags(), {
    ...Deno.env.toObject(),
    DENORT_BIN: Deno.execPath(),
  });
  assert.deepEqual(embedded, ["cmcs.js"]);
  assert.equal(await fileContains(binary, "playwright"), false);
  assert.equal(await fileContains(binary, "commander"), true, "the bundle is not in the binary");
  const run = await new Deno.Command(binary, { args: ["version"], stdin: "null" }).output();
  assert.ok(
    !decoder.decode(run.stdout).startsWith("cmcs "),
    "the full deno CLI ran cmcs after all",
  );
});

Deno.test({
  name:
    "with a real denort in DENORT_BIN, deno task compile builds a cmcs binary that runs as cmcs",
  ignore: !DENORT.path,
  async fn() {
    await using out = await tempDir("cmcs-compile-out-");
    const result = await compileTask(["--out-dir", out.path], { DENORT_BIN: DENORT.path! });
    assert.equal(result.code, 0, result.stderr);
    const binary = join(out.path, outputName(undefined));
    assert.match(
      result.stdout,
      new RegExp(`${outputName(undefined)}\\s+[\\d.]+ MiB\\s+${hostTarget()}`),
    );
    assert.equal(await fileContains(binary, "playwright"), false);
    await using repo = await tempRepo();
    const version = await new Deno.Command(binary, {
      args: ["version", "--json"],
      cwd: repo.path,
      stdin: "null",
    }).output();
    const info = JSON.parse(decoder.decode(version.stdout));
    assert.equal(info.version, VERSION);
    assert.ok(info.build.startsWith(`${VERSION}+`), info.build);
    const init = await new Deno.Command(binary, { args: ["init"], cwd: repo.path, stdin: "null" })
      .output();
    assert.equal(init.code, 0, decoder.decode(init.stderr));
    await Deno.stat(join(repo.path, ".cmcs/cmcs.db"));
  },
});

Deno.test("executableTarget() reads the platform from ELF, Mach-O and PE headers", async () => {
  const header = (bytes: [number, number][], size = 0x100) => {
    const buffer = new Uint8Array(size);
    for (const [at, value] of bytes) buffer[at] = value;
    return buffer;
  };
  const elf = (machine: number) =>
    header([[0, 0x7f], [1, 0x45], [2, 0x4c], [3, 0x46], [4, 2], [5, 1], [18, machine]]);
  assert.equal(executableTarget(elf(0x3e)), "x86_64-unknown-linux-gnu");
  assert.equal(executableTarget(elf(0xb7)), "aarch64-unknown-linux-gnu");
  assert.equal(executableTarget(elf(0xf3)), undefined); // RISC-V
  const macho = (cpu: number) =>
    header([[0, 0xcf], [1, 0xfa], [2, 0xed], [3, 0xfe], [4, cpu], [7, 0x01]]);
  assert.equal(executableTarget(macho(0x07)), "x86_64-apple-darwin");
  assert.equal(executableTarget(macho(0x0c)), "aarch64-apple-darwin");
  const pe = header([[0, 0x4d], [1, 0x5a], [0x3c, 0x80], [0x80, 0x50], [0x81, 0x45], [
    0x84,
    0x64,
  ], [0x85, 0x86]]);
  assert.equal(executableTarget(pe), "x86_64-pc-windows-msvc");
  assert.equal(executableTarget(new TextEncoder().encode("#!/bin/sh\necho hi\n")), undefined);
  assert.equal(executableTarget(new Uint8Array(0)), undefined);
  const self = await Deno.open(Deno.execPath());
  const head = new Uint8Array(4096);
  await self.read(head);
  self.close();
  assert.equal(executableTarget(head), hostTarget());
});

Deno.test("embeddedFiles() lists what deno compile says it embedded", () => {
  const said = [
    "Compile main.ts to cmcs",
    "",
    "Embedded Files",
    "",
    "cmcs",
    "├── main.ts (17.93KB)",
    "├── node_modules/* (18.4MB - 18.12MB unique)",
    "└─┬ src (570.22KB)",
    "  └── version.ts (1KB)",
    "",
    "Files: 18.9MB",
  ].join("\n");
  assert.deepEqual(embeddedFiles(said), ["main.ts", "node_modules/*", "src", "version.ts"]);
  assert.deepEqual(embeddedFiles("cmcs\n└── cmcs.js (553.34KB)\n"), ["cmcs.js"]);
});

Deno.test("explainCompileFailure() turns a failed denort download into one actionable line", () => {
  const said = "Compile cmcs.js to cmcs\nDownload https://dl.invalid/denort-x.zip\n" +
    "error: Writing deno compile executable to temporary file 'cmcs.tmp'\n\nCaused by:\n" +
    "    0: Setting up base binary.\n    1: error sending request for url\n" +
    "    2: dns error\n    3: failed to lookup address information\n\nStack backtrace:\n" +
    "   0: <unknown>\n";
  const error = explainCompileFailure(said, "aarch64-apple-darwin");
  assert.match(error.message, /denort \S+ runtime for aarch64-apple-darwin/);
  assert.match(error.message, /\(failed to lookup address information\)/);
  assert.match(error.message, /set DENORT_BIN/);
  assert.ok(!error.message.includes("\n"));
  const other = explainCompileFailure("error: Module not found\n", "x86_64-apple-darwin");
  assert.equal(other.message, "deno compile failed for x86_64-apple-darwin: Module not found");
});

Deno.test("parseCompileArgs() and outputName() name the release binaries", () => {
  assert.deepEqual(parseCompileArgs([]).targets, []);
  assert.deepEqual(parseCompileArgs(["--all-targets"]).targets, [...RELEASE_TARGETS]);
  assert.deepEqual(
    parseCompileArgs(["--target", "x86_64-apple-darwin", "--target", "x86_64-apple-darwin"])
      .targets,
    ["x86_64-apple-darwin"],
  );
  assert.throws(() => parseCompileArgs(["--targets"]), /targets/);
  assert.equal(outputName("x86_64-pc-windows-msvc"), "cmcs-x86_64-pc-windows-msvc.exe");
  assert.equal(outputName("aarch64-apple-darwin"), "cmcs-aarch64-apple-darwin");
  assert.equal(outputName(undefined), Deno.build.os === "windows" ? "cmcs.exe" : "cmcs");
});

Deno.test("parsePermissionFlags() takes explicit permissions only, as baked into the binaries", async () => {
  assert.deepEqual(parsePermissionFlags("--allow-read --allow-env=HOME,PATH\n--deny-net\n"), [
    "--allow-read",
    "--allow-env=HOME,PATH",
    "--deny-net",
  ]);
  assert.throws(() => parsePermissionFlags("--allow-read -A"), /"-A" is not an explicit/);
  assert.throws(() => parsePermissionFlags("--allow-all"), /"--allow-all" is not an explicit/);
  assert.throws(() => parsePermissionFlags("--unstable-kv"), /not an explicit permission/);
  assert.throws(() => parsePermissionFlags(" \n"), /lists no permission flags/);
  const flags = await readPermissionFlags();
  assert.deepEqual(
    flags,
    (await Deno.readTextFile(join(PROJECT_DIR, "permissions.txt"))).trim().split(/\s+/),
  );
  await assert.rejects(readPermissionFlags("/nonexistent/permissions.txt"), /does not exist/);
});
