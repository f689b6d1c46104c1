/**
 * The single-file program end to end: `deno task bundle` builds it once into a temporary
 * directory, and the main CLI scenarios (init, ticket new, run with the stand-in worker, status,
 * result, logs, version, the dashboard page) run against that copy from directories outside the
 * source tree under exactly the flags of permissions.txt, and once more with the source tree
 * denied, which proves the bundle reads and writes nothing of it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { stringify } from "yaml";
import {
  denoErrorCauses,
  foreignImports,
  globalProcess,
  lazyRequire,
  parseBundleArgs,
  SOURCE_RUN_IMPORTS,
  stampBuild,
} from "../scripts/bundle.ts";
import { VERSION } from "../src/version.ts";
import { type CliResult, PERMISSION_FLAGS, PROJECT_DIR } from "./helpers/cli.ts";
import { FAKE_CODEX, FAKE_CODEX_SCRIPT } from "./helpers/fake_codex.ts";
import { gitIn, tempDir, tempRepo } from "./helpers/repo.ts";

const decoder = new TextDecoder();

/** Where this file's bundle lives: a temporary directory far from the checkout. */
const BUILD_DIR = await Deno.realPath(await Deno.makeTempDir({ prefix: "cmcs-bundle-e2e-" }));
const BUNDLE = join(BUILD_DIR, "cmcs.js");
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(BUILD_DIR, { recursive: true });
  } catch { /* already gone */ }
});

let built: Promise<CliResult> | undefined;

/** Runs `deno task bundle --output <temp>/cmcs.js` once, as a user would, and keeps its output. */
function buildBundle(): Promise<CliResult> {
  built ??= (async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--quiet", "bundle", "--output", BUNDLE],
      cwd: PROJECT_DIR,
      stdin: "null",
      env: { NO_COLOR: "1" },
    }).output();
    const result = {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
    assert.equal(result.code, 0, `deno task bundle failed:\n${result.stderr}`);
    return result;
  })();
  return built;
}

interface RunOptions {
  cwd: string;
  env?: Record<string, string>;
}

type Runner = ((args: string[], options: RunOptions) => Promise<CliResult>) & {
  /** Starts the bundle without waiting for it (the dashboard), stdout piped. */
  spawn(args: string[], options: RunOptions): Deno.ChildProcess;
};

/** Runs `bundle` as cmcs: `deno run <permissions.txt> [extra flags] <bundle> …args`. */
function bundleRunner(bundle: string, extraFlags: string[] = []): Runner {
  const spawn = (args: string[], options: RunOptions) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", ...PERMISSION_FLAGS, ...extraFlags, bundle, ...args],
      cwd: options.cwd,
      env: { NO_COLOR: "1", ...options.env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  const run = async (args: string[], options: RunOptions) => {
    const child = spawn(args, options);
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, 60_000);
    const out = await child.output();
    clearTimeout(timer);
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  };
  return Object.assign(run, { spawn });
}

/**
 * Starts `cmcs dashboard --port 0` and returns the URL it prints and a function that stops it
 * (SIGTERM) and returns its exit code and everything it printed.
 */
async function startDashboard(cmcs: Runner, options: RunOptions) {
  const child = cmcs.spawn(["dashboard", "--port", "0"], options);
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let printed = "";
  const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  let url: string | undefined;
  while (url === undefined) {
    const { value, done } = await reader.read();
    if (done) break;
    printed += value;
    url = /http:\/\/127\.0\.0\.1:\d+\//.exec(printed)?.[0];
  }
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      printed += value;
    }
    const status = await child.status;
    clearTimeout(killer);
    return { code: status.code, stdout: printed, stderr: await stderr };
  };
  if (url === undefined) {
    const ended = await stop();
    assert.fail(`cmcs dashboard printed no URL:\n${ended.stdout}\n${ended.stderr}`);
  }
  return { url, stop };
}

function parsed(result: CliResult, what: string) {
  assert.equal(result.code, 0, `${what} failed (${result.code}):\n${result.stderr}`);
  return JSON.parse(result.stdout);
}

/**
 * The user's path through cmcs, against a fresh repository: init, configure the stand-in worker
 * (`worker`), write a ticket with `ticket new`, run it, then read status, result, logs and version.
 */
async function mainScenario(t: Deno.TestContext, cmcs: Runner, worker: string): Promise<void> {
  await using repo = await tempRepo("cmcs-bundle-repo-");
  await using state = await tempDir("cmcs-bundle-state-");
  const env = {
    DENO_BIN: Deno.execPath(),
    FAKE_CODEX_STATE_DIR: state.path,
    FAKE_CODEX_RECORD: join(state.path, "calls.jsonl"),
  };
  const run = (...args: string[]) => cmcs(args, { cwd: repo.path, env });

  await t.step("init creates .cmcs with its database", async () => {
    const init = await run("init");
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /initialized cmcs in /);
    await Deno.stat(join(repo.path, ".cmcs/cmcs.db"));
    const config = { codex: { command: worker, timeout_s: 60, idle_timeout_s: 30 } };
    await Deno.writeTextFile(join(repo.path, ".cmcs/config.yml"), stringify(config));
    await gitIn(repo.path, "add", "-A");
    await gitIn(repo.path, "commit", "-q", "-m", "cmcs init");
  });

  await t.step("ticket new writes TICKET-001 from the template", async () => {
    const ticket = parsed(await run("ticket", "new", "--title", "Add a greeting", "--json"), "new");
    assert.equal(ticket.id, "TICKET-001");
    assert.equal(ticket.title, "Add a greeting");
    const text = await Deno.readTextFile(ticket.path);
    assert.match(text, /^---\ntitle: Add a greeting\n/);
    await Deno.writeTextFile(
      ticket.path,
      `${text}\n<!-- fake-codex: write greeting.txt hello -->\n`,
    );
    await gitIn(repo.path, "add", "-A");
    await gitIn(repo.path, "commit", "-q", "-m", "add TICKET-001");
  });

  await t.step("run dispatches the ticket to the worker and commits its work", async () => {
    const summary = parsed(await run("run", "--json"), "run");
    assert.equal(summary.runs.length, 1);
    assert.equal(summary.runs[0].status, "completed", JSON.stringify(summary));
    assert.deepEqual(summary.runs[0].tickets, [{
      ticket: "TICKET-001",
      outcome: "done",
      attempts: 1,
    }]);
    assert.equal((await Deno.readTextFile(join(repo.path, "greeting.txt"))).trim(), "hello");
    assert.match(await gitIn(repo.path, "log", "-1", "--format=%s"), /^TICKET-001: Add a greeting/);
  });

  await t.step("status lists the completed run with its tokens", async () => {
    const status = parsed(await run("status", "--json"), "status");
    assert.equal(status.runs.length, 1);
    assert.equal(status.runs[0].status, "completed");
    assert.deepEqual(status.runs[0].tickets, {
      started: 1,
      done: 1,
      failed: 0,
      awaiting_review: 1,
    });
    assert.ok(status.runs[0].tokens > 0, JSON.stringify(status.runs[0].tokens));
  });

  await t.step("result shows the ticket's outcome and the files it changed", async () => {
    const result = parsed(await run("result", ".", "TICKET-001", "--json"), "result");
    assert.equal(result.ticket, "TICKET-001");
    assert.equal(result.outcome, "done");
    assert.match(result.attempts.at(-1).thread_id, /^[0-9a-f-]{36}$/);
    const files = result.files.map((f: [string, number, number]) => f[0]);
    assert.ok(files.includes("greeting.txt"), JSON.stringify(files));
    const text = await run("result", ".", "TICKET-001");
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /TICKET-001/);
  });

  await t.step("logs renders the worker's output", async () => {
    const logs = await run("logs", ".", "--ticket", "TICKET-001");
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /run 1 · TICKET-001 · attempt 1/);
    assert.match(logs.stdout, /Completed TICKET-001/);
  });

  await t.step("dashboard serves the overview page and its island script over HTTP", async () => {
    const dashboard = await startDashboard(cmcs, { cwd: repo.path, env });
    try {
      const page = await fetch(dashboard.url);
      assert.equal(page.status, 200);
      assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
      const html = await page.text();
      assert.match(html, /^<!DOCTYPE html>/i);
      assert.ok(html.includes('href="/runs/1"'), "the overview does not list run 1");
      const script = /<script type="module" src="(\/static\/islands\.js\?v=[0-9a-f]+)"/.exec(html);
      assert.ok(script, "the page loads no island script");
      const island = await fetch(new URL(script[1], dashboard.url));
      assert.equal(island.status, 200);
      assert.match(island.headers.get("content-type") ?? "", /^text\/javascript/);
      const committed = join(PROJECT_DIR, "src/dashboard/generated/islands.js");
      assert.equal(await island.text(), await Deno.readTextFile(committed));
      const css = /<link rel="stylesheet" href="(\/static\/style\.css\?v=[0-9a-f]+)"/.exec(html);
      assert.ok(css, "the page loads no stylesheet");
      const style = await fetch(new URL(css[1], dashboard.url));
      assert.equal(style.status, 200);
      await style.body?.cancel();
    } finally {
      const ended = await dashboard.stop();
      assert.equal(ended.code, 0, ended.stderr);
    }
  });

  await t.step(
    "run --detach restarts the bundle in the background and wait sees it finish",
    async () => {
      const ticket = parsed(await run("ticket", "new", "--title", "Second", "--json"), "new");
      await Deno.writeTextFile(
        ticket.path,
        `${await Deno.readTextFile(ticket.path)}\n<!-- fake-codex: write second.txt two -->\n`,
      );
      await gitIn(repo.path, "add", "-A");
      await gitIn(repo.path, "commit", "-q", "-m", "add TICKET-002");
      const detached = parsed(await run("run", "--detach", "--json"), "run --detach");
      assert.equal(detached.runs.length, 1, JSON.stringify(detached));
      const waited = parsed(await run("wait", "--timeout", "60", "--json"), "wait");
      const both = JSON.stringify({ detached, waited });
      assert.equal(waited.timed_out, false, both);
      assert.equal(waited.runs[0].id, detached.runs[0].run_id, both);
      assert.equal(waited.runs[0].status, "completed", both);
      assert.equal((await Deno.readTextFile(join(repo.path, "second.txt"))).trim(), "two");
    },
  );

  await t.step("version shows the stamped build", async () => {
    const info = parsed(await run("version", "--json"), "version");
    assert.equal(info.version, VERSION);
    assert.ok(info.build.startsWith(`${VERSION}+`), info.build);
    assert.match(info.build, /^[^+]+\+[0-9a-z.]+$/);
    const text = await run("version");
    assert.ok(text.stdout.startsWith(`cmcs ${VERSION} (build ${info.build}, deno `), text.stdout);
  });
}

Deno.test("deno task bundle writes one file that loads nothing but Deno's node: built-ins", async () => {
  const build = await buildBundle();
  assert.match(build.stdout, /cmcs\.js\s+\d+ KiB\s+build \S+/);
  const text = await Deno.readTextFile(BUNDLE);
  // Only src/core/lazy.ts's import() for source runs, which the bundle never takes.
  assert.deepEqual(foreignImports(text), [...SOURCE_RUN_IMPORTS]);
  assert.ok(!text.includes(PROJECT_DIR), "the bundle names the checkout's path");
  assert.ok(!text.includes("playwright"), "the browser-test driver ended up in the bundle");
  // Loaded up front for every command, each of these costs about as long as an empty Deno program.
  assert.doesNotMatch(text, /^import .* from "node:(module|crypto|fs|process)";$/m);
  // Every module main.ts loads on demand is inside, not left as a separate chunk.
  const main = await Deno.readTextFile(join(PROJECT_DIR, "main.ts"));
  const lazy = [...main.matchAll(/import\("\.\/([^"]+)"\)/g)].map((match) => match[1]);
  assert.ok(lazy.length >= 10, `main.ts imports only ${lazy.length} modules lazily`);
  for (const module of lazy) {
    assert.ok(text.includes(`\n// ${module}\n`), `${module} is missing from the bundle`);
  }
});

Deno.test("the bundle runs the main scenarios (init … run, status, result, logs, dashboard, run --detach, wait) under the documented permissions", async (t) => {
  await buildBundle();
  await mainScenario(t, bundleRunner(BUNDLE), FAKE_CODEX);
});

Deno.test("the bundle reads and writes nothing of the source tree", async (t) => {
  await buildBundle();
  // A copy of the bundle and of the stand-in worker, with the whole checkout denied to cmcs.
  await using elsewhere = await tempDir("cmcs-bundle-copy-");
  const bundle = join(elsewhere.path, "cmcs.js");
  await Deno.copyFile(BUNDLE, bundle);
  const worker = join(elsewhere.path, "fake-codex");
  await Deno.copyFile(FAKE_CODEX, worker);
  await Deno.chmod(worker, 0o755);
  await Deno.copyFile(FAKE_CODEX_SCRIPT, join(elsewhere.path, "fake_codex.ts"));
  const deny = [`--deny-read=${PROJECT_DIR}`, `--deny-write=${PROJECT_DIR}`];
  await mainScenario(t, bundleRunner(bundle, deny), worker);
});

Deno.test("the bundle's errors are one line and a hint, not a stack trace", async () => {
  await buildBundle();
  await using dir = await tempDir();
  const status = await bundleRunner(BUNDLE)(["status"], { cwd: dir.path });
  assert.equal(status.code, 1);
  const lines = status.stderr.trim().split("\n");
  assert.match(lines[0], /^error: /);
  assert.ok(
    lines.length <= 2 && (lines.length === 1 || lines[1].startsWith("hint: ")),
    status.stderr,
  );
  const usage = await bundleRunner(BUNDLE)(["ticket", "new"], { cwd: dir.path });
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--title/);
});

Deno.test("stampBuild() replaces the build of src/version.ts only", () => {
  const text = [
    "// src/other.ts",
    'var BUILD = "dev";',
    "",
    "// src/version.ts",
    "var VERSION, BUILD2;",
    'var init_version = __esm({ "src/version.ts"() { VERSION = "0.1.0"; BUILD2 = "dev"; } });',
    "",
    "// src/after.ts",
    'var x = "dev";',
  ].join("\n");
  const stamped = stampBuild(text, "0.1.0+abc1234");
  assert.equal(stamped, text.replace('BUILD2 = "dev"', 'BUILD2 = "0.1.0+abc1234"'));
  assert.match(stamped, /\/\/ src\/other.ts\nvar BUILD = "dev";/);
});

Deno.test("stampBuild() refuses a bundle whose shape it does not recognise, and odd stamps", () => {
  assert.throws(() => stampBuild('// src/main.ts\nvar BUILD = "dev";\n', "1"), /found 0 places/);
  assert.throws(
    () => stampBuild('\n// src/version.ts\nBUILD = "dev"; BUILD = "dev";\n', "1"),
    /found 2 places/,
  );
  assert.throws(
    () => stampBuild('\n// src/version.ts\nBUILD = "dev";\n', 'x"; evil()'),
    /has characters other than/,
  );
});

Deno.test("foreignImports() finds every module a bundle would still load", () => {
  const text = [
    'import { createRequire } from "node:module";',
    'import { a } from "./chunk-1.js";',
    'export { b } from "npm:hono";',
    'import "https://example.invalid/side.js";',
    'const c = await import("./lazy.js");',
    "const d = await import(name);",
    'const e = __require("node:fs"), f = __require("left-pad");',
    "const g = import.meta.url;",
    'const h = someimport("x");',
  ].join("\n");
  assert.deepEqual(foreignImports(text), [
    "./chunk-1.js",
    "./lazy.js",
    "https://example.invalid/side.js",
    "import(name)",
    "left-pad",
    "npm:hono",
  ]);
});

Deno.test("foreignImports() passes over a comment line that mentions import() (zod has one)", () => {
  const text = [
    "      // annotated so the .d.cts emits an indexed access rather than an inline `import()` of an ESM path",
    'const c = await import("./lazy.js"); // and import("./commented.js") after code still counts',
  ].join("\n");
  assert.deepEqual(foreignImports(text), ["./commented.js", "./lazy.js"]);
});

Deno.test("parseBundleArgs() takes --output and --build and refuses anything else", () => {
  assert.deepEqual(parseBundleArgs(["--output", "x.js", "--build", "1.0.0+a"]), {
    output: "x.js",
    build: "1.0.0+a",
  });
  assert.throws(() => parseBundleArgs(["--minify"]), /minify/);
});

Deno.test("denoErrorCauses() keeps the error and its causes without the backtrace", () => {
  const said = "error: Writing failed\n\nCaused by:\n    0: Setting up base binary.\n" +
    "    1: dns error\n\nStack backtrace:\n   0: <unknown>\n";
  assert.deepEqual(denoErrorCauses(said), [
    "Writing failed",
    "Setting up base binary.",
    "dns error",
  ]);
});

Deno.test("globalProcess() drops the bundle's imports of node:process named process, and only those", () => {
  const text =
    'import process from "node:process";\nvar a = 1;\nimport process2 from "node:process";\n' +
    'import process from "node:process";\n';
  assert.equal(globalProcess(text), 'var a = 1;\nimport process2 from "node:process";\n');
});

Deno.test("lazyRequire() drops the static node:module import and refuses a require it cannot serve", () => {
  const prelude =
    'import { createRequire as __deno_internal_createRequire } from "node:module";\n' +
    "var __require = __deno_internal_createRequire(import.meta.url);\n";
  const text = `// head\n${prelude}var events = __require("node:events");\n`;
  const lazy = lazyRequire(text);
  assert.ok(!lazy.includes("node:module"), lazy);
  assert.match(lazy, /var __require = \(id\) => globalThis\.process\.getBuiltinModule\(id\);/);
  assert.ok(lazy.endsWith('var events = __require("node:events");\n'));
  assert.equal(lazyRequire("var x = 1;\n"), "var x = 1;\n");
  assert.throws(() => lazyRequire(`${prelude}__require("./local.js");\n`), /\.\/local\.js/);
  assert.throws(() => lazyRequire(`${prelude}${prelude}`), /two `createRequire`/);
});
