import assert from "node:assert/strict";
import { join } from "node:path";
import { PROJECT_DIR } from "./helpers/cli.ts";
import { tempDir, tempRepo } from "./helpers/repo.ts";

function withoutInitCwd(env: Record<string, string>): Record<string, string> {
  const { INIT_CWD: _inherited, ...rest } = env;
  return rest;
}

async function task(args: string[], cwd: string, env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "--config", join(PROJECT_DIR, "deno.json"), ...args],
    cwd,
    // As from a user's shell: `deno task` keeps an INIT_CWD it inherits (npm does the same), and
    // this test itself may run under `deno task test`, which set one.
    clearEnv: true,
    env: { ...withoutInitCwd(Deno.env.toObject()), NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

Deno.test("deno task cmcs acts on the directory the task was started from", async () => {
  await using repo = await tempRepo();
  const init = await task(["cmcs", "init"], repo.path);
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stdout, new RegExp(`initialized cmcs in ${repo.path}/\\.cmcs`));
  const status = await task(["cmcs", "status", "--json"], repo.path);
  assert.equal(status.code, 0, status.stderr);
  const json = JSON.parse(status.stdout);
  assert.equal(json.project, repo.path, "the repository the task was started from");
  assert.deepEqual(json.runs, []);
  const stray = await Deno.stat(join(PROJECT_DIR, ".cmcs", "cmcs.db")).catch(() => null);
  assert.equal(stray, null, "the task did not act on the cmcs checkout itself");
});

Deno.test("deno task install puts a cmcs command on PATH that runs from any repository", async () => {
  await using root = await tempDir("cmcs-install-");
  await using repo = await tempRepo();
  const installed = await task(["install"], PROJECT_DIR, { DENO_INSTALL_ROOT: root.path });
  assert.equal(installed.code, 0, installed.stderr);
  const bin = join(root.path, "bin", "cmcs");
  const run = await new Deno.Command(bin, {
    args: ["init"],
    cwd: repo.path,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
  assert.ok((await Deno.stat(join(repo.path, ".cmcs", "cmcs.db"))).isFile);
  const shim = await Deno.readTextFile(bin);
  for (
    const flag of (await Deno.readTextFile(join(PROJECT_DIR, "permissions.txt"))).trim().split(
      /\s+/,
    )
  ) {
    assert.ok(shim.includes(flag), `the installed command runs with ${flag}`);
  }
  assert.doesNotMatch(shim, /--allow-all|\s-A\s/);
});

Deno.test("deno task demo runs three tickets through the broker with the stand-in worker", async () => {
  await using dir = await tempDir();
  const demo = await task(["demo", "--stand-in"], dir.path);
  assert.equal(demo.code, 0, demo.stdout + demo.stderr);
  assert.match(demo.stdout, /worker: the stand-in worker/);
  assert.match(demo.stdout, /^run 1 completed$/m);
  assert.equal((demo.stdout.match(/^TICKET-00\d\s+done /gm) ?? []).length, 3);
  const repo = /demo repository: (\S+)/.exec(demo.stdout)?.[1];
  assert.ok(repo);
  await Deno.remove(repo, { recursive: true });
});
