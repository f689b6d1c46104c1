import type { Command } from "@commander-js/extra-typings";

export interface DriftProblem {
  file: string;
  line: number;
  message: string;
}

const GLOBAL_FLAGS = new Set(["--help", "-h", "--version", "-V"]);

/** Every `cmcs …` invocation written in code (inline code spans and fenced blocks) of a markdown text. */
export function codeInvocations(text: string): { line: number; words: string[] }[] {
  const found: { line: number; words: string[] }[] = [];
  let fenced = false;
  text.split("\n").forEach((raw, index) => {
    if (/^\s*```/.test(raw)) {
      fenced = !fenced;
      return;
    }
    const snippets = fenced ? [raw] : [...raw.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    for (const snippet of snippets) {
      for (const match of snippet.matchAll(/(?<![\w./-])cmcs\s+([^;&#`]*)/g)) {
        const words = match[1].split(/\s+/).map((w) =>
          w.replace(/^[[(]+|[\])]+$/g, "").replace(/\\\|/g, "|")
        )
          .filter(Boolean);
        found.push({ line: index + 1, words });
      }
    }
  });
  return found;
}

function flagsOf(command: Command): Set<string> {
  const flags = new Set(GLOBAL_FLAGS);
  for (const option of command.options) {
    if (option.long) {
      flags.add(option.long);
      if (option.negate) flags.add(option.long);
    }
    if (option.short) flags.add(option.short);
  }
  return flags;
}

/**
 * Checks that every command and flag a document names exists in the real command tree. A renamed
 * flag or command left in a doc is reported with its file and line.
 */
export function checkDocText(file: string, text: string, program: Command): DriftProblem[] {
  const problems: DriftProblem[] = [];
  for (const { line, words } of codeInvocations(text)) {
    let command: Command = program;
    let i = 0;
    while (i < words.length) {
      const sub = command.commands.find((c) =>
        c.name() === words[i] || c.aliases().includes(words[i])
      );
      if (!sub) break;
      command = sub as Command;
      i++;
    }
    if (command === program && words.length > 0 && /^[a-z][a-z-]*$/.test(words[0])) {
      problems.push({ file, line, message: `unknown command "cmcs ${words[0]}"` });
      continue;
    }
    if (command.commands.length > 0 && i < words.length && /^[a-z][a-z-]*$/.test(words[i])) {
      problems.push({
        file,
        line,
        message: `unknown subcommand "cmcs ${command.name()} ${words[i]}"`,
      });
      continue;
    }
    const flags = flagsOf(command);
    for (const word of words.slice(i)) {
      for (const part of word.split("|")) {
        const flag = /^(--?[A-Za-z][\w-]*)/.exec(part)?.[1];
        if (flag && !flags.has(flag)) {
          problems.push({
            file,
            line,
            message: `"cmcs ${commandPath(command)}" has no option ${flag}`,
          });
        }
      }
    }
  }
  return problems;
}

function commandPath(command: Command): string {
  const names: string[] = [];
  let current: Command | null = command;
  while (current && current.parent) {
    names.unshift(current.name());
    current = current.parent as Command | null;
  }
  return names.join(" ");
}

/** Config keys listed in the first column of the key table of docs/configuration.md. */
export function documentedConfigKeys(text: string): string[] {
  const section = text.split(/^## /m).find((s) => s.startsWith("Keys")) ?? "";
  return [...section.matchAll(/^\|\s*`([a-z_]+\.[a-z_]+)`\s*\|/gm)].map((m) => m[1]);
}

/**
 * The tools docs/mcp.md documents, each with the arguments of its table: a `### \`name\``
 * heading, then rows whose first cell is an argument in backticks.
 */
export function documentedMcpTools(text: string): Record<string, string[]> {
  const tools: Record<string, string[]> = {};
  let current: string[] | null = null;
  for (const line of text.split("\n")) {
    const heading = line.match(/^###\s+`([a-z_]+)`\s*$/);
    if (heading) {
      current = tools[heading[1]] = [];
      continue;
    }
    if (/^#{1,3}\s/.test(line)) current = null;
    const row = line.match(/^\|\s*`([a-z_]+)`\s*\|/);
    if (row && current) current.push(row[1]);
  }
  return tools;
}
