/**
 * A real project for the dashboard tests: a git repository with tickets (one with a hostile
 * title, one malformed), a SQLite database holding a run in every status with attempts, events,
 * real commits (so diffs exist) and real log files, and a running run whose "broker" is this test
 * process (alive, so orphan recovery leaves it running).
 */
import { join } from "node:path";
import { finishAttempt, setAttemptChanges, startAttempt } from "../../src/core/db/attempts.ts";
import { Database } from "../../src/core/db/database.ts";
import { recordEvent } from "../../src/core/db/events.ts";
import { createRun, finishRun, setRunWorker } from "../../src/core/db/runs.ts";
import type { RunStatus } from "../../src/core/db/types.ts";
import { archiveWorktree, registerWorktree } from "../../src/core/db/worktrees.ts";
import { processStartToken } from "../../src/core/process_identity.ts";
import { type Project, projectAt } from "../../src/core/project.ts";
import { createApp } from "../../routes/_app.tsx";
import type { DashboardOptions } from "../../src/dashboard/context.ts";
import { gitIn, tempRepo } from "./repo.ts";

/** Text that would run script if any page rendered it unescaped. */
export const XSS_TITLE = `<script>alert("title")</script> Greet & <b>wave</b>`;
export const XSS_MESSAGE = `Finished <img src=x onerror=alert("msg")> "quoted" & done`;

export const TOKEN = "test-token-0123456789abcdef";
export const PORT = 4173;
export const ORIGIN = `http://127.0.0.1:${PORT}`;

export interface FixtureOptions {
  /** The repository directory's name (default: a random temporary name). */
  name?: string;
  /** Ordinary titles and messages instead of hostile ones (for screenshots). */
  plain?: boolean;
}

export interface DashboardFixture extends AsyncDisposable {
  root: string;
  project: Project;
  db: Database;
  /** Run ids by status (the running one last). */
  runs: Record<RunStatus, number>;
  /** The completed run's attempt (with a diff and a log) and the running run's open attempt. */
  doneAttempt: number;
  openAttempt: number;
  /** The running attempt's `codex.jsonl`, to append to while a test watches. */
  openLog: string;
  /** A registered, archived worktree that is not the root. */
  archived: string;
  /** The dashboard app over this fixture (Host checks on port {@link PORT}). */
  app(options?: Partial<DashboardOptions>): ReturnType<typeof createApp>;
  /** `app().fetch` of `path` from the dashboard's own origin. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

const EVENTS_DONE = [
  { type: "thread.started", thread_id: "thread-1" },
  { type: "turn.started" },
  {
    type: "item.completed",
    item: { id: "i0", type: "agent_message", text: "I will add the greeting <b>now</b>." },
  },
  {
    type: "item.started",
    item: {
      id: "i1",
      type: "command_execution",
      command: "/bin/bash -lc 'cat README.md'",
      aggregated_output: "",
      exit_code: null,
      status: "in_progress",
    },
  },
  {
    type: "item.completed",
    item: {
      id: "i1",
      type: "command_execution",
      command: "/bin/bash -lc 'cat README.md'",
      aggregated_output: "# test repo\n",
      exit_code: 0,
      status: "completed",
    },
  },
  {
    type: "item.completed",
    item: {
      id: "i2",
      type: "file_change",
      changes: [{ path: "greet.txt", kind: "add" }],
      status: "completed",
    },
  },
  { type: "item.completed", item: { id: "i3", type: "agent_message", text: "Added greet.txt." } },
  {
    type: "turn.completed",
    usage: { input_tokens: 12400, cached_input_tokens: 3000, output_tokens: 850 },
  },
];

/** A repository like tempRepo's, but in a directory called `name` inside a temporary one. */
async function namedRepo(name: string): Promise<{ path: string } & AsyncDisposable> {
  const parent = await Deno.realPath(await Deno.makeTempDir({ prefix: "cmcs-dash-" }));
  const path = join(parent, name);
  await Deno.mkdir(path);
  await gitIn(path, "init", "-q", "-b", "main");
  await gitIn(path, "config", "user.name", "cmcs test");
  await gitIn(path, "config", "user.email", "test@cmcs.invalid");
  await gitIn(path, "config", "commit.gpgsign", "false");
  await Deno.writeTextFile(join(path, "README.md"), "# test repo\n");
  await gitIn(path, "add", "README.md");
  await gitIn(path, "commit", "-q", "-m", "initial");
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(parent, { recursive: true }).catch(() => {});
    },
  };
}

function jsonl(events: unknown[]): string {
  return events.map((e) => JSON.stringify(e)).join("\n") + "\n";
}

/** Builds the fixture; dispose it (`await using`) to close the database and delete the repo. */
export async function dashboardFixture(options: FixtureOptions = {}): Promise<DashboardFixture> {
  const repo = options.name ? await namedRepo(options.name) : await tempRepo("cmcs-dash-");
  const root = repo.path;
  const title = options.plain ? "Add a greeting file and rename the README" : XSS_TITLE;
  const finalMessage = options.plain
    ? "Added greet.txt with a greeting and renamed the README heading to “greeting repo”.\nAll checks pass."
    : XSS_MESSAGE;
  const project = projectAt(root, true);
  const tickets = join(root, ".cmcs/tickets");
  await Deno.mkdir(tickets, { recursive: true });
  await Deno.writeTextFile(join(root, ".gitignore"), ".cmcs/\n");
  await Deno.writeTextFile(
    join(tickets, "TICKET-001.md"),
    `---\ntitle: ${JSON.stringify(title)}\ndone: true\nmodel: gpt-5-codex\n---\n\nAdd greet.txt.\n`,
  );
  await Deno.writeTextFile(
    join(tickets, "TICKET-002.md"),
    `---\ntitle: "Second ticket"\ndone: false\n---\n\nDo more.\n`,
  );
  await Deno.writeTextFile(join(tickets, "TICKET-010.md"), `---\ndone: maybe\n---\nbad\n`);

  await gitIn(root, "add", ".gitignore");
  await gitIn(root, "commit", "-q", "-m", "ignore .cmcs");
  const base = (await gitIn(root, "rev-parse", "HEAD")).trim();
  await Deno.writeTextFile(
    join(root, "greet.txt"),
    options.plain
      ? "hello\nwelcome to the greeting repo\n"
      : "hello\n<script>alert('diff')</script>\n",
  );
  await Deno.writeTextFile(join(root, "README.md"), "# greeting repo\n");
  await gitIn(root, "add", "-A");
  await gitIn(root, "commit", "-q", "-m", "TICKET-001: greet");
  const head = (await gitIn(root, "rev-parse", "HEAD")).trim();

  const db = Database.open(project.dbPath);
  registerWorktree(db, root, "main");
  const archived = join(root, "worktrees", "old-spike");
  registerWorktree(db, archived, "old-spike");
  archiveWorktree(db, archived);

  const dead = { pid: 2_000_000_000, start: null };
  const runs = {} as Record<RunStatus, number>;
  const writeLog = async (logDir: string, text: string) => {
    await Deno.mkdir(join(project.logsDir, logDir), { recursive: true });
    const path = join(project.logsDir, logDir, "codex.jsonl");
    await Deno.writeTextFile(path, text);
    return path;
  };

  // completed: one ticket done with a commit, a log and a hostile final message.
  const completed = createRun(db, root, dead);
  runs.completed = completed.id;
  recordEvent(db, { runId: completed.id, event: "run_started" });
  const doneLogDir = `${completed.id}/TICKET-001.1`;
  await writeLog(doneLogDir, jsonl(EVENTS_DONE));
  const done = startAttempt(db, {
    runId: completed.id,
    ticket: "TICKET-001",
    title,
    kind: "first",
    model: "gpt-5-codex",
    reasoningEffort: "high",
    commitBefore: base,
    logDir: doneLogDir,
  });
  recordEvent(db, {
    runId: completed.id,
    event: "started",
    ticket: "TICKET-001",
    model: "gpt-5-codex",
    attemptId: done.id,
  });
  finishAttempt(db, done.id, {
    outcome: "done",
    message: null,
    exitCode: 0,
    signal: null,
    threadId: "thread-1",
    usage: {
      input_tokens: 12400,
      cached_input_tokens: 3000,
      output_tokens: 850,
      reasoning_output_tokens: 120,
    },
    finalMessage,
    resetsAt: null,
  });
  setAttemptChanges(db, done.id, {
    commitAfter: head,
    files: [{ path: "greet.txt", added: 2, removed: 0 }, {
      path: "README.md",
      added: 1,
      removed: 1,
    }],
  });
  recordEvent(db, {
    runId: completed.id,
    event: "completed",
    ticket: "TICKET-001",
    model: "gpt-5-codex",
    attemptId: done.id,
    outcome: "done",
    exitCode: 0,
    durationS: 42.5,
    message: finalMessage,
  });
  recordEvent(db, { runId: completed.id, event: "committed", ticket: "TICKET-001" });
  finishRun(db, completed.id, "completed");
  recordEvent(db, { runId: completed.id, event: "run_finished", outcome: "completed" });

  // failed, stopped, interrupted: one attempt each.
  for (
    const [status, outcome] of [
      ["failed", "worker_failed"],
      ["stopped", "stopped"],
      ["interrupted", "worker_failed"],
    ] as const
  ) {
    const run = createRun(db, root, dead);
    runs[status] = run.id;
    recordEvent(db, { runId: run.id, event: "run_started" });
    const logDir = `${run.id}/TICKET-002.1`;
    await writeLog(logDir, jsonl([{ type: "error", message: `worker ${status}` }]));
    const attempt = startAttempt(db, {
      runId: run.id,
      ticket: "TICKET-002",
      title: "Second ticket",
      kind: "first",
      model: "gpt-5",
      reasoningEffort: null,
      commitBefore: head,
      logDir,
    });
    recordEvent(db, {
      runId: run.id,
      event: "started",
      ticket: "TICKET-002",
      attemptId: attempt.id,
    });
    finishAttempt(db, attempt.id, {
      outcome,
      message: `the worker ${status}`,
      exitCode: status === "failed" ? 1 : null,
      signal: null,
      threadId: null,
      usage: null,
      finalMessage: null,
      resetsAt: null,
    });
    recordEvent(db, {
      runId: run.id,
      event: "failed",
      ticket: "TICKET-002",
      attemptId: attempt.id,
      outcome,
      message: `the worker ${status}`,
    });
    finishRun(db, run.id, status, `run ${status}`);
    recordEvent(db, { runId: run.id, event: "run_finished", outcome: status });
  }

  // running: its broker is this test process, so it counts as alive.
  const running = createRun(db, root, { pid: Deno.pid, start: processStartToken(Deno.pid) });
  runs.running = running.id;
  recordEvent(db, { runId: running.id, event: "run_started" });
  const openLogDir = `${running.id}/TICKET-002.1`;
  const openLog = await writeLog(
    openLogDir,
    jsonl([
      { type: "thread.started", thread_id: "thread-2" },
      { type: "item.completed", item: { id: "a", type: "agent_message", text: "Working on it." } },
    ]),
  );
  const open = startAttempt(db, {
    runId: running.id,
    ticket: "TICKET-002",
    title: "Second ticket",
    kind: "first",
    model: "gpt-5-codex",
    reasoningEffort: "medium",
    commitBefore: head,
    logDir: openLogDir,
  });
  setRunWorker(db, running.id, null, "TICKET-002");
  recordEvent(db, {
    runId: running.id,
    event: "started",
    ticket: "TICKET-002",
    model: "gpt-5-codex",
    attemptId: open.id,
  });

  const app = (options: Partial<DashboardOptions> = {}) =>
    createApp({ project, db, token: TOKEN, port: PORT, pollMs: 20, ...options });
  const defaultApp = app();
  return {
    root,
    project,
    db,
    runs,
    doneAttempt: done.id,
    openAttempt: open.id,
    openLog,
    archived,
    app,
    fetch: async (path, init) => await defaultApp.fetch(new Request(`${ORIGIN}${path}`, init)),
    async [Symbol.asyncDispose]() {
      db.close();
      await repo[Symbol.asyncDispose]();
    },
  };
}
