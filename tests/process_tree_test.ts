import assert from "node:assert/strict";
import { join } from "node:path";
import {
  descendants,
  isAlive,
  killProcessTree,
  type KillStep,
  listProcesses,
  processesWithToken,
} from "../src/core/process_tree.ts";
import {
  parseProcStats,
  processStartToken,
  processStartTokens,
  sameProcessesAlive,
} from "../src/core/process_identity.ts";

/**
 * A shell script run as a real process tree, with its temp dir in $D. Every process it reports
 * (and the root) is killed at teardown whatever the test did, so a failing test leaves nothing.
 */
class Tree {
  readonly dir: string;
  readonly child: Deno.ChildProcess;
  readonly rootStart: string | null;
  readonly #tracked = new Map<number, string>();

  constructor(script: string, opts: { env?: Record<string, string>; detached?: boolean } = {}) {
    this.dir = Deno.makeTempDirSync({ prefix: "cmcs-ptree-" });
    this.child = new Deno.Command("bash", {
      args: ["-c", script],
      env: { ...opts.env, D: this.dir },
      detached: opts.detached ?? false,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    this.rootStart = processStartToken(this.child.pid);
    if (this.rootStart) this.#tracked.set(this.child.pid, this.rootStart);
  }

  get pid(): number {
    return this.child.pid;
  }

  /** Waits until `file` in $D lists `count` pids of running processes, and tracks them. */
  async pids(file: string, count: number): Promise<{ pid: number; start: string }[]> {
    const found = await waitFor(`${count} pids in ${file}`, () => {
      let text = "";
      try {
        text = Deno.readTextFileSync(join(this.dir, file));
      } catch {
        return null;
      }
      const pids = text.split("\n").filter((line) => /^\d+$/.test(line.trim())).map(Number);
      if (pids.length < count) return null;
      const procs = pids.map((pid) => ({ pid, start: processStartToken(pid) }));
      return procs.every((p) => p.start !== null)
        ? procs as { pid: number; start: string }[]
        : null;
    });
    for (const proc of found) this.#tracked.set(proc.pid, proc.start);
    return found;
  }

  async cleanup(): Promise<void> {
    for (const [pid, start] of this.#tracked) {
      if (processStartToken(pid) === start) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch { /* gone meanwhile */ }
      }
    }
    await this.child.status;
    Deno.removeSync(this.dir, { recursive: true });
  }
}

async function waitFor<T>(what: string, probe: () => T | null, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== null) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** `/proc/<pid>/status` as a record, read through `cat` (Deno reads `/proc` only with -A). */
function procStatus(pid: number): Record<string, string> {
  const output = new Deno.Command("cat", { args: [`/proc/${pid}/status`], stdin: "null" })
    .outputSync();
  const out: Record<string, string> = {};
  for (const line of new TextDecoder().decode(output.stdout).split("\n")) {
    const [key, ...rest] = line.split(":");
    if (rest.length) out[key] = rest.join(":").trim();
  }
  return out;
}

function gone(proc: { pid: number; start: string }): boolean {
  return processStartToken(proc.pid) !== proc.start;
}

function recordSteps(): {
  steps: [KillStep, number[]][];
  onStep: (s: KillStep, p: number[]) => void;
} {
  const steps: [KillStep, number[]][] = [];
  return { steps, onStep: (step, pids) => steps.push([step, [...pids].sort()]) };
}

Deno.test("descendants() lists every level of a three-level tree, and nothing else", async () => {
  const tree = new Tree(
    `bash -c 'sleep 1000 & echo $! > "$D/leaf"; wait' & echo $! > "$D/mid"; wait`,
  );
  try {
    const [mid] = await tree.pids("mid", 1);
    const [leaf] = await tree.pids("leaf", 1);
    const all = listProcesses();
    assert.ok(all.some((p) => p.pid === Deno.pid), "listProcesses() sees this process");
    const below = descendants(tree.pid, all);
    assert.deepEqual(below.map((p) => p.pid), [mid.pid, leaf.pid]);
    assert.equal(below[0].ppid, tree.pid);
    assert.equal(below[1].ppid, mid.pid);
    assert.equal(below[1].start, leaf.start);
    assert.deepEqual(descendants(mid.pid, all).map((p) => p.pid), [leaf.pid]);
    assert.deepEqual(descendants(leaf.pid, all), []);
  } finally {
    await tree.cleanup();
  }
});

Deno.test("descendants() and killProcessTree() find a process whose name holds a newline and parentheses", async () => {
  // The kernel takes a process's name from its executable's file name, which a worker controls.
  const tree = new Tree(
    `odd="$D/x
) S 1 ) Z"; cp "$(command -v sleep)" "$odd"; "$odd" 1000 & echo $! > "$D/odd"
    sleep 1000 & echo $! > "$D/plain"; wait`,
  );
  try {
    const [odd] = await tree.pids("odd", 1);
    const [plain] = await tree.pids("plain", 1);
    assert.match(procStatus(odd.pid).Name, /^x/, "the odd name is the process's own");
    const below = descendants(tree.pid);
    assert.deepEqual(below.map((p) => p.pid).sort(), [odd.pid, plain.pid].sort());
    assert.equal(below.find((p) => p.pid === odd.pid)?.start, odd.start);
    const { survivors } = await killProcessTree({
      pid: tree.pid,
      start: tree.rootStart,
      token: null,
      graceS: 1,
    });
    assert.deepEqual(survivors, []);
    assert.ok(gone(odd) && gone(plain));
  } finally {
    await tree.cleanup();
  }
});

Deno.test("parseProcStats() reads stat records back to back, whatever their names hold", () => {
  const rest = (ppid: number, start: number) =>
    `${ppid} ${ppid} ${ppid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 ${start} 1000 100 18446744073709551615`;
  const text = [
    `10 (sh) S ${rest(1, 500)}\n`,
    `11 (a b) (c)) R ${rest(10, 501)}\n`,
    `12 (x\n) S 1 ) Z) S ${rest(10, 502)}\n`,
    `13 (gone) Z ${rest(10, 503)}\n`,
    `14 (last) S ${rest(11, 504)}`,
  ].join("");
  assert.deepEqual(parseProcStats(text), [
    { pid: 10, ppid: 1, pgid: 1, start: "500" },
    { pid: 11, ppid: 10, pgid: 10, start: "501" },
    { pid: 12, ppid: 10, pgid: 10, start: "502" },
    { pid: 14, ppid: 11, pgid: 11, start: "504" },
  ]);
});

Deno.test("processStartTokens() answers for many pids at once as processStartToken() does one by one", async () => {
  const tree = new Tree(`for i in 1 2 3; do sleep 1000 & echo $! >> "$D/pids"; done; wait`);
  try {
    const procs = await tree.pids("pids", 3);
    const dead = new Deno.Command("true").spawn();
    await dead.status;
    const pids = [...procs.map((p) => p.pid), dead.pid, -1, procs[0].pid];
    const tokens = processStartTokens(pids);
    for (const p of procs) assert.equal(tokens.get(p.pid), processStartToken(p.pid));
    assert.equal(tokens.get(dead.pid), null);
    assert.equal(tokens.get(-1), null);
    assert.deepEqual(
      sameProcessesAlive([
        { pid: procs[0].pid, start: procs[0].start },
        { pid: procs[1].pid, start: "1" },
        { pid: procs[2].pid, start: null },
        { pid: dead.pid, start: null },
        { pid: null, start: null },
      ]),
      [true, false, true, false, false],
    );
  } finally {
    await tree.cleanup();
  }
});

Deno.test("killProcessTree() ends children that run in process groups of their own", async () => {
  // Spawned like the runner spawns a worker: detached, so the root leads a group of its own.
  const tree = new Tree(
    `for i in 1 2; do setsid sh -c 'echo $$ >> "$D/groups"; exec sleep 1000' & done
     sleep 1000 & echo $! > "$D/plain"
     wait`,
    { detached: true },
  );
  try {
    const grouped = await tree.pids("groups", 2);
    const [plain] = await tree.pids("plain", 1);
    for (const proc of grouped) {
      const info = listProcesses().find((p) => p.pid === proc.pid);
      assert.equal(info?.pgid, proc.pid, "the command leads a process group of its own");
    }
    const { steps, onStep } = recordSteps();
    const result = await killProcessTree({
      pid: tree.pid,
      token: null,
      graceS: 0.3,
      termGraceS: 0.5,
      onStep,
    });
    await tree.child.status;
    assert.deepEqual(result.survivors, []);
    for (const proc of [...grouped, plain]) assert.ok(gone(proc), `pid ${proc.pid} is gone`);
    assert.deepEqual(steps[0], ["SIGINT", [tree.pid]], "SIGINT goes to the root only");
  } finally {
    await tree.cleanup();
  }
});

Deno.test("killProcessTree() gives the root its SIGINT turn before SIGTERM reaches the rest", async () => {
  const tree = new Tree(`trap 'exit 0' INT; sleep 1000 & echo $! > "$D/child"; wait`);
  try {
    const [child] = await tree.pids("child", 1);
    const { steps, onStep } = recordSteps();
    const result = await killProcessTree({ pid: tree.pid, token: null, graceS: 5, onStep });
    const status = await tree.child.status;
    assert.deepEqual(result.survivors, []);
    assert.equal(status.code, 0, "the root ended gracefully on SIGINT");
    assert.deepEqual(steps, [["SIGINT", [tree.pid]], ["SIGTERM", [child.pid]]]);
    assert.ok(gone(child));
  } finally {
    await tree.cleanup();
  }
});

Deno.test("killProcessTree() SIGKILLs a process that ignores SIGINT and SIGTERM", async () => {
  const tree = new Tree(`trap '' TERM INT; exec sleep 1000`);
  try {
    // SigIgn bit n-1 for signal n: SIGINT (2) and SIGTERM (15).
    await waitFor("the traps to be set and sleep to run", () => {
      const status = procStatus(tree.pid);
      const ignoring = (BigInt(`0x${status.SigIgn}`) & 0x4002n) === 0x4002n;
      return ignoring && status.Name === "sleep" ? true : null;
    });
    const { steps, onStep } = recordSteps();
    const result = await killProcessTree({
      pid: tree.pid,
      token: null,
      graceS: 0.2,
      termGraceS: 0.3,
      onStep,
    });
    const status = await tree.child.status;
    assert.deepEqual(result.survivors, []);
    assert.equal(status.signal, "SIGKILL");
    assert.deepEqual(steps.map(([step]) => step), ["SIGINT", "SIGTERM", "SIGKILL"]);
  } finally {
    await tree.cleanup();
  }
});

Deno.test("killProcessTree() finds a grandchild reparented to init by its process token", async () => {
  const token = crypto.randomUUID();
  const tree = new Tree(
    `bash -c 'sleep 1000 & echo $! > "$D/orphan"'; echo $$ > "$D/ready"; exec sleep 1000`,
    { env: { CMCS_ATTEMPT_ID: token } },
  );
  try {
    const [orphan] = await tree.pids("orphan", 1);
    await tree.pids("ready", 1);
    assert.ok(!descendants(tree.pid).some((p) => p.pid === orphan.pid), "no longer in the tree");
    const carriers = processesWithToken(token);
    assert.ok(carriers.includes(orphan.pid) && carriers.includes(tree.pid));
    assert.ok(!carriers.includes(Deno.pid));
    assert.deepEqual(processesWithToken(crypto.randomUUID()), []);

    const result = await killProcessTree({ pid: tree.pid, token, graceS: 0.2, termGraceS: 1 });
    await tree.child.status;
    assert.deepEqual(result.survivors, []);
    assert.ok(gone(orphan), "the reparented grandchild was ended");
  } finally {
    await tree.cleanup();
  }
});

Deno.test("killProcessTree() ends what a worker left behind after the worker itself exited", async () => {
  const token = crypto.randomUUID();
  const tree = new Tree(`setsid sleep 1000 & echo $! > "$D/left"`, {
    env: { CMCS_ATTEMPT_ID: token },
  });
  try {
    const [left] = await tree.pids("left", 1);
    await tree.child.status;
    const { steps, onStep } = recordSteps();
    const result = await killProcessTree({
      pid: tree.pid,
      start: tree.rootStart,
      token,
      graceS: 0.2,
      onStep,
    });
    assert.deepEqual(result.survivors, []);
    assert.ok(gone(left));
    assert.deepEqual(steps, [["SIGTERM", [left.pid]]], "no SIGINT for a root that is gone");
  } finally {
    await tree.cleanup();
  }
});

Deno.test("killProcessTree() does not signal a pid that now belongs to another process", async () => {
  const tree = new Tree(`exec sleep 1000`);
  try {
    const start = await waitFor("sleep to run", () => {
      const status = procStatus(tree.pid);
      return status.Name === "sleep" ? processStartToken(tree.pid) : null;
    });
    assert.ok(isAlive(tree.pid, start));
    assert.ok(!isAlive(tree.pid, `${start}0`));
    const { steps, onStep } = recordSteps();
    const result = await killProcessTree({
      pid: tree.pid,
      start: `${start}0`,
      token: null,
      graceS: 0.2,
      onStep,
    });
    assert.deepEqual(result.survivors, []);
    assert.deepEqual(steps, []);
    assert.ok(isAlive(tree.pid, start), "the process with the reused pid still runs");
  } finally {
    await tree.cleanup();
  }
});
