import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The project checkout these tests belong to. */
export const PROJECT_DIR = fileURLToPath(new URL("../../", import.meta.url));

/** The documented permission flags (permissions.txt), exactly as users run cmcs with them. */
export const PERMISSION_FLAGS: string[] = Deno.readTextFileSync(
  join(PROJECT_DIR, "permissions.txt"),
)
  .trim()
  .split(/\s+/);

/**
 * What the tests run as "cmcs": main.ts from this checkout, or the built single file when
 * CMCS_TEST_BIN points at one (the end-to-end suite of the bundle sets it).
 */
export function cmcsEntry(): string {
  return Deno.env.get("CMCS_TEST_BIN") ?? join(PROJECT_DIR, "main.ts");
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd: string;
  env?: Record<string, string>;
  stdin?: string;
  /** Kill the process after this many ms (default 60 s) so a hang fails the test instead of CI. */
  timeoutMs?: number;
}

/** Runs cmcs as a real process under the documented permissions and returns its code and output. */
export async function cmcs(args: string[], options: CliOptions): Promise<CliResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...PERMISSION_FLAGS, cmcsEntry(), ...args],
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...options.env },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, options.timeoutMs ?? 60_000);
  const out = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}
