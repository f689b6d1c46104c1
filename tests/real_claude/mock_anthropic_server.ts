/**
 * A stand-in for the Anthropic Messages API that the real Claude Code CLI talks to in the
 * end-to-end suite: `POST /v1/messages` answered as server-sent events (message_start,
 * content_block_start/delta/stop, message_delta, message_stop) on 127.0.0.1. A test gives a
 * function that picks the "model's" reply for each request, and reads every recorded request
 * (system prompt, tools, messages) back for assertions.
 */

/** One content block the model sends. */
export type Block =
  | { type: "text"; text: string }
  | { type: "tool_use"; name: string; input: Record<string, unknown> };

/** What the model does in reply to one request: its content blocks, ending the turn or not. */
export interface Reply {
  blocks: Block[];
}

/** One request as the mock received it. */
export interface RecordedRequest {
  /** Order of arrival, from 0. */
  index: number;
  path: string;
  /** The parsed body (`model`, `system`, `messages`, `tools`, …); null if it was not JSON. */
  body: Record<string, unknown> | null;
  /** Every text of the system prompt and of the messages (text blocks, tool results), in order. */
  texts: string[];
  /** The `tool_result` blocks after the last assistant turn: what the tools returned for it. */
  toolResults: { toolUseId: string; text: string; isError: boolean }[];
  /** Names of the tools the request offers. */
  tools: string[];
  /** The reply sent (null for a request that was not a messages call). */
  reply: Reply | null;
}

export interface MockAnthropicServer extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`, for `ANTHROPIC_BASE_URL`. */
  baseUrl: string;
  requests: RecordedRequest[];
}

/** The text of a content value: a string, or the text blocks (and nested tool-result content). */
export function textOf(content: unknown): string[] {
  if (typeof content === "string") return [content];
  if (!Array.isArray(content)) return [];
  const out: string[] = [];
  for (const block of content) {
    if (block?.type === "text" && typeof block.text === "string") out.push(block.text);
    if (block?.type === "tool_result") out.push(...textOf(block.content));
    if (block?.type === "tool_use") out.push(JSON.stringify(block.input));
  }
  return out;
}

function record(index: number, path: string, body: Record<string, unknown> | null) {
  const messages = (body?.messages ?? []) as { role: string; content: unknown }[];
  const texts = [...textOf(body?.system), ...messages.flatMap((m) => textOf(m.content))];
  // The results answer the last assistant turn; Claude Code may add a system message after them
  // (an MCP server that connected, deferred tools that became available).
  const lastAssistant = messages.findLastIndex((m) => m.role === "assistant");
  const toolResults = messages.slice(lastAssistant + 1)
    .filter((m) => m.role === "user" && Array.isArray(m.content))
    .flatMap((m) =>
      (m.content as Record<string, unknown>[]).filter((b) => b.type === "tool_result")
    )
    .map((b) => ({
      toolUseId: String(b.tool_use_id),
      text: textOf(b.content).join("\n"),
      isError: b.is_error === true,
    }));
  const tools = ((body?.tools ?? []) as { name?: string }[]).map((t) => String(t.name));
  return { index, path, body, texts, toolResults, tools, reply: null } as RecordedRequest;
}

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The reply as the SSE stream of the Messages API. */
function stream(reply: Reply, model: string, index: number): string {
  let out = sse("message_start", {
    type: "message_start",
    message: {
      id: `msg_mock_${index}`,
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 100, output_tokens: 1 },
    },
  });
  reply.blocks.forEach((block, i) => {
    if (block.type === "text") {
      out += sse("content_block_start", {
        type: "content_block_start",
        index: i,
        content_block: { type: "text", text: "" },
      });
      out += sse("content_block_delta", {
        type: "content_block_delta",
        index: i,
        delta: { type: "text_delta", text: block.text },
      });
    } else {
      out += sse("content_block_start", {
        type: "content_block_start",
        index: i,
        content_block: {
          type: "tool_use",
          id: `toolu_mock_${index}_${i}`,
          name: block.name,
          input: {},
        },
      });
      out += sse("content_block_delta", {
        type: "content_block_delta",
        index: i,
        delta: { type: "input_json_delta", partial_json: JSON.stringify(block.input) },
      });
    }
    out += sse("content_block_stop", { type: "content_block_stop", index: i });
  });
  const toolUse = reply.blocks.some((b) => b.type === "tool_use");
  out += sse("message_delta", {
    type: "message_delta",
    delta: { stop_reason: toolUse ? "tool_use" : "end_turn", stop_sequence: null },
    usage: { output_tokens: 10 },
  });
  out += sse("message_stop", { type: "message_stop" });
  return out;
}

/**
 * Starts the mock on a free loopback port. `reply` picks the answer to each messages call; the
 * requests list grows as calls arrive. Anything else (other paths) is recorded and answered 404.
 */
export function startMockAnthropicServer(
  reply: (request: RecordedRequest) => Reply,
): MockAnthropicServer {
  const requests: RecordedRequest[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    let body: Record<string, unknown> | null = null;
    try {
      body = await req.json();
    } catch { /* not JSON */ }
    const recorded = record(requests.length, url.pathname, body);
    requests.push(recorded);
    if (req.method !== "POST" || url.pathname !== "/v1/messages") {
      return new Response("not found", { status: 404 });
    }
    let answer: Reply;
    try {
      answer = reply(recorded);
    } catch (error) {
      answer = { blocks: [{ type: "text", text: `mock error: ${(error as Error).message}` }] };
    }
    recorded.reply = answer;
    return new Response(stream(answer, String(body?.model ?? "mock"), recorded.index), {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
    });
  });
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}`,
    requests,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}
