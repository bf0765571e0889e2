/**
 * Anthropic Messages API, enough for claude-code: `POST /v1/messages` (SSE when `stream: true`,
 * JSON otherwise), `count_tokens`, and errors in the documented shape
 * `{"type":"error","error":{"type":…,"message":…},"request_id":…}` (docs.claude.com/en/api/errors).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { toolCalls, toolFailCommand, toolTarget } from "./tool-calls.js";
import { readJson, SseWriter, sendJson, sleep } from "./http-util.js";
import { answerWords } from "./answer.js";
import { HANG_TEXT, resetEpochSeconds, type Scenario } from "./scenario.js";

const requestId = () => `req_FAKE${Date.now().toString(36)}`;

function error(
  res: ServerResponse,
  status: number,
  type: string,
  message: string,
  headers: Record<string, string> = {},
) {
  sendJson(res, status, { type: "error", error: { type, message }, request_id: requestId() }, headers);
}

/** Sends the scenario's error, if it has one; true when the request was answered. */
function sendScenarioError(res: ServerResponse, scenario: Scenario, model: string): boolean {
  switch (scenario.name) {
    case "auth":
      error(res, 401, "authentication_error", "invalid x-api-key");
      return true;
    case "rate":
      error(
        res,
        429,
        "rate_limit_error",
        "This request would exceed your organization's rate limit of 50 requests per minute. Please try again later.",
        {
          "retry-after": String(scenario.seconds),
          "anthropic-ratelimit-requests-limit": "50",
          "anthropic-ratelimit-requests-remaining": "0",
          "anthropic-ratelimit-requests-reset": new Date(Date.now() + scenario.seconds * 1000).toISOString(),
        },
      );
      return true;
    case "usage": {
      // Subscription (unified) limits travel as headers; claude-code reads the claim and the reset epoch.
      const reset = String(resetEpochSeconds());
      error(res, 429, "rate_limit_error", "Rate limited", {
        "anthropic-ratelimit-unified-status": "rejected",
        "anthropic-ratelimit-unified-reset": reset,
        "anthropic-ratelimit-unified-5h-status": "rejected",
        "anthropic-ratelimit-unified-5h-reset": reset,
        "anthropic-ratelimit-unified-representative-claim": "five_hour",
      });
      return true;
    }
    case "context":
      error(res, 400, "invalid_request_error", "prompt is too long: 215843 tokens > 200000 maximum");
      return true;
    case "overloaded":
      error(res, 529, "overloaded_error", "Overloaded");
      return true;
    case "model":
      error(res, 404, "not_found_error", `model: ${model}`);
      return true;
    default:
      return false;
  }
}

interface MessagesBody {
  model?: string;
  stream?: boolean;
  messages?: unknown[];
}

/** True when the last user turn already carries a tool result (the tool scenario then answers). */
function hasToolResult(body: MessagesBody): boolean {
  const last = body.messages?.at(-1) as { content?: unknown } | undefined;
  return Array.isArray(last?.content) && last.content.some((c) => (c as { type?: string }).type === "tool_result");
}

export async function handleAnthropic(req: IncomingMessage, res: ServerResponse, path: string, scenario: Scenario) {
  const body = ((await readJson(req)) ?? {}) as MessagesBody;
  if (req.method === "POST" && path.startsWith("/v1/messages/count_tokens")) {
    sendJson(res, 200, { input_tokens: 42 });
    return;
  }
  if (req.method !== "POST" || !path.startsWith("/v1/messages")) {
    error(res, 404, "not_found_error", `fake API: no route ${req.method} ${path}`);
    return;
  }
  if (sendScenarioError(res, scenario, body.model ?? "claude-fake")) return;
  const model = body.model ?? "claude-fake";
  const toolFail = scenario.name === "toolfail";
  const wantTool = (scenario.name === "tool" || toolFail) && !hasToolResult(body);
  const words = answerWords(scenario, body);
  const tickMs = scenario.name === "slow" ? 2000 : 0;
  const hang = scenario.name === "hang" && body.stream === true;
  if (!body.stream) {
    await sleep(tickMs * (words.length - 1));
    sendJson(res, 200, message(model, [{ type: "text", text: words.join("") }], "end_turn"));
    return;
  }
  const sse = new SseWriter(res);
  sse.send({ type: "message_start", message: message(model, [], null) }, "message_start");
  if (wantTool) {
    // tool-N: N calls in one answer (claude asks for each in turn, the same question over another command).
    for (let index = 0; index < (toolFail ? 1 : toolCalls(scenario)); index++) {
      const input = JSON.stringify(
        toolFail
          ? { command: toolFailCommand(scenario.seconds), description: "Call the staging API client" }
          : {
              // A deletion: claude auto-allows harmless commands such as `touch` inside the project.
              command: `rm -rf ./${toolTarget("fake-api-scratch-dir", index)}`,
              description: "Remove a scratch folder",
            },
      );
      sse.send(
        {
          type: "content_block_start",
          index,
          content_block: { type: "tool_use", id: `toolu_FAKE${index + 1}`, name: "Bash", input: {} },
        },
        "content_block_start",
      );
      sse.send(
        { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: input } },
        "content_block_delta",
      );
      sse.send({ type: "content_block_stop", index }, "content_block_stop");
    }
    sse.send(
      { type: "message_delta", delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: 20 } },
      "message_delta",
    );
    sse.send({ type: "message_stop" }, "message_stop");
    sse.end();
    return;
  }
  sse.send({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }, "content_block_start");
  if (hang) {
    sse.send(
      { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: HANG_TEXT } },
      "content_block_delta",
    );
    return sse.closedByClient();
  }
  for (const [i, word] of words.entries()) {
    if (i > 0) await sleep(tickMs);
    if (sse.isClosed) return;
    sse.send(
      { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: word } },
      "content_block_delta",
    );
  }
  sse.send({ type: "content_block_stop", index: 0 }, "content_block_stop");
  sse.send(
    {
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { output_tokens: words.length },
    },
    "message_delta",
  );
  sse.send({ type: "message_stop" }, "message_stop");
  sse.end();
}

function message(model: string, content: unknown[], stopReason: string | null) {
  return {
    id: `msg_FAKE${Date.now().toString(36)}`,
    type: "message",
    role: "assistant",
    model,
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage: { input_tokens: 42, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  };
}
