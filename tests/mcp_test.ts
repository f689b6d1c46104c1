/**
 * `cmcs mcp` driven by the official SDK's own client over stdio, against real repositories, real
 * SQLite files and the stand-in worker: every tool once for success and once for a bad argument,
 * progress and cancellation of `wait`, and what is left when the client goes away.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { cmcsEntry, PERMISSION_FLAGS } from "./helpers/cli.ts";
import { directive } from "./helpers/fake_codex.ts";
import { type TestProject, testProject } from "./helpers/project.ts";
import { gitIn, tempRepo } from "./helpers/repo.ts";
import { runs, until } from "./helpers/runs.ts";

const TOOLS = [
  "ticket_new",
  "ticket_validate",
  "run",
  "wait",
  "status",
  "result",
  "diff",
  "resume",
  "accept",
  "stop",
  "logs",
];

interface Connected extends AsyncDisposable {
  client: Client;
  transport: StdioClientTransport;
  /** What the server wrote to stderr so far. */
  stderr(): string;
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
}

/** Starts `cmcs mcp` (with `args`) in `cwd` under the documented permissions and connects. */
async function connect(p: TestProject, cwd = p.path, args: string[] = []): Promise<Connected> {
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: ["run", "--quiet", ...PERMISSION_FLAGS, cmcsEntry(), "mcp", ...args],
    cwd,
    env: { ...Deno.env.toObject(), NO_COLOR: "1", ...p.env },
    stderr: "pipe",
  });
  const client = new Client({ name: "cmcs-test", version: "1.0.0" });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array) => stderr += new TextDecoder().decode(chunk));
  await client.connect(transport);
  return {
    client,
    transport,
    stderr: () => stderr,
    call: async (name, args = {}) =>
      await client.callTool({ name, arguments: args }) as CallToolResult,
    async [Symbol.asyncDispose]() {
      await client.close();
    },
  };
}

function text(result: CallToolResult): string {
  return result.content.map((c: { type: string; text?: string }) => c.type === "text" ? c.text : "")
    .join("\n");
}

function ok(result: CallToolResult): Record<string, unknown> {
  assert.ok(!result.isError, `tool error: ${text(result)}`);
  assert.ok(result.structuredContent, "no structured content");
  return result.structuredContent;
}

/** A tool error: one `error:` line naming what is wrong (`expected`), then a hint. */
function toolError(result: CallToolResult, expected: RegExp): void {
  assert.ok(result.isError, `expected a tool error, got: ${text(result)}`);
  const lines = text(result).split("\n");
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], expected);
  assert.ok(
    lines.length <= 2 && (lines.length === 1 || lines[1].startsWith("hint: ")),
    text(result),
  );
}

function includes(haystack: string, needle: string): void {
  assert.ok(haystack.includes(needle), `expected ${JSON.stringify(needle)} in:\n${haystack}`);
}

Deno.test("the server lists every tool with an input schema and an output schema", async () => {
  await using p = await testProject();
  await using mcp = await connect(p);
  const { tools } = await mcp.client.listTools();
  assert.deepEqual(tools.map((t: { name: string }) => t.name), TOOLS);
  for (const tool of tools) {
    assert.deepEqual(tool.inputSchema.type, "object", tool.name);
    assert.deepEqual(tool.outputSchema?.type, "object", tool.name);
    assert.ok((tool.description ?? "").length > 20, tool.name);
  }
});

Deno.test("ticket_new writes the ticket with its body and ticket_validate finds it OK", async () => {
  await using p = await testProject();
  await using mcp = await connect(p);
  const made = await mcp.call("ticket_new", {
    title: "Add a greeting",
    body: "## Goal\n\nSay hello.\n",
    effort: "high",
  });
  const data = ok(made);
  assert.deepEqual(data.id, "TICKET-001");
  assert.deepEqual(text(made), data.path);
  const written = await Deno.readTextFile(data.path as string);
  includes(written, "title: Add a greeting");
  includes(written, "reasoning_effort: high");
  includes(written, "## Goal\n\nSay hello.\n");

  const checked = await mcp.call("ticket_validate");
  assert.deepEqual(ok(checked).problems, 0);
  includes(text(checked), "TICKET-001.md  OK  Add a greeting");
});

Deno.test("a bad argument is a tool error naming it and the server keeps serving", async () => {
  await using p = await testProject();
  await using outside = await tempRepo();
  await using mcp = await connect(p);
  toolError(await mcp.call("ticket_new", {}), /ticket_new needs the argument "title"/);
  toolError(await mcp.call("ticket_new", { title: "x", effort: "max" }), /argument "effort"/);
  toolError(await mcp.call("ticket_new", { title: "  " }), /--title must not be empty/);
  toolError(
    await mcp.call("ticket_validate", { path: outside.path }),
    /not part of the repository/,
  );
  toolError(await mcp.call("run", { targets: ["no/such/dir"] }), /no\/such\/dir/);
  toolError(await mcp.call("wait", { timeout_s: -1 }), /argument "timeout_s"/);
  toolError(await mcp.call("status", { limit: 0 }), /argument "limit"/);
  toolError(await mcp.call("status", { limt: 3 }), /status has no argument "limt"/);
  toolError(await mcp.call("result", { ticket: "TICKET-009" }), /no ticket has run on \. yet/);
  toolError(await mcp.call("diff", { max_chars: 10 }), /argument "max_chars"/);
  toolError(await mcp.call("resume", { ticket: "TICKET-001", feedback: " " }), /feedback is empty/);
  toolError(await mcp.call("accept", { tickets: [] }), /argument "tickets"/);
  toolError(
    await mcp.call("accept", { tickets: ["1"], ticket: "1" }),
    /accept has no argument "ticket"/,
  );
  toolError(await mcp.call("accept", { tickets: ["TICKET-001"] }), /no ticket has run on \. yet/);
  toolError(await mcp.call("stop", { target: "." }), /nothing is running on \./);
  toolError(await mcp.call("logs", { lines: 0 }), /argument "lines"/);
  // Still answering after a dozen mistakes.
  assert.deepEqual(ok(await mcp.call("status")).runs, []);
});

Deno.test("run starts a background run, wait reports progress until it ends, then status, result, diff and logs describe it", async () => {
  await using p = await testProject();
  const release = join(p.stateDir, "release");
  await p.ticket(
    "TICKET-001.md",
    { title: "Write a file", agent: "codex", done: false },
    `Write it.\n${directive("wait-file", release)}\n${directive("write", "a.txt", "hello")}\n`,
  );
  await using mcp = await connect(p);
  const started = ok(await mcp.call("run"));
  const [run] = started.runs as { run_id: number; status: string }[];
  assert.deepEqual(run.status, "running");

  const progress: string[] = [];
  const waited = await mcp.client.callTool(
    { name: "wait", arguments: {} },
    undefined,
    {
      onprogress: (p: { message?: string }) => {
        progress.push(p.message ?? "");
        Deno.writeTextFileSync(release, "go");
      },
    },
  ) as CallToolResult;
  const summary = ok(waited);
  assert.deepEqual((summary.runs as { status: string }[])[0].status, "completed");
  assert.match(progress[0], /0 of 1 ended/);
  includes(text(waited), `run ${run.run_id} (.) completed`);
  includes(text(waited), "next: cmcs result . TICKET-001");

  const status = await mcp.call("status");
  assert.deepEqual((ok(status).runs as { id: number }[])[0].id, run.run_id);
  assert.match(text(status), new RegExp(`^ID\\s+STATUS[^\\n]*\\n${run.run_id}\\s+completed`));

  const result = await mcp.call("result", { ticket: "1" });
  assert.deepEqual(ok(result).ticket, "TICKET-001");
  assert.deepEqual(ok(result).outcome, "done");
  includes(text(result), "a.txt");

  toolError(await mcp.call("result", { ticket: "TICKET-009" }), /TICKET-009/);

  const accepted = await mcp.call("accept", { tickets: ["1"] });
  const taken = ok(accepted).tickets as { ticket: string; already: boolean }[];
  assert.deepEqual(taken.map((t) => [t.ticket, t.already]), [["TICKET-001", false]]);
  assert.deepEqual(text(accepted), `accepted TICKET-001 "Write a file" (run ${run.run_id})`);
  const review = ok(await mcp.call("status")).review as { accepted: number };
  assert.deepEqual(review.accepted, 1);
  toolError(await mcp.call("accept", { tickets: ["TICKET-009"] }), /TICKET-009/);

  const diff = await mcp.call("diff");
  includes(ok(diff).diff as string, "+hello");
  assert.deepEqual(ok(diff).truncated, false);

  const logs = await mcp.call("logs", { lines: 5 });
  assert.deepEqual(ok(logs).ticket, "TICKET-001");
  assert.match(text(logs), /^== run \d+ · TICKET-001 · attempt 1/);
});

Deno.test("diff cuts a large diff and says how to see the rest", async () => {
  await using p = await testProject();
  const big = Array.from({ length: 2000 }, (_, i) => `line ${i}`).join("\\n");
  await p.ticket(
    "TICKET-001.md",
    { title: "Big file", agent: "codex", done: false },
    `Write it.\n${directive("write", "big.txt", big)}\n`,
  );
  await using mcp = await connect(p);
  ok(await mcp.call("run"));
  ok(await mcp.call("wait"));
  const diff = await mcp.call("diff", { max_chars: 1000 });
  const data = ok(diff);
  assert.deepEqual(data.truncated, true);
  assert.ok((data.diff as string).length <= 1000);
  assert.ok((data.total_chars as number) > 1000);
  assert.match(
    text(diff).split("\n").at(-1)!,
    /^… cut after \d+ of \d+ characters; .*cmcs diff \. TICKET-001/,
  );
});

Deno.test("structured content is the command's --json: status and result whole, wait's runs without pids", async () => {
  await using p = await testProject();
  const writes = Array.from({ length: 20 }, (_, i) => directive("write", `f${i}.txt`, `n${i}`));
  await p.ticket(
    "TICKET-001.md",
    { title: "Many files", agent: "codex", done: false },
    `Write them.\n${writes.join("\n")}\n`,
  );
  await using mcp = await connect(p);
  ok(await mcp.call("run"));
  const waited = ok(await mcp.call("wait"));
  const [run] = waited.runs as Record<string, unknown>[];
  assert.equal(run.status, "completed");
  assert.ok(!("broker_pid" in run) && !("worker_pid" in run), JSON.stringify(run));
  assert.deepEqual(Object.keys(run.tokens as object), ["total"]);
  const packet = ok(await mcp.call("result"));
  assert.equal((packet.files as unknown[]).length, 21);
  const result = await p.cmcs(["result", ".", "--json"]);
  assert.deepEqual(packet, JSON.parse(result.stdout));
  const status = await p.cmcs(["status", "--json"]);
  assert.deepEqual(ok(await mcp.call("status")), JSON.parse(status.stdout));
});

Deno.test("resume sends a ticket back in a background run that wait sees end done", async () => {
  await using p = await testProject();
  await p.ticket(
    "TICKET-001.md",
    { title: "Needs feedback", agent: "codex", done: false },
    `Work.\n${directive("not-done-until-resume")}\n`,
  );
  await using mcp = await connect(p);
  ok(await mcp.call("run"));
  const first = ok(await mcp.call("wait"));
  assert.deepEqual((first.runs as { status: string }[])[0].status, "failed");
  toolError(
    await mcp.call("accept", { tickets: ["TICKET-001"] }),
    /TICKET-001 is not done: .*; nothing was accepted/,
  );

  const resumed = await mcp.call("resume", { ticket: "TICKET-001", feedback: "Finish it." });
  const data = ok(resumed);
  assert.deepEqual(data.ticket, "TICKET-001");
  assert.match(text(resumed), /^run \d+ resumes TICKET-001 on \./);
  const leftovers = [...Deno.readDirSync(join(p.path, ".cmcs/logs"))].filter((e) =>
    e.name.startsWith("resume-")
  );
  assert.deepEqual(leftovers, [], "the feedback file is removed once the run started");
  const second = ok(await mcp.call("wait"));
  assert.deepEqual((second.runs as { id: number; status: string }[])[0].id, data.run_id);
  assert.deepEqual((second.runs as { status: string }[])[0].status, "completed");
  assert.equal((await p.calls()).at(-1)?.resumed, true, "the same Codex thread went on");
  toolError(
    await mcp.call("resume", { ticket: "TICKET-404", feedback: "x" }),
    /no ticket "TICKET-404"/,
  );
});

Deno.test("stop ends a running run by its id", async () => {
  await using p = await testProject();
  await p.ticket(
    "TICKET-001.md",
    { title: "Hang", agent: "codex", done: false },
    directive("hang"),
  );
  await using mcp = await connect(p);
  const [run] = ok(await mcp.call("run")).runs as { run_id: number }[];
  await until("the worker", () => runs(p)[0]?.worker_pid);
  const stopped = await mcp.call("stop", { target: run.run_id });
  assert.deepEqual(ok(stopped).status, "stopped");
  assert.match(text(stopped), new RegExp(`^stopped run ${run.run_id}`));
  toolError(await mcp.call("stop", { target: run.run_id }), /not running|already/);
});

Deno.test("a cancelled or timed-out wait leaves the run running and the server answering", async () => {
  await using p = await testProject();
  await p.ticket(
    "TICKET-001.md",
    { title: "Hang", agent: "codex", done: false },
    directive("hang"),
  );
  await using mcp = await connect(p);
  const [run] = ok(await mcp.call("run")).runs as { run_id: number }[];
  const abort = new AbortController();
  const waiting = mcp.client.callTool({ name: "wait", arguments: {} }, undefined, {
    signal: abort.signal,
    onprogress: () => abort.abort(),
  }).then(() => "answered", () => "cancelled");
  assert.deepEqual(await waiting, "cancelled");
  await until(
    "the server to end the wait",
    () => mcp.stderr().includes("wait cancelled by the client"),
  );
  const timedOut = await mcp.call("wait", { timeout_s: 0.2 });
  assert.equal(ok(timedOut).timed_out, true);
  includes(text(timedOut), `run ${run.run_id} (.) running`);
  includes(text(timedOut), "next: cmcs wait .");
  const status = ok(await mcp.call("status", { active: true }));
  assert.deepEqual((status.runs as { id: number }[]).map((r) => r.id), [run.run_id]);
  assert.deepEqual(ok(await mcp.call("stop", { target: run.run_id })).status, "stopped");
});

Deno.test("a client that goes away mid-wait ends the server and leaves the run running", async () => {
  await using p = await testProject();
  await p.ticket(
    "TICKET-001.md",
    { title: "Hang", agent: "codex", done: false },
    directive("hang"),
  );
  // A client by hand, so that its only way of going away is closing the server's stdin.
  const server = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...PERMISSION_FLAGS, cmcsEntry(), "mcp"],
    cwd: p.path,
    env: { NO_COLOR: "1", ...p.env },
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = server.stdin.getWriter();
  const send = (message: unknown) =>
    writer.write(
      new TextEncoder().encode(JSON.stringify({ jsonrpc: "2.0", ...message as object }) + "\n"),
    );
  const lines = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const next = async (): Promise<Record<string, unknown>> => {
    while (!buffered.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error("the server closed its stdout");
      buffered += value;
    }
    const line = buffered.slice(0, buffered.indexOf("\n"));
    buffered = buffered.slice(line.length + 1);
    return JSON.parse(line);
  };
  await send({
    id: 1,
    method: "initialize",
    params: {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "t", version: "1" },
    },
  });
  await next();
  await send({ method: "notifications/initialized" });
  await send({ id: 2, method: "tools/call", params: { name: "run", arguments: {} } });
  const started = await next();
  const runId = (started.result as { structuredContent: { runs: { run_id: number }[] } })
    .structuredContent.runs[0].run_id;
  await send({
    id: 3,
    method: "tools/call",
    params: { name: "wait", arguments: {}, _meta: { progressToken: "w" } },
  });
  assert.equal((await next()).method, "notifications/progress");
  await writer.close();
  const exit = await server.status;
  await lines.cancel().catch(() => {});
  assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null });
  assert.equal(runs(p).find((r) => r.id === runId)?.status, "running");
  const stop = await p.cmcs(["stop", String(runId)]);
  assert.equal(stop.code, 0, stop.stderr);
});

Deno.test("--repo serves another repository and refuses paths outside it", async () => {
  await using p = await testProject();
  await using other = await tempRepo();
  await using mcp = await connect(p, other.path, ["--repo", p.path]);
  const made = ok(await mcp.call("ticket_new", { title: "Here" }));
  assert.deepEqual(made.path, join(await Deno.realPath(p.path), ".cmcs/tickets/TICKET-001.md"));
  toolError(await mcp.call("status", { path: other.path }), /not part of the repository/);
});

Deno.test("started where cmcs is not initialized, the server runs and each call says to run cmcs init", async () => {
  await using p = await testProject();
  await using bare = await tempRepo();
  await using mcp = await connect(p, bare.path);
  toolError(await mcp.call("status"), /cmcs is not initialized/);
  toolError(await mcp.call("ticket_new", { title: "x" }), /cmcs is not initialized/);
  const init = await p.cmcs(["init"], { cwd: bare.path });
  assert.equal(init.code, 0, init.stderr);
  assert.deepEqual(ok(await mcp.call("status")).runs, []);
});

Deno.test("only the mcp command's modules import the MCP SDK, and only when it runs", async () => {
  const root = join(import.meta.dirname!, "..");
  const importers: string[] = [];
  for await (const file of walkTs(join(root, "src"))) {
    const text = await Deno.readTextFile(file);
    if (/from "(@modelcontextprotocol\/sdk|zod)/.test(text)) {
      importers.push(file.slice(root.length + 1));
    }
    if (/from "\.\.?\/(\.\.\/)?mcp\//.test(text)) assert.match(file, /\/src\/mcp\//);
  }
  assert.ok(
    importers.length > 0 && importers.every((f) => f.startsWith("src/mcp/")),
    importers.join(),
  );
  const command = await Deno.readTextFile(join(root, "src/mcp/command.ts"));
  assert.doesNotMatch(command, /^import .*(server|tools)\.ts/m);
  assert.match(command, /await import\("\.\/server\.ts"\)/);
  const main = await Deno.readTextFile(join(root, "main.ts"));
  assert.match(main, /await load\("src\/mcp\/command\.ts"\)/);
});

async function* walkTs(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* walkTs(path);
    else if (entry.name.endsWith(".ts") || entry.name.endsWith(".tsx")) yield path;
  }
}

Deno.test("started in a linked worktree, the server acts there by default and may name the main checkout", async () => {
  await using p = await testProject();
  const worktree = join(p.path, "worktrees", "side");
  await gitIn(p.path, "worktree", "add", "-q", "-b", "side", worktree);
  await using mcp = await connect(p, worktree);
  const made = ok(await mcp.call("ticket_new", { title: "In the worktree" }));
  assert.equal(made.path, join(await Deno.realPath(worktree), ".cmcs/tickets/TICKET-001.md"));
  const main = ok(await mcp.call("ticket_validate", { path: p.path }));
  assert.equal(main.tickets_dir, join(await Deno.realPath(p.path), ".cmcs/tickets"));
  assert.deepEqual(main.tickets, []);
});
