/**
 * OpenAI Responses API, enough for codex (`wire_api = "responses"`): `POST /responses` streamed as
 * SSE (`response.created` … `response.completed`), `GET /models`, and errors in OpenAI's shape
 * `{"error":{"message","type","param","code"}}`. codex reads `usage_limit_reached` bodies (plan_type,
 * resets_at) on 429s and `context_length_exceeded` from a `response.failed` event.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { toolCalls, toolFailCommand, toolTarget } from "./tool-calls.js";
import { readJson, SseWriter, sendJson, sleep } from "./http-util.js";
import { answerWords } from "./answer.js";
import { HANG_TEXT, resetEpochSeconds, type Scenario } from "./scenario.js";

function error(
  res: ServerResponse,
  status: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  sendJson(res, status, { error: { param: null, ...body } }, headers);
}

function sendScenarioError(res: ServerResponse, scenario: Scenario, model: string): boolean {
  switch (scenario.name) {
    case "auth":
      error(res, 401, {
        message: "Incorrect API key provided: sk-FAKE-*****-KEY. You can find your API key at the dashboard.",
        type: "invalid_request_error",
        code: "invalid_api_key",
      });
      return true;
    case "rate":
      error(
        res,
        429,
        {
          message: `Rate limit reached for requests. Please try again in ${scenario.seconds}s.`,
          type: "requests",
          code: "rate_limit_exceeded",
        },
        { "retry-after": String(scenario.seconds) },
      );
      return true;
    case "usage": {
      const resetsAt = resetEpochSeconds();
      error(res, 429, {
        type: "usage_limit_reached",
        message: "The usage limit has been reached",
        plan_type: "plus",
        resets_at: resetsAt,
        resets_in_seconds: resetsAt - Math.floor(Date.now() / 1000),
      });
      return true;
    }
    case "model":
      error(res, 404, {
        message: `The model \`${model}\` does not exist or you do not have access to it.`,
        type: "invalid_request_error",
        code: "model_not_found",
      });
      return true;
    case "overloaded":
      error(res, 500, {
        message: "The server had an error while processing your request. Sorry about that!",
        type: "server_error",
        code: null,
      });
      return true;
    default:
      return false;
  }
}

interface ResponsesBody {
  model?: string;
  input?: unknown[];
  tools?: { type?: string; name?: string }[];
}

const usage = {
  input_tokens: 42,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: 7,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 49,
};

function hasToolOutput(body: ResponsesBody): boolean {
  return (body.input ?? []).some((i) => /_call_output$/.test((i as { type?: string }).type ?? ""));
}

export async function handleOpenAi(req: IncomingMessage, res: ServerResponse, path: string, scenario: Scenario) {
  const body = ((await readJson(req)) ?? {}) as ResponsesBody;
  if (req.method === "GET" && /\/models\/?$/.test(path)) {
    sendJson(res, 200, { object: "list", data: [{ id: "gpt-fake", object: "model", owned_by: "fake" }], models: [] });
    return;
  }
  if (req.method !== "POST" || !/\/responses\/?$/.test(path)) {
    error(res, 404, { message: `fake API: no route ${req.method} ${path}`, type: "invalid_request_error", code: null });
    return;
  }
  if (sendScenarioError(res, scenario, body.model ?? "gpt-fake")) return;
  const id = `resp_FAKE${Date.now().toString(36)}`;
  const sse = new SseWriter(res);
  sse.send({ type: "response.created", response: { id, status: "in_progress" } }, "response.created");
  if (scenario.name === "context") {
    const failure = {
      code: "context_length_exceeded",
      message: "Your input exceeds the context window of this model. Please adjust your input and try again.",
    };
    sse.send({ type: "response.failed", response: { id, status: "failed", error: failure } }, "response.failed");
    sse.end();
    return;
  }
  const toolFail = scenario.name === "toolfail";
  if ((scenario.name === "tool" || toolFail) && !hasToolOutput(body)) {
    const shell = body.tools?.find(
      (t) => t.name === "shell" || t.name === "exec_command" || t.name === "shell_command",
    );
    const name = shell?.name ?? "shell";
    // tool-N: N calls in one answer (codex asks for each in turn, the same question over another command).
    for (let index = 0; index < (toolFail ? 1 : toolCalls(scenario)); index++) {
      const file = toolTarget("fake-api-tool-was-here", index, ".txt");
      const fail = toolFailCommand(scenario.seconds);
      const args = toolFail
        ? name === "shell"
          ? { command: ["bash", "-lc", fail] }
          : name === "exec_command"
            ? { cmd: fail }
            : { command: fail }
        : name === "shell"
          ? { command: ["touch", file] }
          : name === "exec_command"
            ? {
                cmd: `touch ${file}`,
                sandbox_permissions: "require_escalated",
                justification: "fake API asks for approval",
              }
            : { command: `touch ${file}` };
      const item = {
        type: "function_call",
        id: `fc_FAKE${index + 1}`,
        call_id: `call_FAKE${index + 1}`,
        name,
        arguments: JSON.stringify(args),
      };
      sse.send({ type: "response.output_item.done", output_index: index, item }, "response.output_item.done");
    }
    sse.send({ type: "response.completed", response: { id, status: "completed", usage } }, "response.completed");
    sse.end();
    return;
  }
  const words = answerWords(scenario, body);
  const itemId = "msg_FAKE1";
  sse.send(
    {
      type: "response.output_item.added",
      output_index: 0,
      item: { type: "message", id: itemId, role: "assistant", status: "in_progress", content: [] },
    },
    "response.output_item.added",
  );
  if (scenario.name === "hang") {
    sse.send(
      { type: "response.output_text.delta", item_id: itemId, output_index: 0, content_index: 0, delta: HANG_TEXT },
      "response.output_text.delta",
    );
    return sse.closedByClient();
  }
  for (const [i, word] of words.entries()) {
    if (i > 0) await sleep(2000);
    if (sse.isClosed) return;
    sse.send(
      { type: "response.output_text.delta", item_id: itemId, output_index: 0, content_index: 0, delta: word },
      "response.output_text.delta",
    );
  }
  const item = {
    type: "message",
    id: itemId,
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text: words.join(""), annotations: [] }],
  };
  sse.send({ type: "response.output_item.done", output_index: 0, item }, "response.output_item.done");
  sse.send({ type: "response.completed", response: { id, status: "completed", usage } }, "response.completed");
  sse.end();
}
