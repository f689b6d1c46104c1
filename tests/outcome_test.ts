import assert from "node:assert/strict";
import { CodexStream } from "../src/core/codex_events.ts";
import {
  type AttemptObservation,
  classifyFailure,
  decideOutcome,
  isTransient,
  type OutcomeDecision,
  parseResetTime,
} from "../src/core/outcome.ts";

// The messages the real Codex CLI prints (0.169.0; 0.171.0 names no usage-limit reset time) (../shared/codex/README.md §2 and §4).
const CONTEXT =
  "Codex ran out of room in the model's context window. Start a new thread or clear earlier history before retrying.";
const HIGH_DEMAND = "We’re currently experiencing high demand, which may cause temporary errors.";
const UNAUTHORIZED =
  "unexpected status 401 Unauthorized: Incorrect API key provided, url: http://127.0.0.1:5003/v1/responses";
const QUOTA = "Quota exceeded. Check your plan and billing details.";
const IDLE = "stream disconnected before completion: idle timeout waiting for SSE";
const DROPPED =
  "stream disconnected before completion: Transport error: network error: error decoding response body";
const METADATA_WARNING =
  "Model metadata for `mock-model` not found. Defaulting to fallback metadata; this can degrade performance and cause issues.";
const FULL_AUTO_STDERR = "error: unexpected argument '--full-auto' found\n\n" +
  "  tip: to pass '--full-auto' as a value, use '-- --full-auto'\n\n" +
  "Usage: codex exec [OPTIONS] [PROMPT]\n\nFor more information, try '--help'.\n";
const STDERR_NOISE = "Reading additional input from stdin...\n" +
  "WARNING: could not find bubblewrap on PATH; will use the bundled bubblewrap\n" +
  "2026-11-13T10:00:00.123456Z ERROR codex_core::session: failed to record rollout items: thread 01a2 not found\n";

/** A stream as Codex writes it for a failed turn: warning item, `error`, then `turn.failed`. */
function failedTurn(message: string): CodexStream {
  const stream = new CodexStream();
  for (
    const event of [
      { type: "thread.started", thread_id: "01a20aea-352e-7ee2-a6b1-9666c2f90f6c" },
      { type: "item.completed", item: { id: "item_0", type: "error", message: METADATA_WARNING } },
      { type: "turn.started" },
      { type: "error", message },
      { type: "turn.failed", error: { message } },
    ]
  ) stream.push(JSON.stringify(event));
  return stream;
}

function classifyTurn(message: string, stderrTail = "") {
  return classifyFailure({ exitCode: 1, signal: null, stream: failedTurn(message), stderrTail });
}

Deno.test("classifyFailure() reports Codex's context-window message as context_limit", () => {
  assert.deepEqual(classifyTurn(CONTEXT), {
    outcome: "context_limit",
    message: CONTEXT,
    transient: false,
    resetsAt: null,
  });
  assert.equal(classifyTurn("context_length_exceeded: too long").outcome, "context_limit");
});

Deno.test("classifyFailure() reports a 401 as auth even though its URL has a 5xx-like port", () => {
  const result = classifyTurn(UNAUTHORIZED);
  assert.equal(result.outcome, "auth");
  assert.equal(result.message, UNAUTHORIZED);
  assert.equal(result.transient, false);
  assert.equal(classifyTurn("unexpected status 403 Forbidden: nope").outcome, "auth");
});

Deno.test("classifyFailure() reports an exhausted quota as usage_limit without a reset time", () => {
  assert.deepEqual(classifyTurn(QUOTA), {
    outcome: "usage_limit",
    message: QUOTA,
    transient: false,
    resetsAt: null,
  });
  assert.equal(
    classifyTurn("exceeded retry limit, last status: 429 Too Many Requests").outcome,
    "usage_limit",
  );
});

Deno.test("classifyFailure() reads when a usage limit resets and keeps Codex's wording", () => {
  const now = new Date("2026-11-14T10:00:00Z");
  const message = "You've hit your usage limit. Try again in 2 hours 5 minutes.";
  const result = classifyFailure({
    exitCode: 1,
    signal: null,
    stream: failedTurn(message),
    stderrTail: "",
    now,
  });
  assert.equal(result.outcome, "usage_limit");
  assert.equal(result.message, message);
  assert.equal(result.resetsAt, "2026-11-14T12:05:00.000Z");
});

Deno.test("parseResetTime() understands the forms Codex uses for reset times", () => {
  const now = new Date(2026, 10, 14, 10, 0, 0); // local 10:00
  assert.equal(
    parseResetTime("You've hit your usage limit. Try again at 3:05 PM.", now),
    new Date(2026, 10, 14, 15, 5, 0).toISOString(),
  );
  assert.equal(
    parseResetTime("limit reached, try again at 9:30 am", now),
    new Date(2026, 10, 15, 9, 30, 0).toISOString(),
    "a time of day already past means tomorrow",
  );
  assert.equal(
    parseResetTime("Rate limit reached; resets at 2026-11-14T15:05:00Z", now),
    "2026-11-14T15:05:00.000Z",
  );
  assert.equal(
    parseResetTime("usage limit. Try again at Nov 16th, 2026 3:05 PM.", now),
    new Date(2026, 10, 16, 15, 5, 0).toISOString(),
  );
  assert.equal(
    parseResetTime("Try again in 1 day 3h", now),
    new Date(now.getTime() + 27 * 3600_000).toISOString(),
  );
  assert.equal(parseResetTime(QUOTA, now), null);
  assert.equal(parseResetTime("Try again at some point.", now), null);
});

Deno.test("classifyFailure() marks server errors and dropped streams as transient worker_failed", () => {
  for (const message of [HIGH_DEMAND, IDLE, DROPPED, "unexpected status 503 Service Unavailable"]) {
    assert.deepEqual(classifyTurn(message), {
      outcome: "worker_failed",
      message,
      transient: true,
      resetsAt: null,
    }, message);
  }
  assert.equal(isTransient(HIGH_DEMAND), true);
  assert.equal(isTransient("unexpected status 502 Bad Gateway"), true);
  assert.equal(isTransient(CONTEXT), false);
  assert.equal(isTransient(UNAUTHORIZED), false);
  assert.equal(isTransient(QUOTA), false);
});

Deno.test("classifyFailure() explains exit code 2 as a rejected command-line flag", () => {
  const result = classifyFailure({
    exitCode: 2,
    signal: null,
    stream: new CodexStream(),
    stderrTail: FULL_AUTO_STDERR,
  });
  assert.equal(result.outcome, "worker_failed");
  assert.equal(result.transient, false);
  assert.match(result.message, /rejected a command-line flag/);
  assert.match(result.message, /error: unexpected argument '--full-auto' found/);
  assert.match(result.message, /codex --version/);
  assert.match(result.message, /codex\.extra_args/);
  assert.doesNotMatch(result.message, /Usage:|tip:/);
});

Deno.test("classifyFailure() uses the stderr error line when the turn never started", () => {
  const trust = "Not inside a trusted directory and --skip-git-repo-check was not specified.";
  assert.deepEqual(
    classifyFailure({
      exitCode: 1,
      signal: null,
      stream: new CodexStream(),
      stderrTail: `Reading prompt from stdin...\n${trust}\n`,
    }),
    { outcome: "worker_failed", message: trust, transient: false, resetsAt: null },
  );
  const resume = classifyFailure({
    exitCode: 1,
    signal: null,
    stream: new CodexStream(),
    stderrTail: "Error: thread/resume: thread/resume failed: no rollout found for thread id 0199 " +
      "(code -32600)\nStack backtrace:\n   0: codex::main\n   1: std::rt::lang_start\n",
  });
  assert.equal(
    resume.message,
    "Error: thread/resume: thread/resume failed: no rollout found for thread id 0199 (code -32600)",
  );
  const config = classifyFailure({
    exitCode: 1,
    signal: null,
    stream: new CodexStream(),
    stderrTail: 'approval_policy = "untrusted" is no longer supported\n',
  });
  assert.equal(config.outcome, "worker_failed");
  assert.equal(config.message, 'approval_policy = "untrusted" is no longer supported');
});

Deno.test("classifyFailure() ignores stderr noise and warning items", () => {
  const stream = new CodexStream();
  stream.push(JSON.stringify({ type: "thread.started", thread_id: "t" }));
  stream.push(JSON.stringify({
    type: "item.completed",
    item: { id: "item_0", type: "error", message: METADATA_WARNING },
  }));
  assert.deepEqual(
    classifyFailure({ exitCode: 1, signal: null, stream, stderrTail: STDERR_NOISE }),
    {
      outcome: "worker_failed",
      message: "codex exited with code 1",
      transient: false,
      resetsAt: null,
    },
  );
  assert.equal(
    classifyFailure({ exitCode: null, signal: "SIGTERM", stream, stderrTail: STDERR_NOISE })
      .message,
    "codex was killed by SIGTERM",
  );
  assert.match(
    classifyFailure({ exitCode: 0, signal: null, stream, stderrTail: "" }).message,
    /without completing its turn/,
  );
});

Deno.test("classifyFailure() recognises auth problems reported on stderr before the turn", () => {
  const result = classifyFailure({
    exitCode: 1,
    signal: null,
    stream: new CodexStream(),
    stderrTail: "Error: Not logged in. Run `codex login` or set OPENAI_API_KEY.\n",
  });
  assert.equal(result.outcome, "auth");
  assert.equal(result.message, "Error: Not logged in. Run `codex login` or set OPENAI_API_KEY.");
});

Deno.test("classifyFailure() keeps terminal escapes out of its message", () => {
  const result = classifyTurn("\x1b[31mboom\x1b[0m\nsecond line");
  assert.equal(result.message, "boom second line");
});

/** What an attempt observed when nothing went wrong; each case changes what it is about. */
function observed(change: Partial<AttemptObservation> = {}): AttemptObservation {
  return {
    spawnError: null,
    stop: null,
    exitCode: 0,
    signal: null,
    stream: new CodexStream(),
    stderrTail: "",
    ticketFile: "TICKET-001.md",
    ticketAfter: { state: "done" },
    commitFailure: null,
    ...change,
  };
}

const DECISIONS: [string, Partial<AttemptObservation>, Partial<OutcomeDecision>][] = [
  ["a clean exit with the ticket marked done is done", {}, { outcome: "done", message: null }],
  [
    "a clean exit with the ticket still open is not_marked_done",
    { ticketAfter: { state: "open" } },
    {
      outcome: "not_marked_done",
      message:
        "codex exited 0 but TICKET-001.md is not marked `done: true` (the work may be incomplete)",
    },
  ],
  [
    "a clean exit that left the ticket malformed names its line",
    { ticketAfter: { state: "malformed", file: "TICKET-001.md", line: 3, problem: "bad YAML" } },
    {
      outcome: "not_marked_done",
      message: "codex exited 0 but left TICKET-001.md malformed: line 3: bad YAML",
    },
  ],
  [
    "a clean exit that deleted the ticket says it is gone",
    { ticketAfter: { state: "gone", path: "/t/.cmcs/tickets/TICKET-001.md" } },
    {
      outcome: "not_marked_done",
      message: "the ticket file /t/.cmcs/tickets/TICKET-001.md is gone after the worker ran",
    },
  ],
  [
    "done work whose auto-commit failed is commit_failed with the commit's reason",
    { commitFailure: "auto-commit failed, changes left uncommitted: hook said no" },
    {
      outcome: "commit_failed",
      message: "auto-commit failed, changes left uncommitted: hook said no",
      transient: false,
    },
  ],
  [
    "a worker that could not start is spawn_error, whatever else was seen",
    { spawnError: "codex not found", exitCode: null, ticketAfter: null },
    { outcome: "spawn_error", message: "codex not found" },
  ],
  [
    "a stop wins over a ticket the worker already marked done",
    { stop: { reason: "stopped", message: "stopped by cmcs stop" }, exitCode: null },
    { outcome: "stopped", message: "stopped by cmcs stop", transient: false },
  ],
  [
    "a total timeout that fired is timeout_total",
    { stop: { reason: "timeout_total", message: "timed out after 60s" }, signal: "SIGTERM" },
    { outcome: "timeout_total", message: "timed out after 60s" },
  ],
  [
    "an idle timeout that fired is timeout_idle",
    { stop: { reason: "timeout_idle", message: "no output for 30s" }, exitCode: 1 },
    { outcome: "timeout_idle", message: "no output for 30s" },
  ],
  [
    "a failed turn with a server error is a transient worker_failed",
    { exitCode: 1, stream: failedTurn(HIGH_DEMAND), ticketAfter: { state: "open" } },
    { outcome: "worker_failed", message: HIGH_DEMAND, transient: true, resetsAt: null },
  ],
  [
    "a failed turn that ran out of context is context_limit even with the ticket marked done",
    { exitCode: 1, stream: failedTurn(CONTEXT) },
    { outcome: "context_limit", message: CONTEXT, transient: false },
  ],
  [
    "a worker killed by a signal says so",
    { exitCode: null, signal: "SIGKILL", ticketAfter: { state: "open" } },
    { outcome: "worker_failed", message: "codex was killed by SIGKILL", transient: false },
  ],
];

for (const [name, change, expected] of DECISIONS) {
  Deno.test(`decideOutcome(): ${name}`, () => {
    const decision = decideOutcome(observed(change));
    for (const [key, value] of Object.entries(expected)) {
      assert.deepEqual(decision[key as keyof OutcomeDecision], value, key);
    }
  });
}

Deno.test("decideOutcome(): a usage limit carries its reset time, read against the observation's clock", () => {
  const now = new Date("2026-11-14T12:00:00Z");
  const decision = decideOutcome(observed({
    exitCode: 1,
    stream: failedTurn("You've hit your usage limit. Try again in 2 hours."),
    now,
  }));
  assert.equal(decision.outcome, "usage_limit");
  assert.equal(decision.transient, false);
  assert.equal(decision.resetsAt, "2026-11-14T14:00:00.000Z");
});
