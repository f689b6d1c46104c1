/**
 * The MCP server behind `cmcs mcp`: the official SDK's low-level `Server` over stdio, with the
 * tools of ./tools.ts. The low-level server (not `McpServer`) is used so that arguments are
 * checked here: a bad one is a tool error in cmcs's own words (`error: …` naming the argument,
 * `hint: …`), never a protocol error quoting zod or a crash of the server.
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import {
  type CallToolRequest,
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type ServerNotification,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { UserError } from "../cli/errors.ts";
import { stripControl } from "../core/codex_render.ts";
import { VERSION } from "../version.ts";
import { type Tool, type ToolContext, TOOLS } from "./tools.ts";

export interface ServeOptions {
  /** Turns a path argument into a target of the served repository, or throws a UserError. */
  confine: (path: string) => Promise<string>;
  /** One line for the client's log (the server's stderr). */
  log: (line: string) => void;
}

/** The JSON Schema of a zod schema, as `tools/list` shows it. */
function jsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" });
  return rest;
}

/** The first problem zod found, as cmcs says it: the argument by name, then what is wrong. */
export function argumentError(tool: Tool, error: z.ZodError): UserError {
  const names = Object.keys(tool.input.shape);
  const issue = error.issues[0];
  const hint = names.length > 0
    ? `${tool.name} takes ${names.join(", ")} (see its input schema in tools/list)`
    : `${tool.name} takes no arguments`;
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((k) => `"${k}"`).join(", ");
    return new UserError(`${tool.name} has no argument ${keys}`, { hint, exitCode: 2 });
  }
  const name = issue.path.map(String).join(".") || "arguments";
  const missing = issue.code === "invalid_type" && issue.input === undefined;
  return new UserError(
    missing ? `${tool.name} needs the argument "${name}"` : `argument "${name}": ${issue.message}`,
    { hint, exitCode: 2 },
  );
}

/** A tool result carrying an error the way the CLI prints it. */
function errorResult(error: unknown, log: (line: string) => void): CallToolResult {
  let text: string;
  if (error instanceof UserError) {
    text = `error: ${error.message}` + (error.hint ? `\nhint: ${error.hint}` : "");
  } else {
    // A bug: the client gets one line, the server's stderr the stack.
    log(`cmcs mcp: internal error: ${(error as Error)?.stack ?? String(error)}`);
    text = `error: internal error in cmcs: ${(error as Error)?.message ?? String(error)}\n` +
      "hint: this is a bug in cmcs; please report it with the tool call";
  }
  return { content: [{ type: "text", text: stripControl(text) }], isError: true };
}

/** Builds the server with every tool; `connect` it to a transport to serve. */
export function createServer(opts: ServeOptions): Server {
  const server = new Server(
    { name: "cmcs", version: VERSION },
    {
      capabilities: { tools: {} },
      instructions:
        "cmcs runs ticket files (.cmcs/tickets/TICKET-NNN.md) through OpenAI Codex workers. " +
        "Write tickets with ticket_new, check them with ticket_validate, start them with run, " +
        "block with wait, review with result and diff, then accept a done ticket with accept " +
        "or send it back with resume.",
    },
  );
  const byName = new Map(TOOLS.map((tool) => [tool.name, tool]));

  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: TOOLS.map((tool) => ({
      name: tool.name,
      description: tool.description,
      inputSchema: jsonSchema(tool.input, "input") as { type: "object" },
      outputSchema: jsonSchema(tool.output, "output") as { type: "object" },
      annotations: { readOnlyHint: tool.readOnly, openWorldHint: false },
    })),
  }));

  server.setRequestHandler(CallToolRequestSchema, async (
    request: CallToolRequest,
    extra: { signal: AbortSignal; sendNotification: (n: ServerNotification) => Promise<void> },
  ): Promise<CallToolResult> => {
    const tool = byName.get(request.params.name);
    if (!tool) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `cmcs has no tool "${request.params.name}"; it has ${[...byName.keys()].join(", ")}`,
      );
    }
    const parsed = tool.input.safeParse(request.params.arguments ?? {});
    if (!parsed.success) return errorResult(argumentError(tool, parsed.error), opts.log);
    const token = request.params._meta?.progressToken;
    const ctx: ToolContext = {
      confine: opts.confine,
      signal: extra.signal,
      progress: (progress, message, total) => {
        if (token === undefined || extra.signal.aborted) return;
        extra.sendNotification({
          method: "notifications/progress",
          params: { progressToken: token, progress, total, message },
        }).catch(() => {/* the client went away; the call ends with it */});
      },
    };
    try {
      const report = await tool.call(parsed.data as Record<string, unknown>, ctx);
      const text = [...report.text, ...(report.errText ?? [])].join("\n");
      return {
        content: [{ type: "text", text: stripControl(text) }],
        structuredContent: (tool.lean ? tool.lean(report.data as never) : report.data) as Record<
          string,
          unknown
        >,
      };
    } catch (error) {
      if (extra.signal.aborted) {
        // Nobody reads the answer; the runs a cancelled `wait` watched keep running.
        opts.log(`cmcs mcp: ${tool.name} cancelled by the client`);
        return { content: [{ type: "text", text: "cancelled" }], isError: true };
      }
      return errorResult(error, opts.log);
    }
  });
  return server;
}

/**
 * Serves over stdin/stdout until stdin closes (the client exited or was killed), then returns.
 * A call still running then (a `wait`) is abandoned: what it waited for keeps running.
 */
export async function serveStdio(opts: ServeOptions): Promise<void> {
  // Imported here, not at the top: deno bundle hoists a static import of a built-in to the start
  // of the one-file program, where every command would pay for loading node:process.
  const { default: process } = await import("node:process");
  const server = createServer(opts);
  const closed = new Promise<void>((resolve) => {
    process.stdin.once("end", resolve);
    process.stdin.once("close", resolve);
    // Writing to a client that is gone: nobody is left to answer.
    process.stdout.once("error", () => resolve());
  });
  await server.connect(new StdioServerTransport());
  await closed;
}
