/**
 * A stand-in for the model API that the real Codex CLI talks to in the end-to-end suite: the
 * Responses API (`POST /v1/responses`, answered as server-sent events) on 127.0.0.1, as described
 * in ../shared/codex/README.md §6. What the "model" does is scripted per scenario; a request
 * belongs to the scenario whose marker `<!-- mock: NAME -->` appears in its input (the ticket
 * text is part of the prompt cmcs sends, so a ticket picks its own scenario). Every request is
 * recorded for assertions.
 */

/** What the model does in reply to one request. */
export type Reply =
  /** Ask Codex to run a shell command (`exec_command`), optionally after a short message. */
  | { kind: "command"; cmd: string; note?: string; yieldTimeMs?: number }
  /** The final answer: an assistant message, ending the turn. */
  | { kind: "message"; text: string }
  /**
   * An HTTP error with an OpenAI-style error body (e.g. 400 `context_length_exceeded`); `type`
   * replaces `invalid_request_error`, `extra` adds fields to the error object and `headers` to the
   * response (a usage limit's reset time, say).
   */
  | {
    kind: "http_error";
    status: number;
    code: string;
    message: string;
    type?: string;
    extra?: Record<string, unknown>;
    headers?: Record<string, string>;
  }
  /** A stream that ends in `response.failed` with this error code. */
  | { kind: "failed"; code: string; message: string }
  /** Send `response.created`, then nothing more until the client goes away. */
  | { kind: "hang" };

/**
 * A scenario: either a list of replies taken in conversation order (the n-th model response of
 * the thread, counting the assistant items already in the request's history, so a resumed thread
 * continues where it left off), or a function of the request.
 */
export type Scenario = Reply[] | ((request: RecordedRequest) => Reply);

/** One request as the mock received it. */
export interface RecordedRequest {
  /** Order of arrival, from 0. */
  index: number;
  /** The scenario named in the input, or null when there was no marker. */
  scenario: string | null;
  /** `model` of the request body. */
  model: string | null;
  /** The `session-id` header: Codex's thread id. */
  threadId: string | null;
  /** Assistant items (function calls, messages) already in the input: the conversation step. */
  step: number;
  /** The `<cwd>` of Codex's environment context: where commands run. */
  cwd: string | null;
  /** Every `input_text`/`output_text`, tool output and call's arguments in the input, in order. */
  texts: string[];
  /** The `output` of each `function_call_output` in the input: what Codex's commands printed. */
  toolOutputs: string[];
  /** The parsed request body. */
  body: Record<string, unknown>;
  headers: Record<string, string>;
  /** What the mock answered. */
  reply: Reply | null;
}

/** The usage every successful response reports (summed over a turn by Codex). */
export const RESPONSE_USAGE = {
  input_tokens: 1200,
  cached_input_tokens: 200,
  output_tokens: 30,
  reasoning_output_tokens: 5,
} as const;

const MARKER = /<!--\s*mock:\s*([\w.-]+)\s*-->/;

export interface MockModelServer extends AsyncDisposable {
  /** `http://127.0.0.1:PORT/v1`, the provider's `base_url`. */
  baseUrl: string;
  requests: RecordedRequest[];
  /** Requests of one scenario, in order. */
  requestsFor(scenario: string): RecordedRequest[];
  /**
   * Resolves with the first request (from now or already recorded) that matches, so a test can
   * act while Codex is at a known point (e.g. waiting on a hanging response).
   */
  waitForRequest(
    match: (request: RecordedRequest) => boolean,
    timeoutMs?: number,
  ): Promise<RecordedRequest>;
  close(): Promise<void>;
}

/**
 * Starts the mock on 127.0.0.1 (a free port). A request naming an unknown scenario, or none, or one
 * whose script throws or has run out, gets an HTTP 400 saying so, which fails the Codex turn with
 * that text (never a 5xx, which Codex and cmcs would retry): a broken test fails loudly.
 */
export function startMockModelServer(scenarios: Record<string, Scenario>): MockModelServer {
  const requests: RecordedRequest[] = [];
  const waiters: {
    match: (r: RecordedRequest) => boolean;
    resolve: (r: RecordedRequest) => void;
  }[] = [];
  const hanging = new Set<ReadableStreamDefaultController<Uint8Array>>();
  let responseCounter = 0;

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const url = new URL(req.url);
      if (req.method !== "POST" || !url.pathname.endsWith("/responses")) {
        return new Response("not found", { status: 404 });
      }
      let body: Record<string, unknown>;
      try {
        body = await req.json();
      } catch (error) {
        return jsonError(400, "invalid_request", `mock: request body is not JSON: ${error}`);
      }
      const texts = inputTexts(body.input);
      const marker = texts.map((t) => MARKER.exec(t)?.[1]).find((name) => name !== undefined);
      const recorded: RecordedRequest = {
        index: requests.length,
        scenario: marker ?? null,
        model: typeof body.model === "string" ? body.model : null,
        threadId: req.headers.get("session-id") ?? req.headers.get("thread-id"),
        step: assistantItems(body.input),
        cwd: texts.map((t) => /<cwd>([^<]+)<\/cwd>/.exec(t)?.[1]).find((c) => c !== undefined) ??
          null,
        texts,
        toolOutputs: Array.isArray(body.input)
          ? (body.input as Record<string, unknown>[])
            .filter((item) => item.type === "function_call_output")
            .map((item) =>
              typeof item.output === "string" ? item.output : JSON.stringify(item.output)
            )
          : [],
        body,
        headers: Object.fromEntries(req.headers.entries()),
        reply: null,
      };
      requests.push(recorded);
      const scenario = marker ? scenarios[marker] : undefined;
      let reply: Reply;
      if (!scenario) {
        reply = {
          kind: "http_error",
          status: 400,
          code: "mock_unknown_scenario",
          message: marker
            ? `mock: unknown scenario ${marker}`
            : "mock: no <!-- mock: NAME --> marker in the input",
        };
      } else if (typeof scenario === "function") {
        try {
          reply = scenario(recorded);
        } catch (error) {
          reply = {
            kind: "http_error",
            status: 400,
            code: "mock_script_error",
            message: `mock: scenario ${marker} failed: ${(error as Error).message}`,
          };
        }
      } else {
        reply = scenario[recorded.step] ?? {
          kind: "http_error",
          status: 400,
          code: "mock_script_exhausted",
          message: `mock: scenario ${marker} has no reply for step ${recorded.step}`,
        };
      }
      recorded.reply = reply;
      for (const waiter of [...waiters]) {
        if (waiter.match(recorded)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(recorded);
        }
      }
      responseCounter++;
      return respond(reply, `resp_${responseCounter}`, recorded, hanging);
    },
  );

  const addr = server.addr as Deno.NetAddr;
  const close = async () => {
    for (const controller of hanging) {
      try {
        controller.close();
      } catch { /* already closed */ }
    }
    hanging.clear();
    await server.shutdown();
  };
  return {
    baseUrl: `http://127.0.0.1:${addr.port}/v1`,
    requests,
    requestsFor: (scenario) => requests.filter((r) => r.scenario === scenario),
    waitForRequest(match, timeoutMs = 30_000) {
      const seen = requests.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`mock: no matching request within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = {
          match,
          resolve: (r: RecordedRequest) => {
            clearTimeout(timer);
            resolve(r);
          },
        };
        waiters.push(waiter);
      });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Texts of every input item: messages' text parts, tool outputs and function-call arguments. */
function inputTexts(input: unknown): string[] {
  if (typeof input === "string") return [input];
  if (!Array.isArray(input)) return [];
  const out: string[] = [];
  for (const item of input as Record<string, unknown>[]) {
    if (Array.isArray(item.content)) {
      for (const part of item.content as Record<string, unknown>[]) {
        if (typeof part.text === "string") out.push(part.text);
      }
    } else if (typeof item.content === "string") out.push(item.content);
    if (typeof item.output === "string") out.push(item.output);
    if (typeof item.arguments === "string") out.push(item.arguments);
  }
  return out;
}

/**
 * Model responses already in the history: each function call is one, and so is each assistant
 * message that is not the note in front of a function call of the same response.
 */
function assistantItems(input: unknown): number {
  if (!Array.isArray(input)) return 0;
  const items = input as Record<string, unknown>[];
  const isCall = (item: Record<string, unknown> | undefined) =>
    item?.type === "function_call" || item?.type === "custom_tool_call";
  return items.filter((item, i) =>
    isCall(item) || (item.type === "message" && item.role === "assistant" && !isCall(items[i + 1]))
  ).length;
}

function jsonError(
  status: number,
  code: string,
  message: string,
  more: { type?: string; extra?: Record<string, unknown>; headers?: Record<string, string> } = {},
): Response {
  const error = {
    type: more.type ?? "invalid_request_error",
    code,
    message,
    param: null,
    ...more.extra,
  };
  return new Response(JSON.stringify({ error }), {
    status,
    headers: { "content-type": "application/json", ...more.headers },
  });
}

function sse(events: Record<string, unknown>[]): string {
  return events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join("");
}

function usage() {
  const u = RESPONSE_USAGE;
  return {
    input_tokens: u.input_tokens,
    input_tokens_details: { cached_tokens: u.cached_input_tokens },
    output_tokens: u.output_tokens,
    output_tokens_details: { reasoning_tokens: u.reasoning_output_tokens },
    total_tokens: u.input_tokens + u.output_tokens,
  };
}

function messageItem(id: string, text: string) {
  return {
    type: "message",
    role: "assistant",
    id,
    status: "completed",
    content: [{ type: "output_text", text, annotations: [] }],
  };
}

function messageEvents(id: string, text: string): Record<string, unknown>[] {
  return [
    { type: "response.output_item.added", item: { ...messageItem(id, ""), status: "in_progress" } },
    { type: "response.output_text.delta", item_id: id, output_index: 0, delta: text },
    { type: "response.output_item.done", item: messageItem(id, text) },
  ];
}

function respond(
  reply: Reply,
  responseId: string,
  request: RecordedRequest,
  hanging: Set<ReadableStreamDefaultController<Uint8Array>>,
): Response {
  const created = { type: "response.created", response: { id: responseId } };
  const completed = {
    type: "response.completed",
    response: { id: responseId, usage: usage() },
  };
  const headers = { "content-type": "text/event-stream", "cache-control": "no-cache" };
  switch (reply.kind) {
    case "http_error":
      return jsonError(reply.status, reply.code, reply.message, reply);
    case "failed":
      return new Response(
        sse([created, {
          type: "response.failed",
          response: { id: responseId, error: { code: reply.code, message: reply.message } },
        }]),
        { headers },
      );
    case "message":
      return new Response(
        sse([created, ...messageEvents(`msg_${responseId}`, reply.text), completed]),
        { headers },
      );
    case "command": {
      const callId = `call_${responseId}_${request.step}`;
      const args = JSON.stringify({
        cmd: reply.cmd,
        workdir: request.cwd ?? undefined,
        login: false,
        yield_time_ms: reply.yieldTimeMs ?? 10_000,
      });
      const call = {
        type: "function_call",
        id: `fc_${responseId}`,
        call_id: callId,
        name: "exec_command",
        arguments: args,
      };
      return new Response(
        sse([
          created,
          ...(reply.note ? messageEvents(`msg_${responseId}`, reply.note) : []),
          { type: "response.output_item.added", item: { ...call, arguments: "" } },
          { type: "response.output_item.done", item: call },
          completed,
        ]),
        { headers },
      );
    }
    case "hang": {
      let held: ReadableStreamDefaultController<Uint8Array>;
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          held = controller;
          hanging.add(controller);
          controller.enqueue(new TextEncoder().encode(sse([created])));
        },
        cancel() {
          hanging.delete(held);
        },
      });
      return new Response(stream, { headers });
    }
  }
}
