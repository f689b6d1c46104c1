/**
 * Test-side helpers for the stand-in worker (tests/fixtures/fake-codex), which behaves like
 * `codex exec --json` and is steered per ticket by `<!-- fake-codex: MODE [ARGS] -->` directives:
 *
 * - outcomes (the last one wins, the ticket's over FAKE_CODEX_MODE): `ok` (default), `fail [MSG]`,
 *   `context`, `context-unless-model NAME`, `usage-limit [MSG]` (by default naming a reset time
 *   two days ahead, see {@link defaultResetTime}), `usage-limit-later` (Codex 0.171.0's message,
 *   no reset time), `quota`, `auth`,
 *   `transient-once`, `not-done`, `not-done-until-resume`, `hang`, `long-command [SECONDS]`,
 *   `grandchildren [N]`, `exit2`;
 * - modifiers (added to any outcome): `write PATH [CONTENT]`, `partial PATH CONTENT` (written
 *   before a failure), `done-early` (marks the ticket done, and writes `partial` files, before the
 *   outcome plays out), `slow SECONDS`, `wait-file PATH` (waits until PATH exists), `stderr-noise`,
 *   `big-output`, `no-progress`, `ignore-sigterm` (hangs unless an outcome is given), `launcher`,
 *   `huge-line MB` (one agent message of MB MiB on a single line), `slow-line SECONDS` (one line
 *   written a little at a time for SECONDS), `escape-stdout [no-token]` (leaves `sleep 300` in a
 *   session of its own holding the worker's stdout and stderr; `no-token` empties its
 *   environment; pid noted), `final-message TEXT` (the final message). In the text of `write` and
 *   `final-message`, `\xHH` is that character (`\x1b` ESC, `\x3b` a semicolon, which a directive
 *   cannot hold otherwise).
 *
 * Environment of the worker: FAKE_CODEX_MODE, FAKE_CODEX_RECORD, FAKE_CODEX_STATE_DIR,
 * FAKE_CODEX_PIDS_FILE (see {@link fakeCodexEnv}). With `launcher` only the child (the "agent")
 * records its call; its `ppid` is the launcher, which is the pid cmcs spawned.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultResetTime, usageLimitMessage } from "../fixtures/fake_codex.ts";

export { defaultResetTime, usageLimitMessage };

/** The executable launcher: use it as `codex.command` (it runs fake_codex.ts under Deno). */
export const FAKE_CODEX: string = fileURLToPath(new URL("../fixtures/fake-codex", import.meta.url));

/** The worker's source, for tests that want to run it with `deno run` themselves. */
export const FAKE_CODEX_SCRIPT: string = fileURLToPath(
  new URL("../fixtures/fake_codex.ts", import.meta.url),
);

/** The phrase cmcs's prompt carries and the worker looks for. */
export const ANCHOR_PHRASE = "update the ticket file at";

/** Codex's own messages, as the worker prints them for the failure modes. */
export const CODEX_MESSAGES = {
  highDemand: "We\u2019re currently experiencing high demand, which may cause temporary errors.",
  contextWindow:
    "Codex ran out of room in the model's context window. Start a new thread or clear earlier history before retrying.",
  /** Codex 0.171.0's wording, which names no reset time. */
  usageLimitLater: usageLimitMessage(null),
  quota: "Quota exceeded. Check your plan and billing details.",
  auth:
    "unexpected status 401 Unauthorized: Incorrect API key provided, url: https://api.openai.com/v1/responses",
} as const;

/** One directive comment, e.g. `directive("write", "src/a.txt", "hello")`. */
export function directive(mode: string, ...args: (string | number)[]): string {
  return `<!-- fake-codex: ${[mode, ...args.map(String)].join(" ")} -->`;
}

export interface TicketSpec {
  title?: string;
  agent?: string;
  done?: boolean;
  model?: string;
  reasoning_effort?: string;
  /** Markdown after the front matter; defaults to a one-line task. */
  body?: string;
  /** Directive comments appended to the body: `"not-done"` or `["write", "a.txt", "hi"]`. */
  directives?: (string | (string | number)[])[];
}

/** The text of a ticket: YAML front matter (title, agent, done, …), the body, the directives. */
export function ticketText(spec: TicketSpec = {}): string {
  const front = [`title: ${JSON.stringify(spec.title ?? "A test ticket")}`];
  front.push(`agent: ${spec.agent ?? "codex"}`);
  front.push(`done: ${spec.done ?? false}`);
  if (spec.model !== undefined) front.push(`model: ${spec.model}`);
  if (spec.reasoning_effort !== undefined) {
    front.push(`reasoning_effort: ${spec.reasoning_effort}`);
  }
  const directives = (spec.directives ?? []).map((d) =>
    typeof d === "string" ? directive(d) : directive(String(d[0]), ...d.slice(1))
  );
  const body = spec.body ?? "Do the task described here.";
  return `---\n${front.join("\n")}\n---\n\n${body}\n${
    directives.length > 0 ? `\n${directives.join("\n")}\n` : ""
  }`;
}

/**
 * Writes `<dir>/<ticketsDir>/<name>` (default `.cmcs/tickets`), creating the folder, and returns
 * its absolute path.
 */
export async function writeTicket(
  dir: string,
  name: string,
  spec: TicketSpec = {},
  ticketsDir = ".cmcs/tickets",
): Promise<string> {
  const path = join(dir, ticketsDir, name);
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.writeTextFile(path, ticketText(spec));
  return path;
}

/** A minimal prompt in cmcs's shape, with the anchor line naming `ticketPath`. */
export function anchorPrompt(ticketPath: string, extra = ""): string {
  return `You are a Codex worker.\nWhen done, ${ANCHOR_PHRASE} ${ticketPath}:\n` +
    `  - set done: true in its front matter\n  - append a ## Progress section\n${extra}`;
}

export interface FakeCodexEnv {
  /** Environment variables to pass to the worker (merge into the test's env). */
  env: Record<string, string>;
  recordFile: string;
  stateDir: string;
  pidsFile: string;
}

/**
 * Isolated worker state under `dir`: a call record, a state dir (threads, once-only markers) and
 * a pids file. `mode` becomes FAKE_CODEX_MODE, the default for tickets without directives.
 */
export async function fakeCodexEnv(dir: string, mode?: string): Promise<FakeCodexEnv> {
  const stateDir = join(dir, "fake-codex-state");
  await Deno.mkdir(stateDir, { recursive: true });
  const recordFile = join(stateDir, "calls.jsonl");
  const pidsFile = join(stateDir, "pids.txt");
  const env: Record<string, string> = {
    FAKE_CODEX_RECORD: recordFile,
    FAKE_CODEX_STATE_DIR: stateDir,
    FAKE_CODEX_PIDS_FILE: pidsFile,
  };
  if (mode !== undefined) env.FAKE_CODEX_MODE = mode;
  return { env, recordFile, stateDir, pidsFile };
}

/** One invocation of the worker as it recorded itself. */
export interface FakeCodexCall {
  argv: string[];
  cwd: string;
  pid: number;
  ppid: number;
  /** True for the child of a `launcher` worker. */
  via_launcher: boolean;
  time: string;
  /** Set when the command line was rejected (exit 2); most other fields are then absent. */
  usage_error?: string;
  cd?: string | null;
  /** The directory the worker acted in (`-C` resolved, else its cwd). */
  dir?: string;
  model?: string | null;
  effort?: string | null;
  sandbox?: string | null;
  configs?: string[];
  output?: string | null;
  resume?: boolean;
  resume_id?: string | null;
  /** True when `resume <id>` found the thread (the run continued it). */
  resumed?: boolean;
  thread_id?: string;
  prompt_length?: number;
  prompt_head?: string;
  has_anchor?: boolean;
  ticket_path?: string | null;
  /** The effective outcome first, then the modifiers, each as `mode args…`. */
  modes?: string[];
  /** `no prompt` or `unknown thread` when the worker exited 1 before the turn. */
  error?: string;
}

/** Every recorded call, oldest first; none when the file does not exist. */
export async function readCalls(recordFile: string): Promise<FakeCodexCall[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(recordFile);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return text.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line));
}

/** Pids the worker wrote to FAKE_CODEX_PIDS_FILE (`grandchildren`, `long-command`). */
export async function readPids(pidsFile: string): Promise<number[]> {
  try {
    const text = await Deno.readTextFile(pidsFile);
    return text.split("\n").filter((l) => l.trim() !== "").map(Number);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/**
 * Live (non-zombie) processes whose process group is `pgid`, from `ps` (Deno refuses to list
 * /proc without --allow-all). Used to show that a stop leaves nothing of a command group behind.
 */
export function processGroupMembers(pgid: number): number[] {
  const out = new Deno.Command("ps", { args: ["-A", "-o", "pid=,pgid=,stat="], stdin: "null" })
    .outputSync();
  if (out.code !== 0) throw new Error(`ps failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).split("\n").flatMap((line) => {
    const [pid, group, state] = line.trim().split(/\s+/);
    return Number(group) === pgid && !state?.startsWith("Z") ? [Number(pid)] : [];
  });
}

/** A JSONL event as the worker prints it. */
export interface CodexEvent {
  type: string;
  thread_id?: string;
  message?: string;
  item?: { id: string; type: string; [key: string]: unknown };
  usage?: Record<string, number>;
  error?: { message: string };
}

export interface FakeCodexRunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Written to stdin, which is then closed; `null` leaves stdin open (see `closeStdin`). */
  stdin?: string | null;
}

export interface FakeCodexExit {
  code: number;
  signal: Deno.Signal | null;
  events: CodexEvent[];
  stdout: string;
  stderr: string;
}

/**
 * The worker as a live process with its stdout parsed into events as they arrive, for tests that
 * act mid-run (signals, open stdin). Always `await finish()` (or `kill` then `finish`).
 */
export class FakeCodexProcess {
  readonly child: Deno.ChildProcess;
  readonly events: CodexEvent[] = [];
  stdout = "";
  stderr = "";
  #waiters: (() => void)[] = [];
  #pumps: Promise<void>[];
  #partial = "";
  #openStreams = 2;

  constructor(args: string[], options: FakeCodexRunOptions = {}) {
    this.child = new Deno.Command(FAKE_CODEX, {
      args,
      cwd: options.cwd,
      env: options.env,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#pumps = [
      this.#pump(this.child.stdout, (text) => {
        this.stdout += text;
        this.#partial += text;
        const lines = this.#partial.split("\n");
        this.#partial = lines.pop()!;
        for (const line of lines) if (line.trim() !== "") this.events.push(JSON.parse(line));
      }),
      this.#pump(this.child.stderr, (text) => this.stderr += text),
    ];
    if (options.stdin !== null) void this.closeStdin(options.stdin ?? "");
  }

  /** Writes `text` (if any) to the worker's stdin and closes it. */
  async closeStdin(text = ""): Promise<void> {
    const writer = this.child.stdin.getWriter();
    if (text !== "") await writer.write(new TextEncoder().encode(text)).catch(() => {});
    await writer.close().catch(() => {});
  }

  /** Writes to stdin without closing it. */
  async writeStdin(text: string): Promise<void> {
    const writer = this.child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(text));
    writer.releaseLock();
  }

  /**
   * Resolves once `predicate` holds for the output so far; rejects (and kills the worker) after
   * `timeoutMs` so a broken worker fails the test instead of hanging it.
   */
  async waitFor(
    predicate: (p: FakeCodexProcess) => boolean,
    what: string,
    timeoutMs = 20_000,
  ): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        (async () => {
          while (!predicate(this)) {
            if (this.#openStreams === 0) {
              throw new Error(`fake-codex ended before ${what}; stderr: ${this.stderr}`);
            }
            await new Promise<void>((r) => this.#waiters.push(r));
          }
        })(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            this.kill("SIGKILL");
            reject(new Error(`fake-codex: timed out waiting for ${what}; stderr: ${this.stderr}`));
          }, timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits for an event matching `predicate` and returns it. */
  async waitForEvent(predicate: (e: CodexEvent) => boolean, what: string): Promise<CodexEvent> {
    await this.waitFor((p) => p.events.some(predicate), what);
    return this.events.find(predicate)!;
  }

  kill(signal: Deno.Signal): void {
    try {
      this.child.kill(signal);
    } catch { /* already gone */ }
  }

  /** Waits for the exit and the end of both streams. */
  async finish(): Promise<FakeCodexExit> {
    const status = await this.child.status;
    await Promise.all(this.#pumps);
    return {
      code: status.code,
      signal: status.signal,
      events: this.events,
      stdout: this.stdout,
      stderr: this.stderr,
    };
  }

  async #pump(stream: ReadableStream<Uint8Array>, onText: (text: string) => void): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      onText(decoder.decode(chunk, { stream: true }));
      for (const wake of this.#waiters.splice(0)) wake();
    }
    this.#openStreams--;
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

/** Runs the worker to completion with `stdin` as the prompt and returns its exit and events. */
export function runFakeCodex(
  args: string[],
  options: FakeCodexRunOptions & { stdin: string },
): Promise<FakeCodexExit> {
  return new FakeCodexProcess(args, options).finish();
}

/** cmcs's usual argument list: `exec --json -m … -s … -C dir --skip-git-repo-check -o out -`. */
export function execArgs(
  dir: string,
  output: string,
  options: { model?: string; effort?: string; sandbox?: string; extra?: string[] } = {},
): string[] {
  return [
    "exec",
    "--json",
    ...(options.model ? ["-m", options.model] : []),
    "-s",
    options.sandbox ?? "workspace-write",
    ...(options.effort ? ["-c", `model_reasoning_effort=${options.effort}`] : []),
    "-C",
    dir,
    "--skip-git-repo-check",
    "-o",
    output,
    ...(options.extra ?? []),
    "-",
  ];
}
