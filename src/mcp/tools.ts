/**
 * The tools `cmcs mcp` serves. Each is one cmcs command, called in-process through the same
 * report function the command line prints (`src/commands/<name>.ts`), so the text a tool returns
 * is the command's text and its structured content is the command's `--json` document.
 *
 * Arguments mirror the command's own (a path argument is `path`, `--ticket` is `ticket`, …); every
 * input schema is strict, so a misspelt argument is an error naming it rather than ignored.
 */
import { z } from "zod";
import type { Report } from "../cli/report.ts";

/** What a tool gets besides its arguments. */
export interface ToolContext {
  /** Turns a path argument into a target inside the served repository, or throws. */
  confine: (path: string) => Promise<string>;
  /** Aborted when the client cancels the call. */
  signal: AbortSignal;
  /** Sends a progress notification when the client asked for them; a no-op otherwise. */
  progress: (progress: number, message: string, total?: number) => void;
}

export interface Tool {
  name: string;
  description: string;
  input: z.ZodObject;
  output: z.ZodType;
  /** True when the tool changes nothing (a hint for clients that ask before calling others). */
  readOnly: boolean;
  /**
   * The structured content: the command's `--json` document cut down to what its text shows
   * (same field names, same nesting). Claude Code shows the model this JSON instead of the
   * text, so it must not cost more context than the text does.
   */
  lean?: (data: never) => unknown;
  call: (args: Record<string, unknown>, ctx: ToolContext) => Promise<Report>;
}

const EFFORTS = ["low", "medium", "high", "xhigh"] as const;

/** Largest `diff` text returned unless `max_chars` says otherwise. */
export const DIFF_MAX_CHARS = 20_000;

const path = z.string().min(1).optional().describe(
  "repository or worktree (default: the checkout the server was started in)",
);
const targets = z.array(z.string().min(1)).optional().describe(
  "repositories or worktrees (default: the checkout the server was started in)",
);
const ticket = z.string().min(1).describe("a ticket: TICKET-002, 2 or the file name");

/** Objects the command's JSON may extend; only the fields a caller relies on are declared. */
const loose = <T extends z.ZodRawShape>(shape: T) => z.looseObject(shape);

/**
 * A run as `status` and `wait` give it. Only the id and status are required: `status --json`
 * leaves empty fields out and names the running ticket `ticket`, `wait --json` has the whole run
 * summary (`current_ticket`, null fields included).
 */
const runSummary = loose({
  id: z.number().nullable(),
  status: z.string(),
});

async function confineAll(ctx: ToolContext, paths: string[] | undefined): Promise<string[]> {
  return await Promise.all((paths ?? []).map((p) => ctx.confine(p)));
}

type Json = Record<string, unknown>;

/** The fields of `value` named in `keys`, in that order. */
function pick(value: Json, keys: string[]): Json {
  return Object.fromEntries(keys.filter((k) => k in value).map((k) => [k, value[k]]));
}

/**
 * A run summary of `wait --json` as its text shows it: no pids, only the token total. (`status
 * --json` is lean already and is returned whole.)
 */
function leanRun(run: Json): Json {
  return {
    ...pick(run, ["id", "target", "status", "current_ticket", "tickets", "duration_s"]),
    tokens: { total: (run.tokens as Json | undefined)?.total ?? 0 },
    ...pick(run, ["started_at", "message"]),
  };
}

/** Every tool, in the order `tools/list` shows them. */
export const TOOLS: Tool[] = [
  {
    name: "ticket_new",
    description: "Write the next-numbered ticket of a target and return its path " +
      "(cmcs ticket new). The body is the ticket's markdown after the front matter " +
      "(## Goal, ## Task, ## Acceptance Criteria); without it the template's placeholders.",
    input: z.strictObject({
      title: z.string().describe("the ticket's title (one line)"),
      body: z.string().optional().describe("the ticket's markdown body"),
      model: z.string().optional().describe("Codex model for this ticket"),
      effort: z.enum(EFFORTS).optional().describe("reasoning effort for this ticket"),
      path,
    }),
    output: loose({ path: z.string(), id: z.string() }),
    readOnly: false,
    lean: (d: Json) => pick(d, ["path", "id"]),
    call: async (a, ctx) => {
      const { ticketNewReport } = await import("../commands/ticket_new.ts");
      return await ticketNewReport(await ctx.confine(a.path as string ?? "."), {
        title: a.title as string,
        body: a.body as string | undefined,
        model: a.model as string | undefined,
        effort: a.effort as (typeof EFFORTS)[number] | undefined,
      });
    },
  },
  {
    name: "ticket_validate",
    description:
      "Check every ticket of a target: OK and its title, or each problem with its line " +
      "(cmcs ticket validate). A malformed ticket is never dispatched.",
    input: z.strictObject({ path }),
    output: loose({
      tickets_dir: z.string(),
      tickets: z.array(loose({ file: z.string(), ok: z.boolean() })),
      problems: z.number(),
    }),
    readOnly: true,
    lean: (d: Json) => ({
      tickets_dir: d.tickets_dir,
      tickets: (d.tickets as Json[]).map((t) =>
        pick(t, ["file", "ok", "title", "done", ...(t.ok ? [] : ["problems"])])
      ),
      problems: d.problems,
    }),
    call: async (a, ctx) => {
      const { ticketValidateReport } = await import("../commands/ticket_validate.ts");
      return await ticketValidateReport(await ctx.confine(a.path as string ?? "."));
    },
  },
  {
    name: "run",
    description: "Start running the targets' open tickets through Codex in a background broker " +
      "and return the run ids at once (cmcs run --detach). Wait for them with the wait tool.",
    input: z.strictObject({
      targets,
      all: z.boolean().optional().describe(
        "every registered target (main checkout and worktrees) with a ticket to run",
      ),
    }),
    output: loose({
      broker_pid: z.number().nullable(),
      log: z.string().nullable(),
      runs: z.array(
        loose({ run_id: z.number().nullable(), target: z.string(), status: z.string() }),
      ),
    }),
    readOnly: false,
    call: async (a, ctx) => {
      const { runDetachedReport } = await import("../commands/run.ts");
      return await runDetachedReport(await confineAll(ctx, a.targets as string[]), {
        all: a.all as boolean,
      });
    },
  },
  {
    name: "wait",
    description: "Block until the latest run of each target ended (or, with any, one of them), " +
      "sending progress notifications meanwhile; then each run's summary and the next commands " +
      "(cmcs wait). Cancelling the call leaves the runs running. On timeout the runs keep " +
      "running and timed_out is true: call wait again.",
    input: z.strictObject({
      targets,
      all: z.boolean().optional().describe("every registered target that has a run (or is queued)"),
      any: z.boolean().optional().describe("return as soon as one of the runs ended"),
      timeout_s: z.number().positive().optional().describe("give up after this many seconds"),
    }),
    output: loose({
      timed_out: z.boolean(),
      runs: z.array(runSummary),
      next: z.array(z.string()),
    }),
    readOnly: true,
    lean: (d: Json) => ({ ...d, runs: (d.runs as Json[]).map(leanRun) }),
    call: async (a, ctx) => {
      const { waitReport } = await import("../commands/wait.ts");
      const started = Date.now();
      let ended = -1;
      let sentAt = 0;
      return await waitReport(await confineAll(ctx, a.targets as string[]), {
        all: a.all as boolean,
        any: a.any as boolean,
        timeout: a.timeout_s as number | undefined,
      }, {
        signal: ctx.signal,
        onPoll: (p) => {
          // The first poll, every change, and otherwise every few seconds: a client sees the
          // wait is alive without a flood of notifications.
          if (p.ended === ended && Date.now() - sentAt < PROGRESS_EVERY_MS) return;
          ended = p.ended;
          sentAt = Date.now();
          const elapsed = (sentAt - started) / 1000;
          ctx.progress(
            elapsed,
            `${p.ended} of ${p.total} ended after ${Math.round(elapsed)}s` +
              (p.running.length > 0 ? `; running: ${p.running.join(", ")}` : ""),
            a.timeout_s as number | undefined,
          );
        },
      });
    },
  },
  {
    name: "status",
    description:
      "Runs, newest first, with ticket counts, duration and tokens; the reason of each " +
      "target's latest failure; the review queue: tickets awaiting review or sent back (cmcs status).",
    input: z.strictObject({
      path: z.string().min(1).optional().describe("only runs of this repository or worktree"),
      active: z.boolean().optional().describe("only running runs"),
      latest: z.boolean().optional().describe("only the latest run of each target"),
      limit: z.number().int().min(1).optional().describe(
        "at most this many runs (default: every running run and the 10 newest)",
      ),
    }),
    output: loose({ runs: z.array(runSummary) }),
    readOnly: true,
    call: async (a, ctx) => {
      const { statusReport } = await import("../commands/status.ts");
      const target = a.path === undefined ? undefined : await ctx.confine(a.path as string);
      return await statusReport(target, {
        active: a.active as boolean,
        latest: a.latest as boolean,
        limit: a.limit as number | undefined,
      });
    },
  },
  {
    name: "result",
    description:
      "The review packet of one ticket: outcome, review state, attempts, tokens, files " +
      "changed, the worker's final message and what to do next (cmcs result).",
    input: z.strictObject({
      path,
      ticket: ticket.optional().describe("the ticket (default: the one of the latest attempt)"),
    }),
    output: loose({ ticket: z.string(), outcome: z.string().nullable().optional() }),
    readOnly: true,
    call: async (a, ctx) => {
      const { resultReport } = await import("../commands/result.ts");
      return await resultReport(await ctx.confine(a.path as string ?? "."), a.ticket as string);
    },
  },
  {
    name: "diff",
    description: "What a ticket changed, as git diff prints it (cmcs diff), cut after max_chars " +
      "characters: the last line then says how much was cut and the command that shows the rest.",
    input: z.strictObject({
      path,
      ticket: ticket.optional().describe("the ticket (default: the one of the latest attempt)"),
      stat: z.boolean().optional().describe("only the changed files with +/- counts"),
      max_chars: z.number().int().min(1000).max(1_000_000).optional().describe(
        `cut the diff after this many characters (default ${DIFF_MAX_CHARS})`,
      ),
    }),
    output: loose({
      ticket: z.string(),
      diff: z.string().nullable(),
      truncated: z.boolean(),
      total_chars: z.number(),
    }),
    readOnly: true,
    call: async (a, ctx) => {
      const { diffReport } = await import("../commands/diff.ts");
      return await diffReport(await ctx.confine(a.path as string ?? "."), a.ticket as string, {
        stat: a.stat as boolean,
        maxChars: (a.max_chars as number | undefined) ?? DIFF_MAX_CHARS,
      });
    },
  },
  {
    name: "resume",
    description:
      "Send a ticket back to the same Codex conversation with feedback, as a new run in " +
      "a background broker (cmcs resume); returns its run id at once. Wait with the wait tool.",
    input: z.strictObject({
      path,
      ticket: ticket.describe("the ticket to continue"),
      feedback: z.string().describe("what the worker should change"),
    }),
    output: loose({
      run_id: z.number().nullable(),
      target: z.string(),
      ticket: z.string(),
      thread_id: z.string(),
    }),
    readOnly: false,
    call: async (a, ctx) => {
      const { resumeDetachedReport } = await import("../commands/resume.ts");
      return await resumeDetachedReport(
        await ctx.confine(a.path as string ?? "."),
        a.ticket as string,
        a.feedback as string,
      );
    },
  },
  {
    name: "accept",
    description: "Accept tickets whose latest attempt ended done: their work is taken and they " +
      "leave the review queue (cmcs accept). All or nothing: a ticket that is not done is " +
      "refused, and then none is accepted.",
    input: z.strictObject({
      path,
      tickets: z.array(ticket).min(1).describe("the tickets to accept"),
    }),
    output: loose({
      target: z.string(),
      tickets: z.array(loose({ ticket: z.string(), run_id: z.number(), already: z.boolean() })),
    }),
    readOnly: false,
    call: async (a, ctx) => {
      const { acceptReport } = await import("../commands/accept.ts");
      return await acceptReport(await ctx.confine(a.path as string ?? "."), a.tickets as string[]);
    },
  },
  {
    name: "stop",
    description: "Stop a running run: end its worker's whole process tree; no further ticket " +
      "starts; a queued target is taken out of the queue (cmcs stop).",
    input: z.strictObject({
      target: z.union([z.string().min(1), z.number().int().min(1)]).describe(
        "a repository/worktree path or a run id",
      ),
    }),
    output: loose({
      run_id: z.number().nullable(),
      target: z.string().nullable(),
      status: z.string(),
      forced: z.boolean(),
    }),
    readOnly: false,
    call: async (a, ctx) => {
      const { stopReport } = await import("../commands/stop.ts");
      const target = String(a.target);
      return await stopReport(/^\d+$/.test(target) ? target : await ctx.confine(target));
    },
  },
  {
    name: "logs",
    description: "The last lines of a run's worker output, rendered (agent messages, commands " +
      "with exit codes, file changes, errors) or raw JSONL (cmcs logs).",
    input: z.strictObject({
      path,
      run: z.number().int().min(1).optional().describe(
        "a specific run (default: the latest of the target)",
      ),
      ticket: ticket.optional().describe("a specific ticket (default: the latest attempt)"),
      lines: z.number().int().min(1).max(2000).optional().describe(
        "the last this many lines (default 40)",
      ),
      raw: z.boolean().optional().describe("the raw JSONL stream instead"),
    }),
    output: loose({ lines: z.array(z.string()), truncated: z.boolean() }),
    readOnly: true,
    lean: (d: Json) => pick(d, ["run_id", "ticket", "attempt", "outcome", "lines", "truncated"]),
    call: async (a, ctx) => {
      const { logsReport } = await import("../commands/logs.ts");
      return await logsReport(await ctx.confine(a.path as string ?? "."), {
        run: a.run as number | undefined,
        ticket: a.ticket as string | undefined,
        lines: (a.lines as number | undefined) ?? 40,
        raw: a.raw as boolean,
      });
    },
  },
];

/** How often `wait` reports progress while nothing changes. */
const PROGRESS_EVERY_MS = 5_000;
