import { print, printError, printJson } from "./output.ts";

/**
 * What one command produced, in both of its forms, so the command line and the MCP server (`cmcs
 * mcp`) print the same facts from one implementation: `data` is the `--json` document, `text` the
 * lines the text form prints on stdout. Warnings and notes found on the way still go to stderr as
 * they happen (a long command reports them before it ends).
 */
export interface Report<T = unknown> {
  /** The process exit code the command line ends with; non-zero is a tool error over MCP. */
  code: number;
  data: T;
  text: string[];
  /** Lines the text form prints on stderr after `text` (e.g. `error: timed out …`). */
  errText?: string[];
}

/**
 * Prints a report the way every command does (`--json`: one document) through the one sanitising
 * print path of ./output.ts, and returns its code.
 */
export function printReport(report: Report, json: boolean | undefined): number {
  if (json) printJson(report.data);
  else {
    for (const line of report.text) print(line);
    for (const line of report.errText ?? []) printError(line);
  }
  return report.code;
}
