/**
 * `deno task demo`: cmcs's main job on a fresh machine. Makes a throwaway git repository with three
 * small tickets, runs them through the real broker (this checkout's main.ts, under the documented
 * permissions), and prints `cmcs status` and the commits the tickets produced. Uses the real `codex`
 * when it is installed and logged in, and otherwise the stand-in worker from tests/, saying so.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const PROJECT = fileURLToPath(new URL("../", import.meta.url));
const PERMISSIONS = (await Deno.readTextFile(join(PROJECT, "permissions.txt"))).trim().split(/\s+/);
const STAND_IN = join(PROJECT, "tests/fixtures/fake-codex");

async function sh(
  cmd: string,
  args: string[],
  cwd: string,
): Promise<{ code: number; out: string }> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: out.code,
      out: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
    };
  } catch {
    return { code: 127, out: `${cmd} not found` };
  }
}

async function cmcs(args: string[], cwd: string, env: Record<string, string>): Promise<number> {
  console.log(`\n$ cmcs ${args.join(" ")}`);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...PERMISSIONS, join(PROJECT, "main.ts"), ...args],
    cwd,
    env,
    stdin: "null",
  }).spawn();
  return (await child.status).code;
}

async function realCodexAvailable(): Promise<boolean> {
  const version = await sh("codex", ["--version"], Deno.cwd());
  if (version.code !== 0) return false;
  return (await sh("codex", ["login", "status"], Deno.cwd())).code === 0;
}

const TICKETS = [
  ["Write a greeting", "Create `hello.txt` containing one line: `Hello from cmcs`."],
  [
    "Add a shell script",
    "Create `greet.sh` that prints the contents of `hello.txt`; make it executable.",
  ],
  [
    "Document the scripts",
    "Add a `## Scripts` section to `README.md` describing `greet.sh` in one sentence.",
  ],
];

const useReal = !Deno.args.includes("--stand-in") && await realCodexAvailable();
const repo = await Deno.makeTempDir({ prefix: "cmcs-demo-" });
for (
  const args of [["init", "-q", "-b", "main"], ["config", "user.name", "cmcs demo"], [
    "config",
    "user.email",
    "demo@cmcs.invalid",
  ]]
) {
  await sh("git", args, repo);
}
await Deno.writeTextFile(join(repo, "README.md"), "# cmcs demo\n");
await sh("git", ["add", "README.md"], repo);
await sh("git", ["commit", "-q", "-m", "initial commit"], repo);

console.log(`demo repository: ${repo}`);
console.log(
  useReal
    ? "worker: the real Codex CLI (`codex` is installed and logged in)"
    : "worker: the stand-in worker from tests/fixtures (the real `codex` is not installed or not logged in) — " +
      "it behaves like `codex exec --json` but does not think: it writes a file per ticket and marks it done",
);
const env = { DENO_BIN: Deno.execPath(), NO_COLOR: Deno.env.get("NO_COLOR") ?? "" };
if (await cmcs(["init"], repo, env) !== 0) Deno.exit(1);
if (!useReal) {
  await Deno.writeTextFile(
    join(repo, ".cmcs/config.yml"),
    `codex:\n  command: ${JSON.stringify(STAND_IN)}\n`,
  );
}
for (const [title, task] of TICKETS) {
  const path = join(
    repo,
    ".cmcs/tickets",
    `TICKET-00${TICKETS.findIndex((t) => t[0] === title) + 1}.md`,
  );
  await Deno.writeTextFile(
    path,
    `---\ntitle: ${
      JSON.stringify(title)
    }\nagent: codex\ndone: false\n---\n\n## Goal\n${title}.\n\n## Task\n${task}\n\n## Acceptance Criteria\n- The file exists with the content described.\n`,
  );
}
await sh("git", ["add", "-A"], repo);
await sh("git", ["commit", "-q", "-m", "tickets"], repo);
const runCode = await cmcs(["run"], repo, env);
await cmcs(["status"], repo, env);
console.log("\n$ git log --oneline");
console.log((await sh("git", ["log", "--oneline"], repo)).out.trimEnd());
console.log(`\nThe demo repository stays at ${repo} — look around, then delete it.`);
Deno.exit(runCode);
