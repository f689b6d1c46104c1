/**
 * Starting a process in its own session without forking the broker (src/core/own_session.ts):
 * through the `setsid` program where installed, `detached: true` elsewhere. Each way, the pid
 * `spawn` returns is the command's own, leading its process group and session, and a command
 * that cannot be started is reported as `spawn()` reports it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runStep } from "../src/core/bounded_step.ts";
import { _useSetsid, setsidProgram, spawnInOwnSession } from "../src/core/own_session.ts";

/** Both ways where `setsid` is installed (Linux), else only the fallback. */
function ways(): { name: string; setsid: boolean }[] {
  _useSetsid(true);
  const found = setsidProgram() !== null;
  return [
    ...(found ? [{ name: "through setsid", setsid: true }] : []),
    { name: "with detached: true", setsid: false },
  ];
}

for (const way of ways()) {
  Deno.test(`a command started ${way.name} is the process spawn returned, leading its own process group and session`, async () => {
    _useSetsid(way.setsid);
    try {
      // The shell prints its own pid, then its process group and session from /proc (or ps).
      const script = Deno.build.os === "linux"
        ? 'read -r pid comm state ppid pgrp sid rest < /proc/$$/stat; echo "$$ $pgrp $sid"'
        : 'echo "$$ $(ps -o pgid= -p $$) $(ps -o sess= -p $$)"';
      const { child, viaSetsid } = spawnInOwnSession("sh", {
        args: ["-c", script],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      });
      assert.equal(viaSetsid, way.setsid);
      const out = await child.output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const [pid, pgrp, sid] = new TextDecoder().decode(out.stdout).trim().split(/\s+/).map(
        Number,
      );
      assert.equal(pid, child.pid, "the command runs on the pid spawn returned (no fork)");
      assert.equal(pgrp, child.pid, "it leads its process group");
      if (Deno.build.os === "linux") assert.equal(sid, child.pid, "it leads its session");
    } finally {
      _useSetsid(true);
    }
  });

  Deno.test(`a program missing from PATH or not executable, started ${way.name}, fails as spawn() does`, async () => {
    _useSetsid(way.setsid);
    const dir = await Deno.makeTempDir({ prefix: "cmcs-own-session-" });
    try {
      const step = (command: string) => runStep({ command, args: [], cwd: dir });
      await assert.rejects(step("cmcs-no-such-program-anywhere"), Deno.errors.NotFound);
      await assert.rejects(step(join(dir, "missing")), Deno.errors.NotFound);
      await assert.rejects(step("./missing"), Deno.errors.NotFound);
      await Deno.writeTextFile(join(dir, "plain"), "#!/bin/sh\necho hi\n");
      await assert.rejects(step(join(dir, "plain")), Deno.errors.PermissionDenied);
      // A program that runs and exits 127 on its own is not taken for one that never started.
      await Deno.writeTextFile(
        join(dir, "gone"),
        "#!/bin/sh\necho 'setsid: mimic' >&2\nexit 127\n",
      );
      await Deno.chmod(join(dir, "gone"), 0o755);
      const ran = await runStep({ command: "./gone", args: [], cwd: dir });
      assert.equal(ran.code, 127);
    } finally {
      _useSetsid(true);
      await Deno.remove(dir, { recursive: true });
    }
  });
}
