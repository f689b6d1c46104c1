/**
 * src/core/path.ts against Node's own `path.posix`, input by input: every path cmcs joins,
 * resolves or shows must come out as `node:path` would have made it.
 */
import assert from "node:assert/strict";
import { posix } from "node:path";
import * as path from "../src/core/path.ts";

const PIECES = [
  "",
  ".",
  "..",
  "...",
  ".a",
  "a",
  "b.md",
  "/",
  "//",
  "a/",
  "/a",
  "a//b",
  "./a",
  "../a",
  "a/..",
  "/..",
  "a/./b/../c/",
];

/** Every path made of up to three pieces, joined with nothing and with a slash between them. */
function paths(): string[] {
  const out = new Set<string>(PIECES);
  for (const x of PIECES) {
    for (const y of PIECES) {
      out.add(x + y);
      out.add(`${x}/${y}`);
      for (const z of ["", "..", "c", "/"]) out.add(`${x}/${y}/${z}`);
    }
  }
  return [...out];
}

const ALL = paths();

Deno.test("on POSIX, dirname, basename and isAbsolute agree with node:path on every test path", {
  ignore: Deno.build.os === "windows",
}, () => {
  for (const p of ALL) {
    assert.equal(path.dirname(p), posix.dirname(p), `dirname(${JSON.stringify(p)})`);
    assert.equal(path.basename(p), posix.basename(p), `basename(${JSON.stringify(p)})`);
    assert.equal(path.isAbsolute(p), posix.isAbsolute(p), `isAbsolute(${JSON.stringify(p)})`);
  }
  assert.equal(path.sep, posix.sep);
});

Deno.test("on POSIX, join and resolve agree with node:path on every pair of test paths", {
  ignore: Deno.build.os === "windows",
}, () => {
  assert.equal(path.join(), posix.join());
  assert.equal(path.resolve(), posix.resolve());
  for (const a of ALL) {
    assert.equal(path.join(a), posix.join(a), `join(${JSON.stringify(a)})`);
    assert.equal(path.resolve(a), posix.resolve(a), `resolve(${JSON.stringify(a)})`);
    for (const b of PIECES) {
      const args = JSON.stringify([a, b]);
      assert.equal(path.join(a, b), posix.join(a, b), `join(${args})`);
      assert.equal(path.resolve(a, b), posix.resolve(a, b), `resolve(${args})`);
      assert.equal(path.join(b, a, b), posix.join(b, a, b), `join(${b}, ${a}, ${b})`);
    }
  }
});

Deno.test("on POSIX, relative agrees with node:path between every two test paths", {
  ignore: Deno.build.os === "windows",
}, () => {
  const some = ALL.filter((_, i) => i % 3 === 0);
  for (const from of some) {
    for (const to of some) {
      assert.equal(
        path.relative(from, to),
        posix.relative(from, to),
        `relative(${JSON.stringify(from)}, ${JSON.stringify(to)})`,
      );
    }
  }
  // Paths cmcs relates every day: a project, its worktrees and the directory it was run from.
  const cases = [
    ["/work/repo", "/work/repo"],
    ["/work/repo", "/work/repo/.cmcs/tickets/TICKET-001.md"],
    ["/work/repo/src", "/work/repo"],
    ["/work/repo", "/work/repo-wt/feature"],
    ["/work/repo-wt", "/work/repo"],
    ["/", "/work"],
    ["/work", "/"],
    ["/work/répo ünïcode", "/work/répo ünïcode/a b"],
  ];
  for (const [from, to] of cases) assert.equal(path.relative(from, to), posix.relative(from, to));
});

Deno.test("the modules `cmcs status` and `cmcs brief` load do not load node:path", async () => {
  for (const command of ["src/commands/status.ts", "src/commands/brief.ts"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", command],
      cwd: new URL("..", import.meta.url),
      stdout: "piped",
      stderr: "inherit",
    }).output();
    assert.ok(out.success, `deno info ${command}`);
    const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      roots: string[];
      modules: {
        specifier: string;
        dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
      }[];
    };
    const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
    const loaded = new Set<string>();
    const visit = (specifier: string) => {
      if (loaded.has(specifier)) return;
      loaded.add(specifier);
      for (const dep of bySpecifier.get(specifier)?.dependencies ?? []) {
        if (dep.code && !dep.isDynamic) visit(dep.code.specifier);
      }
    };
    visit(graph.roots[0]);
    assert.ok(!loaded.has("node:path"), `${command} loads node:path before it runs`);
  }
});
