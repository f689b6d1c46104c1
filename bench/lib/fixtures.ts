/** The benchmark's own repositories, projects and histories, built in a temp dir. */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { stringify } from "yaml";
import { cmcsOk, git, INSTANT_CODEX } from "./proc.ts";

/** A fresh temp dir (real path) for everything one benchmark run builds. */
export async function tempRoot(): Promise<string> {
  return await Deno.realPath(await Deno.makeTempDir({ prefix: "cmcs-bench-" }));
}

/** A git repository on `main` with one commit and an identity of its own (cmcs commits in it). */
export async function newRepo(dir: string): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  await git(dir, "init", "-q", "-b", "main");
  await git(dir, "config", "user.name", "cmcs bench");
  await git(dir, "config", "user.email", "bench@cmcs.invalid");
  await git(dir, "config", "commit.gpgsign", "false");
  await Deno.writeTextFile(join(dir, "README.md"), "# bench repo\n");
  await git(dir, "add", "README.md");
  await git(dir, "commit", "-q", "-m", "initial");
  return await Deno.realPath(dir);
}

/** The text of ticket `n`: open, for Codex, with a short body. */
export function ticketText(n: number): string {
  return `---\ntitle: bench ticket ${n}\nagent: codex\ndone: false\n---\n\n## Goal\n\n` +
    `Benchmark ticket ${n}: the instant worker marks it done.\n`;
}

export function ticketName(n: number): string {
  return `TICKET-${String(n).padStart(3, "0")}.md`;
}

/**
 * A repository with cmcs initialized, `config` written to `.cmcs/config.yml` (codex.command is the
 * instant worker unless `config` says otherwise) and `tickets` open tickets, all committed.
 */
export async function newProject(
  dir: string,
  config: Record<string, Record<string, unknown>>,
  tickets: number,
): Promise<string> {
  const root = await newRepo(dir);
  await cmcsOk(["init"], { cwd: root });
  const full = { ...config, codex: { command: INSTANT_CODEX, ...config.codex } };
  await Deno.writeTextFile(join(root, ".cmcs/config.yml"), stringify(full));
  for (let i = 1; i <= tickets; i++) {
    await Deno.writeTextFile(join(root, ".cmcs/tickets", ticketName(i)), ticketText(i));
  }
  await git(root, "add", "-A");
  await git(root, "commit", "-q", "-m", "cmcs init and tickets");
  return root;
}

/**
 * Writes a finished history of `runs` runs straight into a cmcs database (the schema cmcs itself
 * created): spread over `targets`, one attempt per run and five events per run (run_started,
 * started, completed or failed, committed or warning, run_finished), in one transaction.
 */
export function fillHistory(dbPath: string, runs: number, targets: string[]): void {
  const db = new DatabaseSync(dbPath);
  try {
    db.exec("PRAGMA busy_timeout = 10000");
    db.exec("BEGIN IMMEDIATE");
    const base = Date.now() - runs * 60_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    const addTarget = db.prepare(
      `INSERT OR IGNORE INTO worktrees (path, branch, created_at, status) VALUES (?, ?, ?, 'active')`,
    );
    targets.forEach((t, i) => addTarget.run(t, `bench-${i}`, iso(base)));
    const addRun = db.prepare(
      `INSERT INTO runs (worktree, started_at, finished_at, status, broker_pid, broker_start, message, options)
       VALUES (?, ?, ?, ?, ?, ?, ?, '{}')`,
    );
    const addAttempt = db.prepare(
      `INSERT INTO attempts (run_id, ticket, title, number, kind, model, started_at, finished_at,
         duration_s, outcome, message, exit_code, worker_pid, worker_start, process_token, thread_id,
         input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, commit_before,
         commit_after, files_changed, final_message, log_dir)
       VALUES (?, ?, ?, 1, 'first', 'gpt-bench', ?, ?, 42.5, ?, ?, ?, 4242, '1234', ?, ?, 12000,
         3000, 800, 200, ?, ?, ?, 'Done.', ?)`,
    );
    const addEvent = db.prepare(
      `INSERT INTO events (run_id, ticket, model, event, exit_code, duration_s, timestamp, attempt_id, outcome, message)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (let i = 0; i < runs; i++) {
      const target = targets[i % targets.length];
      const start = base + i * 60_000;
      const end = start + 45_000;
      const failed = i % 10 === 9;
      const ticket = ticketName((i % 50) + 1);
      const runId = Number(
        addRun.run(
          target,
          iso(start),
          iso(end),
          failed ? "failed" : "completed",
          100000 + i,
          "1",
          failed ? `${ticket.replace(".md", "")}: worker_failed` : null,
        ).lastInsertRowid,
      );
      const sha = (runId * 2654435761 % 2 ** 32).toString(16).padStart(8, "0").repeat(5);
      const attemptId = Number(
        addAttempt.run(
          runId,
          ticket.replace(".md", ""),
          `bench ticket ${i}`,
          iso(start + 100),
          iso(end - 100),
          failed ? "worker_failed" : "done",
          failed ? "codex exited with code 1" : null,
          failed ? 1 : 0,
          crypto.randomUUID(),
          crypto.randomUUID(),
          sha,
          failed ? null : sha.split("").reverse().join(""),
          JSON.stringify([{ path: "src/app.ts", added: 12, removed: 3 }]),
          `${runId}/${ticket.replace(".md", "")}.1`,
        ).lastInsertRowid,
      );
      const event = (name: string, ms: number, extra: unknown[] = [null, null, null, null]) =>
        addEvent.run(
          runId,
          name === "run_started" || name === "run_finished" ? "" : ticket,
          null,
          name,
          extra[0] as number | null,
          extra[1] as number | null,
          iso(ms),
          attemptId,
          extra[2] as string | null,
          extra[3] as string | null,
        );
      event("run_started", start);
      event("started", start + 100);
      event(failed ? "failed" : "completed", end - 100, [
        failed ? 1 : 0,
        42.5,
        failed ? "worker_failed" : "done",
        null,
      ]);
      event(failed ? "warning" : "committed", end - 50, [
        null,
        null,
        null,
        failed ? "processes still alive" : sha,
      ]);
      event("run_finished", end, [null, null, failed ? "failed" : "completed", null]);
    }
    db.exec("COMMIT");
  } finally {
    db.close();
  }
}

/** Rows of each table (to check the history and that no event was lost). */
export function countRows(dbPath: string, sql: string, ...params: (string | number)[]): number {
  const db = new DatabaseSync(dbPath, { readOnly: true });
  try {
    const row = db.prepare(sql).get(...params) as Record<string, number> | undefined;
    return Number(row ? Object.values(row)[0] : 0);
  } finally {
    db.close();
  }
}
