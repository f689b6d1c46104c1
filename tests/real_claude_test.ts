/**
 * End-to-end: the cmcs plugin in the real Claude Code CLI (`@anthropic-ai/claude-code`, the version
 * pinned in real_claude/setup.ts, installed from npm into a cache directory), run with `claude -p`
 * against a mock of the Anthropic Messages API on 127.0.0.1 that plays a script of tool calls and
 * records every request. The Bash tool runs cmcs for real (through the plugin's bin/cmcs, i.e. this
 * checkout under deno), and the workers are the stand-in fake-codex.
 *
 * When the npm registry cannot be reached, every test here is reported as ignored and one line
 * says why; the suite never passes without having run.
 */
import assert from "node:assert/strict";
import { delimiter, join } from "node:path";
import { PROJECT_DIR } from "./helpers/cli.ts";
import { testProject } from "./helpers/project.ts";
import { gitIn, tempRepo } from "./helpers/repo.ts";
import { runs } from "./helpers/runs.ts";
import {
  type Block,
  type MockAnthropicServer,
  type RecordedRequest,
  type Reply,
  startMockAnthropicServer,
  textOf,
} from "./real_claude/mock_anthropic_server.ts";
import {
  claudeHome,
  type ClaudeInstall,
  ensureClaude,
  runWithTimeout,
} from "./real_claude/setup.ts";

const PLUGIN_DIR = join(PROJECT_DIR, "plugin");

const INSTALL: ClaudeInstall = await ensureClaude();
if (!INSTALL.ok) {
  console.log(
    `real Claude Code suite skipped: cannot install @anthropic-ai/claude-code: ${INSTALL.reason}`,
  );
}

function realClaudeTest(name: string, fn: (bin: string) => Promise<void>): void {
  Deno.test({
    name: `${name} (claude ${INSTALL.ok ? INSTALL.version : "not installed"})`,
    ignore: !INSTALL.ok,
    fn: () => fn(INSTALL.ok ? INSTALL.bin : ""),
  });
}

/**
 * PATH without any directory holding a `cmcs`, so the Bash tool finds the plugin's launcher,
 * which runs this checkout, never a cmcs installed on the machine.
 */
function pathWithoutCmcs(): string {
  return (Deno.env.get("PATH") ?? "").split(delimiter).filter((dir) => {
    try {
      return !Deno.statSync(join(dir, "cmcs")).isFile;
    } catch {
      return true;
    }
  }).join(delimiter);
}

/** One model turn of a script: its reply, given the request it answers. */
type Step = (request: RecordedRequest) => Block[];

const text = (value: string): Step => () => [{ type: "text", text: value }];
const bash = (command: string, extra: Record<string, unknown> = {}): Step => () => [
  { type: "tool_use", name: "Bash", input: { command, description: "Run cmcs", ...extra } },
];

/** Assistant turns already in the conversation: which step of the script a request is at. */
function stepOf(request: RecordedRequest): number {
  const messages = (request.body?.messages ?? []) as { role: string }[];
  return messages.filter((m) => m.role === "assistant").length;
}

/**
 * The mock's reply function for a script: the main conversation (the requests that offer the
 * Bash tool) follows the steps; any side request (a title, a summary) gets a short text.
 */
function scripted(steps: Step[]): (request: RecordedRequest) => Reply {
  return (request) => {
    if (!request.tools.includes("Bash")) return { blocks: [{ type: "text", text: "ok" }] };
    const step = steps[stepOf(request)];
    return { blocks: step ? step(request) : [{ type: "text", text: "(script ended)" }] };
  };
}

interface Session {
  code: number;
  /** The stream-json lines Claude Code printed. */
  events: Record<string, unknown>[];
  output: string;
}

/** `claude -p PROMPT --output-format stream-json --verbose` in `cwd`, Bash, Skill and Read allowed. */
async function claudeSession(
  bin: string,
  cwd: string,
  prompt: string,
  env: Record<string, string>,
  extraArgs: string[] = ["--plugin-dir", PLUGIN_DIR],
): Promise<Session> {
  const out = await runWithTimeout(
    bin,
    [
      "-p",
      prompt,
      "--output-format",
      "stream-json",
      "--verbose",
      "--allowedTools",
      "Bash,Skill,Read",
      ...extraArgs,
    ],
    180_000,
    { cwd, env: { PATH: pathWithoutCmcs(), ...env } },
  );
  const events = out.stdout.split("\n").filter((l) => l.trim().startsWith("{")).map((l) =>
    JSON.parse(l)
  );
  return { code: out.code, events, output: out.output };
}

/** The system prompt and system messages of the first request: what Claude knows at start. */
function systemTexts(server: MockAnthropicServer): string {
  const first = server.requests.find((r) => r.tools.includes("Bash"));
  assert.ok(first, "Claude Code sent no request with its tools");
  return first.texts.join("\n");
}

/**
 * Prints what every tool call of the conversation returned to the model, in characters: the
 * budget an orchestrator's context pays per cmcs command.
 */
function printCallTable(server: MockAnthropicServer): void {
  const rows: string[] = ["| call | tool | input | chars returned |", "| --- | --- | --- | --- |"];
  const calls = new Map<string, { name: string; input: string }>();
  let n = 0;
  for (const request of server.requests) {
    for (const result of request.toolResults) {
      const call = calls.get(result.toolUseId);
      if (!call) continue;
      rows.push(`| ${++n} | ${call.name} | ${call.input} | ${result.text.length} |`);
    }
    request.reply?.blocks.forEach((block, i) => {
      if (block.type !== "tool_use") return;
      const input = String(block.input.command ?? block.input.file_path ?? "").replace(
        /\/tmp\/\S+\/tasks\//,
        "…/tasks/",
      );
      calls.set(`toolu_mock_${request.index}_${i}`, { name: block.name, input: `\`${input}\`` });
    });
  }
  console.log(rows.join("\n"));
}

realClaudeTest(
  "the plugin loads: its skill and slash commands are listed to the model, and the session-start brief reaches it",
  async (bin) => {
    await using p = await testProject();
    await p.ticket("TICKET-001.md", { title: "Write a note", agent: "codex", done: false });
    assert.equal((await p.cmcs(["run"])).code, 0);
    await using server = startMockAnthropicServer(scripted([text("Noted.")]));
    await using home = await claudeHome(server.baseUrl);

    const session = await claudeSession(bin, p.path, "What is going on?", {
      ...home.env,
      ...p.env,
    });
    assert.equal(session.code, 0, session.output);
    const system = systemTexts(server);
    assert.match(system, /^- cmcs:cmcs: Delegate coding work to OpenAI Codex workers/m);
    assert.match(system, /^- cmcs:status: /m);
    assert.match(system, /^- cmcs:review: /m);
    assert.match(
      system,
      /SessionStart:startup hook success: cmcs \(.*\): 0 running, 1 finished ticket awaiting review, 0 failed runs/,
    );
    assert.match(
      system,
      /finished: TICKET-001 at \. \(run 1\); review: `cmcs result \. TICKET-001`/,
    );
    const brief = /SessionStart:startup hook success: (cmcs \([\s\S]*?)\n\n/.exec(system)?.[1] ??
      "";
    console.log(
      `| context added | chars |\n| --- | --- |\n| SessionStart brief (\`cmcs brief\`) | ${brief.length} |`,
    );
    const init = session.events.find((e) => e.type === "system" && e.subtype === "init") as
      | { plugins: { name: string; path: string }[] }
      | undefined;
    assert.ok(init?.plugins.some((plugin) => plugin.name === "cmcs" && plugin.path === PLUGIN_DIR));

    await using bare = await tempRepo();
    await using quiet = startMockAnthropicServer(scripted([text("Hello.")]));
    const elsewhere = await claudeSession(bin, bare.path, "Hi", {
      ...home.env,
      ANTHROPIC_BASE_URL: quiet.baseUrl,
    });
    assert.equal(elsewhere.code, 0, elsewhere.output);
    assert.doesNotMatch(systemTexts(quiet), /SessionStart:startup hook success: cmcs/);
    assert.match(
      systemTexts(quiet),
      /^- cmcs:status: /m,
      "the plugin is there, only the brief is not",
    );
  },
);

realClaudeTest(
  "the ticket loop runs from the Bash tool: ticket new, run --detach, a background wait that re-invokes the model with its summary, then result",
  async (bin) => {
    await using p = await testProject();
    let notification = "";
    const steps: Step[] = [
      bash('cmcs ticket new --title "Write a note"'),
      bash("cmcs run . --detach"),
      bash("cmcs wait . --timeout 600", { run_in_background: true, timeout: 900_000 }),
      text("The run is going; I will be told when it ends."),
      (request) => {
        notification = request.texts.find((t) => t.includes("<task-notification>")) ?? "";
        const file = /<output-file>([^<]+)<\/output-file>/.exec(notification)?.[1];
        if (!file) return [{ type: "text", text: "no task notification" }];
        return [{ type: "tool_use", name: "Read", input: { file_path: file } }];
      },
      bash("cmcs result . TICKET-001"),
      text("TICKET-001 is done."),
    ];
    await using server = startMockAnthropicServer(scripted(steps));
    await using home = await claudeHome(server.baseUrl);

    const session = await claudeSession(bin, p.path, "Dispatch a ticket.", {
      ...home.env,
      ...p.env,
    });
    printCallTable(server);
    assert.equal(session.code, 0, session.output);

    const results = server.requests.flatMap((r) => r.toolResults.map((t) => t.text));
    assert.match(results[0], /\.cmcs\/tickets\/TICKET-001\.md/);
    assert.match(results[1], /run 1/);
    assert.match(results[2], /running in background/i);
    assert.match(notification, /<status>completed<\/status>/);
    assert.match(notification, /exit code 0/);
    assert.match(results[3], /run 1 \(\.\) completed \(1 done, 0 failed/, "the wait's summary");
    assert.match(results[3], /next: cmcs result \. TICKET-001/);
    assert.match(results[4], /TICKET-001/);
    assert.match(results[4], /\bdone\b/);
    assert.equal(runs(p)[0].status, "completed");
    assert.match(await gitIn(p.path, "log", "-1", "--format=%s"), /^TICKET-001: Write a note/);
  },
);

realClaudeTest(
  "claude plugin marketplace add and plugin install put the plugin into a fresh config, and a session lists it",
  async (bin) => {
    await using server = startMockAnthropicServer(scripted([text("Hello.")]));
    await using home = await claudeHome(server.baseUrl);
    const env = { PATH: pathWithoutCmcs(), ...home.env };
    const added = await runWithTimeout(bin, ["plugin", "marketplace", "add", PROJECT_DIR], 60_000, {
      env,
    });
    assert.equal(added.code, 0, added.output);
    assert.match(added.output, /Successfully added marketplace: cmcs/);
    const installed = await runWithTimeout(bin, ["plugin", "install", "cmcs@cmcs"], 60_000, {
      env,
    });
    assert.equal(installed.code, 0, installed.output);
    const list = await runWithTimeout(bin, ["plugin", "list"], 60_000, { env });
    assert.match(list.output, /cmcs@cmcs[\s\S]*enabled/);

    await using repo = await tempRepo();
    const session = await claudeSession(bin, repo.path, "Hi", home.env, []);
    assert.equal(session.code, 0, session.output);
    assert.match(systemTexts(server), /^- cmcs:status: /m);
    assert.match(systemTexts(server), /^- cmcs:cmcs: /m);
  },
);

realClaudeTest(
  "/cmcs:review and /cmcs:status expand for the model, and the cmcs skill loads through the Skill tool",
  async (bin) => {
    await using p = await testProject();
    await p.ticket("TICKET-001.md", { title: "Write a note", agent: "codex", done: false });
    assert.equal((await p.cmcs(["run"])).code, 0);
    await using server = startMockAnthropicServer(
      scripted([bash("cmcs result . TICKET-001"), text("Accept.")]),
    );
    await using home = await claudeHome(server.baseUrl);
    const env = { ...home.env, ...p.env };

    const review = await claudeSession(bin, p.path, "/cmcs:review TICKET-001", env);
    assert.equal(review.code, 0, review.output);
    const first = server.requests.find((r) => r.tools.includes("Bash"))!;
    const prompt = first.texts.join("\n");
    assert.match(
      prompt,
      /Review the cmcs ticket `TICKET-001`/,
      "the command's text, with its argument",
    );
    assert.match(prompt, /\*\*Send back\*\*/);
    const packet = server.requests.flatMap((r) => r.toolResults)[0];
    assert.match(packet.text, /TICKET-001/);
    printCallTable(server);

    await using statusServer = startMockAnthropicServer(
      scripted([bash("cmcs brief"), text("Idle.")]),
    );
    const status = await claudeSession(bin, p.path, "/cmcs:status", {
      ...env,
      ANTHROPIC_BASE_URL: statusServer.baseUrl,
    });
    assert.equal(status.code, 0, status.output);
    const statusPrompt = statusServer.requests.find((r) => r.tools.includes("Bash"))!.texts.join(
      "\n",
    );
    assert.match(statusPrompt, /Run `cmcs brief` with the Bash tool/);
    assert.match(statusServer.requests.flatMap((r) => r.toolResults)[0].text, /1 finished ticket/);

    await using skillServer = startMockAnthropicServer(scripted([
      () => [{ type: "tool_use", name: "Skill", input: { skill: "cmcs:cmcs" } }],
      text("Loaded."),
    ]));
    const skill = await claudeSession(bin, p.path, "Hand this off to Codex.", {
      ...env,
      ANTHROPIC_BASE_URL: skillServer.baseUrl,
    });
    assert.equal(skill.code, 0, skill.output);
    const loaded = skillServer.requests.at(-1)!.texts.join("\n");
    assert.match(loaded, /# Orchestrating Codex workers with cmcs/);
    assert.match(loaded, /run_in_background: true/);
  },
);

realClaudeTest(
  "the Bash tool still describes the limits the skill's waiting advice is built on",
  async (bin) => {
    await using p = await testProject();
    await using server = startMockAnthropicServer(scripted([text("Hi.")]));
    await using home = await claudeHome(server.baseUrl);
    const session = await claudeSession(bin, p.path, "Hi", { ...home.env, ...p.env });
    assert.equal(session.code, 0, session.output);
    const tools = (server.requests[0].body?.tools ?? []) as { name: string; description: string }[];
    const description = tools.find((t) => t.name === "Bash")?.description ?? "";
    // The skill and CLAUDE-SNIPPET.md say: foreground 2 min by default, 10 at most; background
    // re-invokes the model when the command exits, for up to 2 hours (timeout 7200000).
    assert.match(description, /default 120000, max 600000 for a foreground command/);
    assert.match(
      description,
      /`run_in_background` runs the command detached.*re-invokes you when it exits/,
    );
    assert.match(description, /default 600000, max 7200000/);
  },
);

/** The name Claude Code gives a tool of the plugin's MCP server. */
const MCP = (tool: string) => `mcp__plugin_cmcs_cmcs__${tool}`;

/**
 * Every tool result of a request's conversation, in order: its text, or the names of the tools
 * a ToolSearch result loaded (`tool_reference` blocks). Claude Code may put a system message
 * after the last result, so they are read from the whole conversation.
 */
function conversationResults(
  request: RecordedRequest,
): { id: string; text: string; isError: boolean }[] {
  const messages = (request.body?.messages ?? []) as { role: string; content: unknown }[];
  return messages.filter((m) => m.role === "user" && Array.isArray(m.content)).flatMap((m) =>
    (m.content as Record<string, unknown>[]).filter((b) => b.type === "tool_result").map((b) => ({
      id: String(b.tool_use_id),
      text: Array.isArray(b.content)
        ? (b.content as Record<string, unknown>[]).map((c) =>
          c.type === "tool_reference" ? String(c.tool_name) : textOf([c]).join("")
        ).join("\n")
        : textOf(b.content).join("\n"),
      isError: b.is_error === true,
    }))
  );
}

realClaudeTest(
  "the plugin's MCP server gives Claude typed tools: ticket_new, run, wait and result, found through ToolSearch",
  async (bin) => {
    await using p = await testProject();
    const search: Block = {
      type: "tool_use",
      name: "ToolSearch",
      input: { query: `select:${["ticket_new", "run", "wait", "result"].map(MCP).join(",")}` },
    };
    const call = (tool: string, input: Record<string, unknown>): Block => ({
      type: "tool_use",
      name: MCP(tool),
      input,
    });
    const steps: Block[] = [
      search,
      call("ticket_new", { title: "Write a note", body: "## Goal\n\nA note.\n" }),
      call("run", {}),
      call("wait", { timeout_s: 600 }),
      call("result", { ticket: "TICKET-001" }),
      { type: "text", text: "TICKET-001 is done." },
    ];
    // The server may still be connecting when the session starts: ToolSearch then says so, and
    // the script searches again (a step of the conversation, not a timed wait).
    await using server = startMockAnthropicServer((request) => {
      if (!request.tools.includes("Bash")) return { blocks: [{ type: "text", text: "ok" }] };
      const results = conversationResults(request);
      const retries = results.filter((r) => /still connecting/.test(r.text)).length;
      if (/still connecting/.test(results.at(-1)?.text ?? "") && retries < 100) {
        return { blocks: [search] };
      }
      const step = steps[stepOf(request) - retries];
      return { blocks: [step ?? { type: "text", text: "(script ended)" }] };
    });
    await using home = await claudeHome(server.baseUrl);

    const session = await claudeSession(bin, p.path, "Dispatch a ticket.", {
      ...home.env,
      ...p.env,
    }, ["--plugin-dir", PLUGIN_DIR, "--allowedTools", "mcp__plugin_cmcs_cmcs"]);
    assert.equal(session.code, 0, session.output);

    const last = server.requests.filter((r) => r.tools.includes("Bash")).at(-1)!;
    const results = conversationResults(last).filter((r) => !/still connecting/.test(r.text));
    console.log(
      "| MCP call | chars returned |\n| --- | --- |\n" +
        ["ToolSearch", "ticket_new", "run", "wait", "result"].map((name, i) =>
          `| ${name} | ${results[i]?.text.length} |`
        ).join("\n"),
    );
    assert.equal(results.length, 5, JSON.stringify(results));
    assert.deepEqual(results[0].text.split("\n"), ["ticket_new", "run", "wait", "result"].map(MCP));
    assert.ok(results.every((r) => !r.isError), JSON.stringify(results));
    // Claude Code shows the model the structured content, not the text.
    const [made, started, waited, packet] = results.slice(1).map((r) => JSON.parse(r.text));
    assert.match(made.path, /\.cmcs\/tickets\/TICKET-001\.md$/);
    assert.equal(started.runs[0].run_id, 1);
    assert.equal(waited.runs[0].status, "completed");
    assert.deepEqual(waited.next, ["cmcs result . TICKET-001"]);
    assert.equal(packet.ticket, "TICKET-001");
    assert.equal(packet.outcome, "done");
    assert.equal(runs(p)[0].status, "completed");
  },
);
