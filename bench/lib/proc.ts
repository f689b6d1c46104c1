/** Running cmcs, Deno and git as real processes for the benchmarks, with wall time and peak memory. */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** This checkout. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const MAIN = join(ROOT, "main.ts");
export const INSTANT_CODEX = join(ROOT, "bench/fixtures/instant-codex");
export const EMPTY_SCRIPT = join(ROOT, "bench/fixtures/empty.ts");

/** cmcs's documented permissions (permissions.txt), exactly as users run it. */
export const PERMISSIONS: string[] = Deno.readTextFileSync(join(ROOT, "permissions.txt"))
  .trim()
  .split(/\s+/);

/** No colour, no update check, and git without the user's or the system's configuration. */
export const BASE_ENV: Record<string, string> = {
  NO_COLOR: "1",
  DENO_NO_UPDATE_CHECK: "1",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
};

export interface ProcResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, in ms. */
  ms: number;
  /** Peak resident memory in KiB, when asked for and measurable. */
  maxRssKib: number | null;
}

export interface ProcOptions {
  cwd: string;
  env?: Record<string, string>;
  /** Measure peak memory: with GNU time when installed, else by sampling VmHWM. */
  memory?: boolean;
}

const TIME_BIN = "/usr/bin/time";
let timeBinAvailable: boolean | null = null;

async function hasTimeBin(): Promise<boolean> {
  if (timeBinAvailable === null) {
    const out = await new Deno.Command(TIME_BIN, {
      args: ["-f", "%M", "true"],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output().catch(() => null);
    timeBinAvailable = out !== null && out.code === 0 &&
      /^\d+\s*$/.test(new TextDecoder().decode(out.stderr));
  }
  return timeBinAvailable;
}

/** How peak memory is measured on this machine, for the report. */
export async function memoryMethod(): Promise<string> {
  return (await hasTimeBin())
    ? "GNU time (`/usr/bin/time -f %M`: max RSS of the process)"
    : "VmHWM of /proc/<pid>/status, sampled every 50 ms";
}

/** Runs `command args` to its end; never throws for a non-zero exit. */
export async function runProcess(
  command: string,
  args: string[],
  opts: ProcOptions,
): Promise<ProcResult> {
  const useTime = opts.memory === true && (await hasTimeBin());
  const rssFile = useTime ? await Deno.makeTempFile({ prefix: "cmcs-bench-rss-" }) : null;
  const argv = useTime ? [TIME_BIN, "-f", "%M", "-o", rssFile!, command, ...args] : [
    command,
    ...args,
  ];
  const start = performance.now();
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: opts.cwd,
    env: { ...BASE_ENV, ...opts.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const sampler = opts.memory === true && !useTime ? sampleHwm(child.pid) : null;
  const out = await child.output();
  const ms = performance.now() - start;
  let maxRssKib: number | null = null;
  if (rssFile) {
    const text = await Deno.readTextFile(rssFile);
    await Deno.remove(rssFile).catch(() => {});
    const kib = Number(text.trim().split("\n").at(-1));
    maxRssKib = Number.isFinite(kib) ? kib : null;
  } else if (sampler) {
    maxRssKib = await sampler.stop();
  }
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
    ms,
    maxRssKib,
  };
}

/** Runs cmcs (main.ts) under its documented permissions. */
export function cmcs(args: string[], opts: ProcOptions): Promise<ProcResult> {
  return runProcess(Deno.execPath(), ["run", "--quiet", ...PERMISSIONS, MAIN, ...args], opts);
}

/** Like {@link cmcs} but fails loudly: the benchmark cannot go on without this step. */
export async function cmcsOk(args: string[], opts: ProcOptions): Promise<ProcResult> {
  const result = await cmcs(args, opts);
  if (result.code !== 0) {
    throw new Error(
      `cmcs ${args.join(" ")} exited ${result.code} in ${opts.cwd}: ${result.stderr.trim()}`,
    );
  }
  return result;
}

/** An empty Deno program under the same permissions: the floor of every start-up. */
export function emptyDeno(opts: ProcOptions): Promise<ProcResult> {
  return runProcess(Deno.execPath(), ["run", "--quiet", ...PERMISSIONS, EMPTY_SCRIPT], opts);
}

/** Runs git in `cwd` and returns stdout; throws with git's message on failure. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("git", {
    args,
    cwd,
    env: BASE_ENV,
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  if (out.code !== 0) throw new Error(`git ${args.join(" ")}: ${decoder.decode(out.stderr)}`);
  return decoder.decode(out.stdout);
}

/** Peak resident memory (VmHWM, KiB) of a live process, read through `cat` (Deno needs -A for /proc). */
export async function readHwmKib(pid: number): Promise<number | null> {
  const out = await new Deno.Command("cat", {
    args: [`/proc/${pid}/status`],
    stdin: "null",
    stderr: "null",
  }).output().catch(() => null);
  if (!out || out.code !== 0) return null;
  const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(new TextDecoder().decode(out.stdout));
  return match ? Number(match[1]) : null;
}

function sampleHwm(pid: number): { stop(): Promise<number | null> } {
  let peak: number | null = null;
  let running = true;
  const loop = (async () => {
    while (running) {
      const kib = await readHwmKib(pid);
      if (kib !== null) peak = Math.max(peak ?? 0, kib);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}
