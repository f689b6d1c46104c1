import assert from "node:assert/strict";
import { buildProgram } from "../main.ts";
import { cmcs } from "./helpers/cli.ts";
import { tempDir } from "./helpers/repo.ts";

/** Runs cmcs with an environment that has none of the colour variables set. */
async function bare(args: string[], cwd: string) {
  const child = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...(await Deno.readTextFile(new URL("../permissions.txt", import.meta.url))).trim().split(
        /\s+/,
      ),
      new URL("../main.ts", import.meta.url).pathname,
      ...args,
    ],
    cwd,
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/tmp" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: child.code, stdout: d.decode(child.stdout), stderr: d.decode(child.stderr) };
}

Deno.test("cmcs --help works under the documented permissions with no colour variables set", async () => {
  await using dir = await tempDir();
  const result = await bare(["--help"], dir.path);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /Usage: cmcs/);
  for (
    const name of ["init", "run", "status", "stop", "wait", "logs", "ticket", "config", "clean"]
  ) {
    assert.match(result.stdout, new RegExp(`\\n  ${name}\\b`), `--help lists ${name}`);
  }
});

Deno.test("every command's --help shows an example and exits 0", async () => {
  await using dir = await tempDir();
  const leaves: string[][] = [];
  const walk = (command: ReturnType<typeof buildProgram>, path: string[]) => {
    for (const sub of command.commands) {
      if (sub.commands.length > 0) {
        walk(sub as ReturnType<typeof buildProgram>, [...path, sub.name()]);
      } else leaves.push([...path, sub.name()]);
    }
  };
  walk(buildProgram(), []);
  for (const path of leaves) {
    const result = await cmcs([...path, "--help"], { cwd: dir.path });
    assert.equal(result.code, 0, `${path.join(" ")} --help: ${result.stderr}`);
    assert.match(
      result.stdout,
      /Examples:\n\s+\$ cmcs /,
      `${path.join(" ")} --help has an example`,
    );
  }
});

Deno.test("an unknown command suggests the closest one and exits 2 without a stack trace", async () => {
  await using dir = await tempDir();
  const result = await cmcs(["stauts"], { cwd: dir.path });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^error: unknown command 'stauts'/m);
  assert.match(result.stderr, /Did you mean status\?/);
  assert.doesNotMatch(result.stderr, /\bat \S+:\d+:\d+/);
});

Deno.test("a bad option value exits 2 naming the value", async () => {
  await using dir = await tempDir();
  const result = await cmcs(["wait", ".", "--timeout", "soon"], { cwd: dir.path });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /error: option '--timeout <s>' argument 'soon' is invalid/);
});

Deno.test("a number too large to be exact is a usage error naming it, not a crash", async () => {
  await using dir = await tempDir();
  for (
    const args of [
      ["status", "--limit", "9223372036854775808"],
      ["logs", "--run", "99999999999999999999"],
    ]
  ) {
    const result = await cmcs(args, { cwd: dir.path });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /expected a whole number ≤ 9007199254740991, got "\d+"/);
    assert.doesNotMatch(result.stderr, /internal error|\bat \S+:\d+:\d+/);
  }
});

Deno.test("a group without a subcommand prints its help and exits 2", async () => {
  await using dir = await tempDir();
  const result = await cmcs(["ticket"], { cwd: dir.path });
  assert.equal(result.code, 2);
  assert.match(result.stderr + result.stdout, /validate/);
});

Deno.test("cmcs --help does not load SQLite, YAML or the web server", async () => {
  const graph = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("../main.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "null",
  }).output();
  const info = JSON.parse(new TextDecoder().decode(graph.stdout));
  const root = info.roots[0];
  const mainModule = info.modules.find((m: { specifier: string }) => m.specifier === root);
  const staticDeps: string[] = (mainModule.dependencies ?? [])
    .filter((d: { code?: { specifier: string }; isDynamic?: boolean }) => !d.isDynamic && d.code)
    .map((d: { code: { specifier: string } }) => d.code.specifier);
  assert.ok(staticDeps.every((s) => !/sqlite|yaml|hono|preact/.test(s)), staticDeps.join(", "));
});
