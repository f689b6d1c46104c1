/**
 * cmcs: the command tree. Each command's implementation lives in `src/commands/<name>.ts` and is
 * imported only when that command runs.
 *
 * Start-up: `cmcs --help`, `cmcs status` and `cmcs brief` are first offered to the fast path
 * (src/commands/fast_path.ts), which parses them without commander; only when it declines is commander
 * loaded (with its Node built-ins, about twice an empty Deno program). Hence the top-level
 * on-demand load of commander instead of a static import: a static one is loaded before any line
 * of this module runs. Commander and the commands are loaded through src/core/lazy.ts rather than
 * with literal `import()`s, which `deno run` would fetch and analyse, every one of them, before the
 * first line runs (see {@link OnDemand}).
 */
import type { Command as CommandType } from "@commander-js/extra-typings";
import { fastPath } from "./src/commands/fast_path.ts";
import { invoke } from "./src/cli/invoke.ts";
import { onDemand } from "./src/core/lazy.ts";
import { print, printError, setPrettyJson } from "./src/cli/output.ts";
import { integer, seconds } from "./src/cli/parse.ts";
import { VERSION } from "./src/version.ts";

if (import.meta.main) {
  const code = await fastPath(Deno.args);
  if (code !== null) Deno.exit(code);
}

/**
 * What main.ts loads on demand: commander once the fast path declines, and each command's module
 * when that command runs. Types only — loading goes through src/core/lazy.ts, so that `deno run`
 * does not fetch and analyse all of them before the first line runs, and the bundle build reads
 * this list to put each of them into the one-file program.
 */
interface OnDemand {
  "@commander-js/extra-typings": typeof import("@commander-js/extra-typings");
  "src/commands/init.ts": typeof import("./src/commands/init.ts");
  "src/commands/version.ts": typeof import("./src/commands/version.ts");
  "src/commands/config_show.ts": typeof import("./src/commands/config_show.ts");
  "src/commands/ticket_validate.ts": typeof import("./src/commands/ticket_validate.ts");
  "src/commands/ticket_new.ts": typeof import("./src/commands/ticket_new.ts");
  "src/commands/status.ts": typeof import("./src/commands/status.ts");
  "src/commands/brief.ts": typeof import("./src/commands/brief.ts");
  "src/commands/clean.ts": typeof import("./src/commands/clean.ts");
  "src/commands/run.ts": typeof import("./src/commands/run.ts");
  "src/commands/stop.ts": typeof import("./src/commands/stop.ts");
  "src/commands/wait.ts": typeof import("./src/commands/wait.ts");
  "src/commands/worktree_create.ts": typeof import("./src/commands/worktree_create.ts");
  "src/commands/worktree_list.ts": typeof import("./src/commands/worktree_list.ts");
  "src/commands/worktree_cleanup.ts": typeof import("./src/commands/worktree_cleanup.ts");
  "src/commands/logs.ts": typeof import("./src/commands/logs.ts");
  "src/commands/result.ts": typeof import("./src/commands/result.ts");
  "src/commands/diff.ts": typeof import("./src/commands/diff.ts");
  "src/commands/resume.ts": typeof import("./src/commands/resume.ts");
  "src/commands/accept.ts": typeof import("./src/commands/accept.ts");
  "src/mcp/command.ts": typeof import("./src/mcp/command.ts");
  "src/commands/dashboard.ts": typeof import("./src/commands/dashboard.ts");
}
const load = onDemand<OnDemand>();

const { Command, Option } = await load("@commander-js/extra-typings");
type Command = CommandType;

const EFFORTS = ["low", "medium", "high", "xhigh"] as const;

function example(...lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  $ ${line}`).join("\n")}\n`;
}

export function buildProgram(): Command {
  const program = new Command("cmcs")
    .description(
      "Broker between an orchestrating agent (Claude) and Codex workers: runs ticket files through\n" +
        "`codex exec`, records every run in .cmcs/cmcs.db and serves a live dashboard.",
    )
    .version(VERSION, "-V, --version", "print the version")
    .helpCommand(false)
    .showSuggestionAfterError(true)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({
      // A mistyped option or argument is echoed back: it must not carry escapes to the terminal.
      writeOut: (text) => print(text.replace(/\n$/, "")),
      writeErr: (text) => printError(text.replace(/\n$/, "")),
    })
    .addHelpText(
      "after",
      example("cmcs init", 'cmcs ticket new --title "Add a README"', "cmcs run", "cmcs status"),
    );

  program
    .command("init")
    .description("create .cmcs/ (tickets, logs, database, .gitignore) in this repository")
    .addHelpText("after", example("cmcs init"))
    .action(() => invoke(async () => (await load("src/commands/init.ts")).init()));

  program
    .command("version")
    .description("print the version and build")
    .option("--json", "print JSON")
    .addHelpText("after", example("cmcs version --json"))
    .action((opts) => invoke(async () => (await load("src/commands/version.ts")).version(opts)));

  const config = program.command("config").description("inspect the configuration");
  config
    .command("show")
    .description("print the effective config and where each value came from")
    .option("--json", "print JSON")
    .addHelpText("after", example("cmcs config show", "cmcs config show --json"))
    .action((opts) =>
      invoke(async () => (await load("src/commands/config_show.ts")).configShow(opts))
    );

  const ticket = program.command("ticket").description("write and check tickets");
  ticket
    .command("validate")
    .description("check every ticket of a target; exit 1 if any has a problem")
    .argument("[path]", "repository or worktree", ".")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      example("cmcs ticket validate", "cmcs ticket validate worktrees/feat-x --json"),
    )
    .action((path, opts) =>
      invoke(async () => (await load("src/commands/ticket_validate.ts")).ticketValidate(path, opts))
    );
  ticket
    .command("new")
    .description("write the next-numbered ticket from the template and print its path")
    .argument("[path]", "repository or worktree", ".")
    .requiredOption("--title <title>", "the ticket's title")
    .option("--model <model>", "Codex model for this ticket")
    .addOption(new Option("--effort <effort>", "reasoning effort for this ticket").choices(EFFORTS))
    .option("--json", "print JSON")
    .addHelpText("after", example('cmcs ticket new --title "Add input validation" --effort high'))
    .action((path, opts) =>
      invoke(async () => (await load("src/commands/ticket_new.ts")).ticketNew(path, opts))
    );

  program
    .command("status")
    .description("list runs, newest first, with ticket counts, duration and tokens")
    .argument("[path]", "only runs of this repository or worktree")
    .option("--active", "only running runs")
    .option("--latest", "only the latest run of each target")
    .option(
      "--limit <n>",
      "show the n newest runs (default: every running run and the 10 newest)",
      integer(1),
    )
    .option("--json", "print JSON")
    .addHelpText("after", example("cmcs status", "cmcs status . --latest --json"))
    .action((path, opts) =>
      invoke(async () => (await load("src/commands/status.ts")).status(path, opts))
    );

  program
    .command("brief")
    .description(
      "this repository's cmcs state in a few lines (running, finished awaiting review, failed) " +
        "for a session-start hook; read-only; prints nothing where there is no .cmcs/",
    )
    .argument("[path]", "a directory of the repository", ".")
    .option("--json", "print JSON (null where there is no .cmcs/)")
    .addHelpText("after", example("cmcs brief", "cmcs brief --json"))
    .action((path, opts) =>
      invoke(async () => (await load("src/commands/brief.ts")).brief(path, opts))
    );

  program
    .command("clean")
    .description("delete old log directories (never a running run's) and archived worktree records")
    .option(
      "--logs-days <n>",
      "delete logs of runs that ended more than n days ago",
      integer(0),
      30,
    )
    .option("--purge-archived", "delete archived worktree records that have no runs")
    .option("--dry-run", "only print what would be deleted")
    .option("--json", "print JSON")
    .addHelpText("after", example("cmcs clean --logs-days 7 --dry-run"))
    .action((opts) => invoke(async () => (await load("src/commands/clean.ts")).clean(opts)));

  program
    .command("run")
    .description("run the target's tickets in order through Codex until one does not succeed")
    .argument("[paths...]", "repositories or worktrees (default: .)")
    .option("--dry-run", "list what would be dispatched, with model and effort, and exit")
    .option("--all", "every registered target (main checkout and worktrees) with a ticket to run")
    .option("--detach", "run in a background broker; print the run ids and return at once")
    .option("--json", "print a JSON summary at the end")
    .addHelpText(
      "after",
      example(
        "cmcs run",
        "cmcs run --dry-run",
        "cmcs run worktrees/feat-a --json",
        "cmcs run worktrees/feat-a worktrees/feat-b",
        "cmcs run --all --detach --json",
      ),
    )
    .action((paths, opts) =>
      invoke(async () => (await load("src/commands/run.ts")).run(paths, opts))
    );

  program
    .command("stop")
    .description(
      "stop a running run: end its worker's whole process tree; no further ticket starts " +
        "(a queued target is taken out of the queue)",
    )
    .argument("<target>", "a repository/worktree path or a run id")
    .option("--json", "print JSON")
    .addHelpText("after", example("cmcs stop .", "cmcs stop 42"))
    .action((target, opts) =>
      invoke(async () => (await load("src/commands/stop.ts")).stop(target, opts))
    );

  program
    .command("wait")
    .description(
      "block until the latest run of each target ends; exit 0 completed, 1 otherwise, 124 timeout",
    )
    .argument("[paths...]", "repositories or worktrees (default: .)")
    .option("--all", "every registered target that has a run (or is queued)")
    .option("--any", "return as soon as one of the runs ended")
    .option("--timeout <s>", "give up after s seconds (exit 124)", seconds)
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      example(
        "cmcs wait . --timeout 600",
        "cmcs wait --all",
        "cmcs wait worktrees/a worktrees/b --any",
      ),
    )
    .action((paths, opts) =>
      invoke(async () => (await load("src/commands/wait.ts")).wait(paths, opts))
    );

  const worktree = program
    .command("worktree")
    .description("create, list and clean up git worktrees, one per stream of tickets");
  worktree
    .command("create")
    .description(
      "add a worktree for a branch under worktrees.root, copy ignored files and tickets, run setup",
    )
    .argument("<branch>", "branch to create, or an existing branch to check out (feat/x nests)")
    .option("--from <ref>", "start a new branch here (default: worktrees.base, else HEAD)")
    .option(
      "--tickets <glob>",
      "copy matching ticket files from the main checkout, e.g. 'TICKET-00[1-3]*'",
    )
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      example(
        "cmcs worktree create feat/login",
        "cmcs worktree create fix-42 --from origin/main --tickets 'TICKET-01*' --json",
      ),
    )
    .action((branch, opts) =>
      invoke(async () =>
        (await load("src/commands/worktree_create.ts")).worktreeCreate(branch, opts)
      )
    );
  worktree
    .command("list")
    .description(
      "list targets: branch, state, latest run, tickets done/total, ahead/behind, uncommitted",
    )
    .option("--all", "include archived (cleaned up) worktrees")
    .option("--json", "print JSON")
    .addHelpText("after", example("cmcs worktree list", "cmcs worktree list --json"))
    .action((opts) =>
      invoke(async () => (await load("src/commands/worktree_list.ts")).worktreeList(opts))
    );
  worktree
    .command("cleanup")
    .description(
      "remove a worktree and its branch; refuses if work would be lost (uncommitted changes, commits on no other branch, tag or worktree)",
    )
    .argument("<branch>", "the worktree's branch")
    .option(
      "--force",
      "remove even so, after saving that work under refs/cmcs/saved/ (it prints how to restore it)",
    )
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      example("cmcs worktree cleanup feat/login", "cmcs worktree cleanup spike --force"),
    )
    .action((branch, opts) =>
      invoke(async () =>
        (await load("src/commands/worktree_cleanup.ts")).worktreeCleanup(branch, opts)
      )
    );

  program
    .command("logs")
    .description("show a readable rendering of a run's worker output")
    .argument("[path]", "repository or worktree", ".")
    .option("--run <id>", "a specific run (default: the latest of the target)", integer(1))
    .option("--ticket <ticket>", "a specific ticket (default: the latest attempt)")
    .option("-n, --lines <n>", "show the last n lines", integer(1), 40)
    .option(
      "-f, --follow",
      "keep printing new output, moving on to the next ticket, until the run ends",
    )
    .option("--raw", "print the raw JSONL stream instead")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      example("cmcs logs", "cmcs logs . --ticket TICKET-002 -n 100", "cmcs logs -f"),
    )
    .action((path, opts) =>
      invoke(async () => (await load("src/commands/logs.ts")).logs(path, opts))
    );

  program
    .command("result")
    .description(
      "a short review packet for one ticket: outcome, attempts, tokens, files changed, final message",
    )
    .argument("<path>", "repository or worktree")
    .argument("[ticket]", "the ticket (default: the one of the target's latest attempt)")
    .option("--json", "print JSON (every attempt and every file)")
    .addHelpText(
      "after",
      example("cmcs result .", "cmcs result . TICKET-002", "cmcs result worktrees/feat-a 3 --json"),
    )
    .action((path, ticket, opts) =>
      invoke(async () => (await load("src/commands/result.ts")).result(path, ticket, opts))
    );

  program
    .command("diff")
    .description(
      "show what a ticket changed: git diff of its commits, or of the working tree when nothing was committed",
    )
    .argument("<path>", "repository or worktree")
    .argument("[ticket]", "the ticket (default: the one of the target's latest attempt)")
    .option("--stat", "only the changed files with +/- counts (git diff --stat)")
    .addHelpText("after", example("cmcs diff . TICKET-002", "cmcs diff . --stat"))
    .action((path, ticket, opts) =>
      invoke(async () => (await load("src/commands/diff.ts")).diff(path, ticket, opts))
    );

  program
    .command("resume")
    .description(
      "send a ticket back to the same Codex conversation with feedback (re-opens it, new run)",
    )
    .argument("<path>", "repository or worktree")
    .argument("<ticket>", "the ticket to continue")
    .option("-m, --message <feedback>", "the feedback for the worker")
    .option("--file <file>", "read the feedback from a file (- for stdin)")
    .option("--json", "print a JSON summary at the end")
    .addHelpText(
      "after",
      example(
        'cmcs resume . TICKET-002 -m "Also handle empty input and add a test for it"',
        "cmcs resume worktrees/feat-a TICKET-004 --file review.md",
      ),
    )
    .action((path, ticket, opts) =>
      invoke(async () => (await load("src/commands/resume.ts")).resume(path, ticket, opts))
    );

  program
    .command("accept")
    .description(
      "accept tickets whose latest attempt ended done: they leave the review queue " +
        "(a ticket that is not done is refused, and then nothing is accepted)",
    )
    .argument("<path>", "repository or worktree")
    .argument("<tickets...>", "the tickets to accept (TICKET-002, 2, ticket-2.md)")
    .option("--json", "print JSON")
    .addHelpText("after", example("cmcs accept . TICKET-002", "cmcs accept worktrees/feat-a 3 4"))
    .action((path, tickets, opts) =>
      invoke(async () => (await load("src/commands/accept.ts")).accept(path, tickets, opts))
    );

  program
    .command("mcp")
    .description(
      "serve cmcs's commands as tools to an MCP client (Claude Code, Codex, …) over stdin/stdout, " +
        "for this repository only, until stdin closes",
    )
    .option("--repo <path>", "the repository to serve (default: the current directory's)")
    .addHelpText(
      "after",
      example("cmcs mcp", "cmcs mcp --repo ~/src/app", "codex mcp add cmcs -- cmcs mcp"),
    )
    .action((opts) => invoke(async () => (await load("src/mcp/command.ts")).mcp(opts)));

  program
    .command("dashboard")
    .description("serve the live web dashboard of this project (127.0.0.1:4173) until Ctrl-C")
    .option(
      "--port <n>",
      "port to listen on (default: dashboard.port; 0 picks a free one)",
      integer(0),
    )
    .option("--host <host>", "address to listen on (default: dashboard.host, 127.0.0.1)")
    .option("--open", "open the dashboard in the default browser")
    .option(
      "--allow-remote",
      "allow a non-loopback --host (no login: anyone reaching it can stop runs)",
    )
    .option(
      "--allowed-host <name>",
      "also serve requests for this host name, e.g. the machine's name (repeatable)",
      (name: string, previous: string[] = []) => [...previous, name],
    )
    .addHelpText(
      "after",
      example(
        "cmcs dashboard",
        "cmcs dashboard --port 8080 --open",
        "cmcs dashboard --host 0.0.0.0 --allow-remote --allowed-host devbox",
      ),
    )
    .action((opts) =>
      invoke(async () => (await load("src/commands/dashboard.ts")).dashboard(opts))
    );

  hideHelpCommands(program);
  addPrettyOption(program);
  program.hook("preAction", (_program, action) => {
    setPrettyJson(action.opts().pretty === true ? true : undefined);
  });
  return program;
}

/**
 * Every command with `--json` also takes `--pretty`: JSON is one line unless stdout is a terminal,
 * which is what an agent reading it wants, and a person piping it to a file may not.
 */
function addPrettyOption(command: Command): void {
  for (const sub of command.commands) {
    if (sub.options.some((option) => option.long === "--json")) {
      sub.option("--pretty", "indent the JSON (the default when stdout is a terminal)");
    }
    addPrettyOption(sub as unknown as Command);
  }
}

/** `cmcs ticket help new` is redundant with `cmcs ticket new --help`; keep the lists short. */
function hideHelpCommands(command: Command): void {
  for (const sub of command.commands) {
    if (sub.commands.length > 0) {
      sub.helpCommand(false);
      hideHelpCommands(sub as unknown as Command);
    }
  }
}

/** Parses `argv` and runs the command; returns the exit code (commander's usage errors give 2). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    const code = (error as { code?: string }).code ?? "";
    if (code === "commander.helpDisplayed" || code === "commander.version") return 0;
    // A group called without a subcommand prints its help as an error.
    if (code === "commander.help") return (error as { exitCode?: number }).exitCode === 0 ? 0 : 2;
    if (code.startsWith("commander.")) return 2;
    throw error;
  }
  return Number(Deno.exitCode ?? 0);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
