/**
 * `cmcs mcp` driven by a client that is not ours: the MCP Inspector's command-line client lists
 * the tools and calls `status` and `result` on a real repository with a finished run. When npm
 * cannot install the inspector, the tests are reported as ignored and one line says why.
 */
import assert from "node:assert/strict";
import { cmcsEntry, PERMISSION_FLAGS } from "../helpers/cli.ts";
import { directive } from "../helpers/fake_codex.ts";
import { type TestProject, testProject } from "../helpers/project.ts";
import {
  ensureInspector,
  INSPECTOR_VERSION,
  type InspectorInstall,
  runWithTimeout,
} from "./setup.ts";

const INSTALL: InspectorInstall = await ensureInspector();
if (!INSTALL.ok) {
  console.log(
    `MCP Inspector suite skipped: cannot install @modelcontextprotocol/inspector-cli: ${INSTALL.reason}`,
  );
}

function inspectorTest(
  name: string,
  fn: (install: InspectorInstall & { ok: true }) => Promise<void>,
) {
  Deno.test({
    name: `${name} (inspector-cli ${INSPECTOR_VERSION})`,
    ignore: !INSTALL.ok,
    fn: () => fn(INSTALL as InspectorInstall & { ok: true }),
  });
}

/** `mcp-inspector-cli --cli <cmcs mcp --repo …> <method args>`; returns its parsed JSON answer. */
async function inspect(
  install: InspectorInstall & { ok: true },
  p: TestProject,
  args: string[],
): Promise<Record<string, unknown>> {
  const out = await runWithTimeout(
    install.bin,
    [
      "--cli",
      Deno.execPath(),
      "run",
      "--quiet",
      ...PERMISSION_FLAGS,
      cmcsEntry(),
      "mcp",
      "--repo",
      p.path,
      ...args,
    ],
    120_000,
    { cwd: install.workDir, env: { ...p.env, NO_COLOR: "1" } },
  );
  assert.equal(out.code, 0, out.output);
  return JSON.parse(out.stdout.slice(out.stdout.indexOf("{")));
}

inspectorTest(
  "the MCP Inspector lists cmcs's tools and calls status and result on a finished run",
  async (install) => {
    await using p = await testProject();
    await p.ticket(
      "TICKET-001.md",
      { title: "Write a file", agent: "codex", done: false },
      `Write it.\n${directive("write", "a.txt", "hello")}\n`,
    );
    const ran = await p.cmcs(["run"]);
    assert.equal(ran.code, 0, ran.stderr);

    const listed = await inspect(install, p, ["--method", "tools/list"]);
    const names = (listed.tools as { name: string }[]).map((t) => t.name);
    for (const name of ["ticket_new", "run", "wait", "status", "result", "diff", "logs", "stop"]) {
      assert.ok(names.includes(name), `${name} missing from ${names.join(", ")}`);
    }

    const status = await inspect(install, p, [
      "--method",
      "tools/call",
      "--tool-name",
      "status",
      "--tool-arg",
      "latest=true",
    ]);
    const runs = (status.structuredContent as { runs: { status: string }[] }).runs;
    assert.deepEqual(runs.map((r) => r.status), ["completed"]);
    assert.match((status.content as { text: string }[])[0].text, /^ID\s+STATUS/);

    const result = await inspect(install, p, [
      "--method",
      "tools/call",
      "--tool-name",
      "result",
      "--tool-arg",
      "ticket=TICKET-001",
    ]);
    assert.equal(result.isError, undefined, JSON.stringify(result));
    assert.equal((result.structuredContent as { outcome: string }).outcome, "done");
    assert.match((result.content as { text: string }[])[0].text, /TICKET-001/);
    assert.match((result.content as { text: string }[])[0].text, /a\.txt/);
  },
);

inspectorTest(
  "the MCP Inspector gets a bad argument back as a tool error in cmcs's words",
  async (install) => {
    await using p = await testProject();
    const answer = await inspect(install, p, [
      "--method",
      "tools/call",
      "--tool-name",
      "result",
      "--tool-arg",
      "tiket=1",
    ]);
    assert.equal(answer.isError, true);
    assert.match(
      (answer.content as { text: string }[])[0].text,
      /^error: result has no argument "tiket"/,
    );
  },
);
