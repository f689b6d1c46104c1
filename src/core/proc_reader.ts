/**
 * One long-lived `sh` that reads `/proc` for a broker, so that a ticket does not cost two process
 * starts just to learn its worker's start time and to look for commands the worker left behind.
 *
 * Why a helper: Deno reads `/proc` only with every permission granted (`-A`), and cmcs runs with a
 * narrower list, so each look used to start `cat` or `sh` + `grep` from the broker. Starting a
 * process from the broker costs more the larger the broker is; the helper reads stat files with
 * shell built-ins (no process at all) and starts only `grep` for the token search, from a small
 * shell. It is used only where the broker asks (`cmcs run`, `cmcs resume`, see
 * {@link useProcReader}); everything else reads `/proc` as before.
 *
 * Edge cases: the helper ignores SIGINT (Ctrl-C in the terminal must not take it down while the
 * broker stops its workers) and ends when its standard input closes, that is with the broker, even
 * a SIGKILLed one. It is `unref`ed and read only while a request is open, so it never keeps the
 * broker alive. If it dies or answers nonsense, every later request returns null and the caller
 * falls back to starting a process per look, as before.
 */

/** Reads a request line: `stat <pid>...` or `env <NAME=value>`; answers, then the end marker. */
const SCRIPT = `trap '' INT
while IFS= read -r req; do
  case $req in
    "stat "*)
      for pid in \${req#stat }; do
        { while IFS= read -r line || [ -n "$line" ]; do printf '%s\\n' "$line"; done; } \\
          < "/proc/$pid/stat" 2>/dev/null
      done ;;
    "env "*) grep -lsxzF -e "\${req#env }" /proc/[0-9]*/environ 2>/dev/null ;;
  esac
  printf '%s\\n' "$1"
done`;

let enabled = false;
let shared: ProcReader | null = null;

/** Lets this process use the helper (Linux only); a broker calls it once before its first ticket. */
export function useProcReader(): void {
  enabled = Deno.build.os === "linux";
}

/** The helper, started on first use; null when not enabled here or it could not be started. */
export function procReader(): ProcReader | null {
  if (!enabled) return null;
  if (shared === null || shared.broken) shared = ProcReader.start();
  return shared;
}

export class ProcReader {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  /** The line that ends each answer: random, and longer than anything in a stat or a path. */
  #end: string;
  #text = "";
  #decoder = new TextDecoder();
  #queue: Promise<unknown> = Promise.resolve();
  broken = false;

  private constructor(child: Deno.ChildProcess, end: string) {
    this.#child = child;
    this.#end = end;
    this.#writer = child.stdin.getWriter();
    this.#reader = child.stdout.getReader();
  }

  static start(): ProcReader | null {
    const end = crypto.randomUUID();
    try {
      const child = new Deno.Command("sh", {
        args: ["-c", SCRIPT, "sh", end],
        stdin: "piped",
        stdout: "piped",
        stderr: "null",
      }).spawn();
      child.unref();
      return new ProcReader(child, end);
    } catch {
      return null;
    }
  }

  /** The helper's pid. */
  get pid(): number {
    return this.#child.pid;
  }

  /** The `/proc/<pid>/stat` text of those `pids` that exist; null when the helper failed. */
  stats(pids: number[]): Promise<string | null> {
    const valid = pids.filter((pid) => Number.isInteger(pid) && pid > 0);
    return this.#request(`stat ${valid.join(" ")}`);
  }

  /** Pids whose environment holds exactly the entry `needle` (`NAME=value`); null on failure. */
  async carriers(needle: string): Promise<number[] | null> {
    if (/[\n\0]/.test(needle)) return null;
    const text = await this.#request(`env ${needle}`);
    if (text === null) return null;
    return [...text.matchAll(/\/proc\/(\d+)\/environ/g)].map((m) => Number(m[1]));
  }

  #request(line: string): Promise<string | null> {
    const answer = this.#queue.then(() => this.#exchange(line));
    this.#queue = answer;
    return answer;
  }

  async #exchange(line: string): Promise<string | null> {
    if (this.broken) return null;
    // Unref'd, the helper's output does not keep the event loop alive; an open request must.
    this.#child.ref();
    try {
      await this.#writer.write(new TextEncoder().encode(`${line}\n`));
      const endLine = `\n${this.#end}\n`;
      while (true) {
        // Seen with a newline in front, the end line is found at the very start too.
        const at = `\n${this.#text}`.indexOf(endLine);
        if (at >= 0) {
          const answer = this.#text.slice(0, at);
          this.#text = this.#text.slice(at + endLine.length - 1);
          return answer;
        }
        const { value, done } = await this.#reader.read();
        if (done) throw new Error("the /proc helper ended");
        this.#text += this.#decoder.decode(value, { stream: true });
      }
    } catch {
      this.broken = true;
      return null;
    } finally {
      this.#child.unref();
    }
  }

  /** Ends the helper (tests; a broker just exits, which closes the helper's input). */
  async close(): Promise<void> {
    this.broken = true;
    this.#child.ref();
    await this.#writer.close().catch(() => {});
    await this.#reader.cancel().catch(() => {});
    await this.#child.status.catch(() => {});
  }
}
