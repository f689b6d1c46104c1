import assert from "node:assert/strict";
import { join } from "node:path";
import { UserError } from "../src/cli/errors.ts";
import {
  configKeys,
  DEFAULT_CONFIG,
  defaultConfig,
  loadConfig,
  type LoadedConfig,
  parseConfig,
} from "../src/core/config.ts";
import { projectAt } from "../src/core/project.ts";
import { tempDir } from "./helpers/repo.ts";

const PATH = "/repo/.cmcs/config.yml";
const SHOWN = ".cmcs/config.yml";

function parse(text: string): LoadedConfig {
  return parseConfig(text, PATH, { displayPath: SHOWN });
}

/** Parses `text`, expecting a UserError; returns it. */
function parseError(text: string): UserError {
  try {
    parse(text);
  } catch (error) {
    assert.ok(error instanceof UserError, `expected a UserError, got ${error}`);
    assert.equal(error.exitCode, 1);
    return error;
  }
  assert.fail(`expected an error for:\n${text}`);
}

async function projectWithConfig(dir: string, text?: string | Uint8Array) {
  const project = projectAt(dir, false);
  await Deno.mkdir(project.cmcsDir, { recursive: true });
  if (typeof text === "string") await Deno.writeTextFile(project.configPath, text);
  else if (text) await Deno.writeFile(project.configPath, text);
  return project;
}

Deno.test("loadConfig() gives every default, each sourced as default, when there is no config file", async () => {
  await using dir = await tempDir();
  const project = await projectWithConfig(dir.path);
  const loaded = await loadConfig(project);
  assert.equal(loaded.exists, false);
  assert.equal(loaded.path, project.configPath);
  assert.deepEqual(loaded.config, DEFAULT_CONFIG);
  assert.deepEqual(loaded.warnings, []);
  assert.deepEqual(
    Object.keys(loaded.sources).sort(),
    configKeys().map((k) => k.key).sort(),
  );
  assert.ok(Object.values(loaded.sources).every((source) => source === "default"));
});

Deno.test("loadConfig() reads the file and records the absolute path and line of each value", async () => {
  await using dir = await tempDir();
  const project = await projectWithConfig(
    dir.path,
    "# my config\ncodex:\n  model: gpt-5.5\n\ndashboard:\n  port: 9000\n",
  );
  const loaded = await loadConfig(project);
  assert.equal(loaded.exists, true);
  assert.equal(loaded.config.codex.model, "gpt-5.5");
  assert.equal(loaded.config.dashboard.port, 9000);
  assert.equal(loaded.sources["codex.model"], `${project.configPath}:3`);
  assert.equal(loaded.sources["dashboard.port"], `${project.configPath}:6`);
  assert.equal(loaded.sources["codex.command"], "default");
});

Deno.test("loadConfig() treats an empty file and a comments-only file as all defaults", async () => {
  for (const text of ["", "# nothing yet\n# codex:\n#   model: x\n", "---\n"]) {
    await using dir = await tempDir();
    const loaded = await loadConfig(await projectWithConfig(dir.path, text));
    assert.equal(loaded.exists, true);
    assert.deepEqual(loaded.config, DEFAULT_CONFIG, JSON.stringify(text));
  }
});

Deno.test("loadConfig() rejects a file that is not UTF-8, naming the file", async () => {
  await using dir = await tempDir();
  const project = await projectWithConfig(
    dir.path,
    new Uint8Array([0x63, 0x6f, 0x64, 0x65, 0x78, 0x3a, 0x0a, 0xff, 0xfe]),
  );
  await assert.rejects(loadConfig(project), (error: Error) => {
    assert.ok(error instanceof UserError);
    assert.match(error.message, /config\.yml: the file is not valid UTF-8/);
    return true;
  });
});

Deno.test("loadConfig() tolerates a UTF-8 BOM and CRLF line ends", async () => {
  await using dir = await tempDir();
  const project = await projectWithConfig(dir.path, "\uFEFFcodex:\r\n  timeout_s: 60\r\n");
  const loaded = await loadConfig(project);
  assert.equal(loaded.config.codex.timeout_s, 60);
  assert.equal(loaded.sources["codex.timeout_s"], `${project.configPath}:2`);
});

Deno.test("parseConfig() deep-merges the file over the defaults, key by key", () => {
  const loaded = parse(
    "codex:\n  reasoning_effort: high\n  extra_args: [--search]\nworktrees:\n  port_range: [5000, 5009]\n",
  );
  const expected = defaultConfig();
  expected.codex.reasoning_effort = "high";
  expected.codex.extra_args = ["--search"];
  expected.worktrees.port_range = [5000, 5009];
  assert.deepEqual(loaded.config, expected);
  assert.equal(loaded.sources["codex.reasoning_effort"], `${PATH}:2`);
  assert.equal(loaded.sources["codex.extra_args"], `${PATH}:3`);
  assert.equal(loaded.sources["worktrees.port_range"], `${PATH}:5`);
  assert.equal(loaded.sources["codex.sandbox"], "default");
  assert.equal(loaded.sources["worktrees.root"], "default");
});

Deno.test("parseConfig() accepts null for a nullable key and an empty section", () => {
  const loaded = parse("codex:\n  model: null\n  fallback_model:\nhooks:\ndashboard: {}\n");
  assert.equal(loaded.config.codex.model, null);
  assert.equal(loaded.config.codex.fallback_model, null);
  assert.equal(loaded.sources["codex.model"], `${PATH}:2`);
  assert.deepEqual(loaded.config.hooks, DEFAULT_CONFIG.hooks);
});

Deno.test("parseConfig() accepts every documented value of each enum and a whole config", () => {
  const loaded = parse(`
codex:
  command: /opt/codex/bin/codex
  model: gpt-5.5
  reasoning_effort: xhigh
  sandbox: workspace-write
  timeout_s: 0.5
  idle_timeout_s: 120
  auto_commit: false
  fallback_model: gpt-5.5-long
  extra_args: ["--search", "-c", "foo=1"]
  max_retries: 0
  retry_backoff_s: 0
  stop_grace_s: 2
tickets:
  dir: tickets/
worktrees:
  root: .worktrees/nested
  base: origin/main
  copy: [.env, config/local.json]
  setup: npm ci
  archive: ./scripts/archive.sh
  timeout_s: 60
  port_range: [1, 65535]
run:
  max_parallel: 1
git:
  timeout_s: 30
hooks:
  on_ticket_end: notify-send done
  on_run_end: echo end
  timeout_s: 5
dashboard:
  host: 0.0.0.0
  port: 65535
`);
  assert.equal(loaded.config.codex.auto_commit, false);
  assert.equal(loaded.config.codex.timeout_s, 0.5);
  assert.equal(loaded.config.worktrees.base, "origin/main");
  assert.deepEqual(loaded.config.worktrees.copy, [".env", "config/local.json"]);
  assert.equal(loaded.config.dashboard.host, "0.0.0.0");
  assert.ok(Object.values(loaded.sources).every((source) => source !== "default"));
  for (const effort of ["low", "medium", "high", "xhigh"]) {
    assert.equal(
      parse(`codex:\n  reasoning_effort: ${effort}\n`).config.codex.reasoning_effort,
      effort,
    );
  }
  for (const sandbox of ["read-only", "workspace-write", "danger-full-access"]) {
    assert.equal(parse(`codex:\n  sandbox: ${sandbox}\n`).config.codex.sandbox, sandbox);
  }
});

/** Each bad config: the line the error must name, and text the message must contain. */
const ERROR_CASES: { name: string; yaml: string; line: number; says: string[]; hint?: RegExp }[] = [
  {
    name: "a YAML syntax error",
    yaml: "codex:\n  model: gpt-5\n  extra_args: [a, b\n",
    line: 4,
    says: ["invalid YAML"],
    hint: /YAML syntax/,
  },
  {
    name: "a bad indentation",
    yaml: "codex:\n  model: x\n   timeout_s: 5\n",
    line: 2,
    says: ["invalid YAML"],
  },
  {
    name: "a key given twice",
    yaml: "codex:\n  model: a\n  timeout_s: 5\n  model: b\n",
    line: 4,
    says: ["invalid YAML", "twice"],
  },
  {
    name: "a top level that is a list",
    yaml: "# comment\n- codex\n- model\n",
    line: 2,
    says: ["top level must be a mapping", "got a list"],
  },
  {
    name: "a top level that is a scalar",
    yaml: "codex\n",
    line: 1,
    says: ["top level must be a mapping", 'got "codex"'],
  },
  {
    name: "a section that is not a mapping",
    yaml: "codex:\n  model: x\nworktrees: 5\n",
    line: 3,
    says: ["worktrees must be a mapping", "got 5"],
  },
  {
    name: "a section that is a list",
    yaml: "run:\n  - max_parallel: 2\n",
    line: 2,
    says: ["run must be a mapping", "got a list"],
  },
  {
    name: "an unknown section",
    yaml: "codex:\n  model: x\nworktree:\n  root: w\n",
    line: 3,
    says: ["unknown section worktree", "did you mean worktrees?"],
    hint: /codex, tickets, worktrees, run, git, hooks, dashboard/,
  },
  {
    name: "an unknown key",
    yaml: "codex:\n  model: x\n  timeout: 60\n",
    line: 3,
    says: ["unknown key codex.timeout", "did you mean codex.timeout_s?"],
    hint: /idle_timeout_s/,
  },
  {
    name: "a misspelt key",
    yaml: "codex:\n  modle: x\n",
    line: 2,
    says: ["unknown key codex.modle", "did you mean codex.model?"],
  },
  {
    name: "a key in the wrong section",
    yaml: "codex:\n  max_parallel: 2\n",
    line: 2,
    says: ["unknown key codex.max_parallel", "did you mean run.max_parallel?"],
  },
  {
    name: "a string where a number is expected",
    yaml: 'codex:\n  timeout_s: "600"\n',
    line: 2,
    says: ["codex.timeout_s must be a number > 0", 'got the string "600"'],
  },
  {
    name: "a zero timeout",
    yaml: "codex:\n  model: x\n  auto_commit: true\n  timeout_s: 0\n",
    line: 4,
    says: ["codex.timeout_s must be a number > 0, got 0"],
  },
  {
    name: "a negative idle timeout",
    yaml: "codex:\n  idle_timeout_s: -5\n",
    line: 2,
    says: ["codex.idle_timeout_s must be a number > 0, got -5"],
  },
  {
    name: "a zero hook timeout",
    yaml: "hooks:\n  timeout_s: 0\n",
    line: 2,
    says: ["hooks.timeout_s must be a number > 0"],
  },
  {
    name: "a zero stop grace",
    yaml: "codex:\n  stop_grace_s: 0\n",
    line: 2,
    says: ["codex.stop_grace_s must be a number > 0"],
  },
  {
    name: "a negative retry backoff",
    yaml: "codex:\n  retry_backoff_s: -1\n",
    line: 2,
    says: ["codex.retry_backoff_s must be a number >= 0"],
  },
  {
    name: "a fractional retry count",
    yaml: "codex:\n  max_retries: 1.5\n",
    line: 2,
    says: ["codex.max_retries must be a whole number >= 0, got 1.5"],
  },
  {
    name: "zero parallel runs",
    yaml: "run:\n  max_parallel: 0\n",
    line: 2,
    says: ["run.max_parallel must be a whole number >= 1, got 0"],
  },
  {
    name: 'the string "false" for auto_commit',
    yaml: 'codex:\n  auto_commit: "false"\n',
    line: 2,
    says: ['codex.auto_commit must be true or false, got the string "false"'],
    hint: /write false without quotes/,
  },
  {
    name: "yes for auto_commit (a string in YAML 1.2)",
    yaml: "codex:\n  auto_commit: yes\n",
    line: 2,
    says: ["codex.auto_commit must be true or false", 'the string "yes"'],
    hint: /write true without quotes/,
  },
  {
    name: "a number for auto_commit",
    yaml: "codex:\n  auto_commit: 1\n",
    line: 2,
    says: ["codex.auto_commit must be true or false, got 1"],
  },
  {
    name: "an unknown sandbox",
    yaml: "codex:\n  sandbox: none\n",
    line: 2,
    says: ["codex.sandbox must be one of read-only, workspace-write, danger-full-access", '"none"'],
  },
  {
    name: "an unknown reasoning effort",
    yaml: "codex:\n  reasoning_effort: extreme\n",
    line: 2,
    says: ["codex.reasoning_effort must be one of low, medium, high, xhigh or null", '"extreme"'],
  },
  {
    name: "null for a non-nullable key",
    yaml: "codex:\n  sandbox: null\n",
    line: 2,
    says: ["codex.sandbox must be one of", "got null"],
  },
  {
    name: "an empty value for a non-nullable key",
    yaml: "codex:\n  command:\n",
    line: 2,
    says: ["codex.command must be a non-empty string, got null"],
  },
  {
    name: "a number for the model",
    yaml: "codex:\n  model: 5\n",
    line: 2,
    says: ["codex.model must be a non-empty string or null, got 5"],
  },
  {
    name: "a dashboard port out of range",
    yaml: "dashboard:\n  port: 70000\n",
    line: 2,
    says: ["dashboard.port must be a whole number from 1 to 65535, got 70000"],
  },
  {
    name: "a port range with an item out of range, on its own line",
    yaml: "worktrees:\n  port_range:\n    - 4300\n    - 0\n",
    line: 4,
    says: ["worktrees.port_range must be [start, end]", "got 0 (item 2)"],
  },
  {
    name: "a port range that starts after it ends",
    yaml: "worktrees:\n  port_range: [4399, 4300]\n",
    line: 2,
    says: ["worktrees.port_range must be [start, end]", "start <= end"],
    hint: /smaller port first/,
  },
  {
    name: "an absolute tickets.dir",
    yaml: "tickets:\n  dir: /etc/tickets\n",
    line: 2,
    says: ["tickets.dir must be a relative path inside the target", '"/etc/tickets"'],
  },
  {
    name: "a tickets.dir that escapes with ..",
    yaml: "tickets:\n  dir: tickets/../../elsewhere\n",
    line: 2,
    says: ["tickets.dir must be a relative path inside the target"],
    hint: /\.\./,
  },
  {
    name: "a worktrees.root that escapes with ..",
    yaml: "worktrees:\n  root: ../wt\n",
    line: 2,
    says: ["worktrees.root must be a relative path inside the main checkout"],
  },
  {
    name: "an absolute worktrees.root",
    yaml: "worktrees:\n  root: /tmp/wt\n",
    line: 2,
    says: ["worktrees.root must be a relative path inside the main checkout"],
  },
  {
    name: "the main checkout itself as worktrees.root",
    yaml: "worktrees:\n  root: .\n",
    line: 2,
    says: ["worktrees.root must be a subdirectory of the main checkout"],
  },
  {
    name: "a non-string in extra_args, on its own line",
    yaml: "codex:\n  extra_args:\n    - --search\n    - 42\n",
    line: 4,
    says: ["codex.extra_args must be a list of strings, got 42 (item 2)"],
  },
  {
    name: "a string for extra_args",
    yaml: "codex:\n  extra_args: --search\n",
    line: 2,
    says: ["codex.extra_args must be a list of strings", '"--search"'],
  },
  {
    name: "a non-string in worktrees.copy",
    yaml: "worktrees:\n  copy: [.env, {a: 1}]\n",
    line: 2,
    says: ["worktrees.copy must be a list of strings, got a mapping (item 2)"],
  },
];

for (const c of ERROR_CASES) {
  Deno.test(`parseConfig() rejects ${c.name}, naming the file, line ${c.line} and the key`, () => {
    const error = parseError(c.yaml);
    assert.ok(
      error.message.startsWith(`${SHOWN}:${c.line}: `),
      `expected "${SHOWN}:${c.line}: …", got: ${error.message}`,
    );
    for (const part of c.says) {
      assert.ok(error.message.includes(part), `"${part}" not in: ${error.message}`);
    }
    assert.ok(!error.message.includes("\n"), `message is not one line: ${error.message}`);
    assert.ok(error.hint, "a hint says what to do");
    if (c.hint) assert.match(error.hint, c.hint);
  });
}

Deno.test("parseConfig() translates the earlier cmcs's default codex.args, with one warning", () => {
  const loaded = parse(`codex:
  model: gpt-5.3-codex
  args:
    - --yolo
    - exec
    - --sandbox
    - danger-full-access
    - -c
    - reasoning_effort=xhigh
`);
  assert.equal(loaded.config.codex.sandbox, "danger-full-access");
  assert.equal(loaded.config.codex.reasoning_effort, "xhigh");
  assert.equal(loaded.config.codex.model, "gpt-5.3-codex");
  assert.deepEqual(loaded.config.codex.extra_args, []);
  assert.equal(loaded.sources["codex.reasoning_effort"], `${PATH}:3`);
  assert.equal(loaded.sources["codex.sandbox"], `${PATH}:3`);
  assert.deepEqual(loaded.warnings, [
    `${SHOWN}:3: codex.args is from the earlier cmcs; translated to ` +
    "codex.sandbox: danger-full-access and codex.reasoning_effort: xhigh — replace it",
  ]);
});

Deno.test("parseConfig() translates -s, -m, --full-auto and model_reasoning_effort from codex.args", () => {
  const loaded = parse(
    'codex:\n  args: ["exec", "--full-auto", "-m", "o3", "-c", "model_reasoning_effort=\\"low\\""]\n',
  );
  assert.equal(loaded.config.codex.sandbox, "workspace-write");
  assert.equal(loaded.config.codex.model, "o3");
  assert.equal(loaded.config.codex.reasoning_effort, "low");
  assert.equal(loaded.warnings.length, 1);
  assert.match(loaded.warnings[0], /codex\.sandbox: workspace-write/);
  assert.match(loaded.warnings[0], /codex\.model: o3/);

  const short = parse('codex:\n  args: ["-s", "read-only", "--model=gpt-5"]\n');
  assert.equal(short.config.codex.sandbox, "read-only");
  assert.equal(short.config.codex.model, "gpt-5");
});

Deno.test("parseConfig() keeps other codex.args as extra_args and warns once per dropped flag", () => {
  const loaded = parse(`codex:
  extra_args: ["--ephemeral"]
  args: ["-a", "never", "exec", "--skip-git-repo-check", "-c", "web_search=true"]
`);
  assert.deepEqual(loaded.config.codex.extra_args, [
    "--skip-git-repo-check",
    "-c",
    "web_search=true",
    "--ephemeral",
  ]);
  assert.equal(loaded.config.codex.sandbox, "danger-full-access");
  assert.equal(loaded.sources["codex.sandbox"], "default");
  assert.equal(loaded.warnings.length, 2);
  assert.match(loaded.warnings[0], /^\.cmcs\/config\.yml:3: codex\.args .*codex\.extra_args/);
  assert.match(loaded.warnings[1], /dropped "-a never"/);
});

Deno.test("parseConfig() lets an explicit key win over codex.args, and says so", () => {
  const loaded = parse(
    "codex:\n  args: [--yolo, exec, -c, reasoning_effort=xhigh]\n  sandbox: read-only\n",
  );
  assert.equal(loaded.config.codex.sandbox, "read-only");
  assert.equal(loaded.sources["codex.sandbox"], `${PATH}:3`);
  assert.equal(loaded.config.codex.reasoning_effort, "xhigh");
  assert.ok(loaded.warnings.some((w) => /ignored --yolo \(codex\.sandbox is set\)/.test(w)));
});

Deno.test("parseConfig() warns that a codex.args of only exec is no longer needed", () => {
  const loaded = parse("codex:\n  args: [exec]\n");
  assert.deepEqual(loaded.config, DEFAULT_CONFIG);
  assert.equal(loaded.warnings.length, 1);
  assert.match(loaded.warnings[0], /nothing in it is needed any more — remove it/);
});

Deno.test("parseConfig() rejects a codex.args it cannot translate, at its line", () => {
  const cases: [string, RegExp][] = [
    [
      "codex:\n  model: x\n  args: [--sandbox, nowhere]\n",
      /:3: codex\.args .*unknown sandbox "nowhere"/,
    ],
    [
      "codex:\n  args: [-c, reasoning_effort=max]\n",
      /:2: codex\.args .*unknown reasoning effort "max"/,
    ],
    ["codex:\n  args: [exec, -m]\n", /:2: codex\.args .*-m has no value/],
    ["codex:\n  args: --yolo exec\n", /:2: codex\.args .*must be a list of strings/],
  ];
  for (const [text, message] of cases) {
    assert.match(parseError(text).message, message);
  }
});

Deno.test("parseConfig() reads worktrees.start_point as worktrees.base, with a warning", () => {
  const loaded = parse("worktrees:\n  root: wt\n  start_point: master\n");
  assert.equal(loaded.config.worktrees.base, "master");
  assert.equal(loaded.sources["worktrees.base"], `${PATH}:3`);
  assert.deepEqual(loaded.warnings, [
    `${SHOWN}:3: worktrees.start_point is from the earlier cmcs; read as worktrees.base: master — rename it`,
  ]);
  const both = parse("worktrees:\n  start_point: master\n  base: main\n");
  assert.equal(both.config.worktrees.base, "main");
  assert.match(both.warnings[0], /ignored because worktrees\.base is set/);
});

Deno.test("parseConfig() still rejects unknown keys in a legacy config", () => {
  const error = parseError("codex:\n  args: [--yolo, exec]\n  timeout: 60\n");
  assert.match(error.message, /^\.cmcs\/config\.yml:3: unknown key codex\.timeout/);
});

Deno.test("the default model and effort are unset, so Codex uses the user's own configuration", () => {
  assert.equal(DEFAULT_CONFIG.codex.model, null);
  assert.equal(DEFAULT_CONFIG.codex.reasoning_effort, null);
  assert.equal(DEFAULT_CONFIG.codex.sandbox, "danger-full-access");
});

Deno.test("defaultConfig() is a copy: changing it leaves DEFAULT_CONFIG and later loads alone", () => {
  const copy = defaultConfig();
  copy.codex.extra_args.push("--x");
  copy.worktrees.port_range[0] = 1;
  assert.deepEqual(DEFAULT_CONFIG.codex.extra_args, []);
  assert.deepEqual(parse("").config.worktrees.port_range, [4300, 4399]);
  assert.throws(() => {
    (DEFAULT_CONFIG.codex as { timeout_s: number }).timeout_s = 1;
  });
});

Deno.test("configKeys() lists every leaf of the config once, with its default", () => {
  const keys = configKeys();
  const leaves: string[] = [];
  for (const [section, values] of Object.entries(DEFAULT_CONFIG)) {
    for (const key of Object.keys(values)) leaves.push(`${section}.${key}`);
  }
  assert.deepEqual(keys.map((k) => k.key).sort(), leaves.sort());
  for (const { key, type, default: value, description } of keys) {
    const [section, name] = key.split(".");
    assert.deepEqual(
      value,
      (DEFAULT_CONFIG as unknown as Record<string, Record<string, unknown>>)[section][name],
    );
    assert.ok(type.length > 0 && description.length > 0, key);
  }
  const timeout = keys.find((k) => k.key === "codex.timeout_s")!;
  assert.equal(timeout.type, "number > 0");
  assert.equal(timeout.default, 1800);
});

Deno.test("loadConfig() names the file relative to the current directory in errors when below it", async () => {
  await using dir = await tempDir();
  const project = await projectWithConfig(dir.path, "codex:\n  timeout_s: 0\n");
  const before = Deno.cwd();
  Deno.chdir(dir.path);
  try {
    await assert.rejects(loadConfig(project), (error: Error) => {
      assert.match(error.message, /^\.cmcs\/config\.yml:2: codex\.timeout_s/);
      return true;
    });
  } finally {
    Deno.chdir(before);
  }
  await assert.rejects(loadConfig(project), (error: Error) => {
    assert.ok(error.message.startsWith(`${join(dir.path, ".cmcs", "config.yml")}:2:`));
    return true;
  });
});
