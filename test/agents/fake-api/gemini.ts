/**
 * Gemini API (generativelanguage v1beta), enough for gemini-cli with `gemini-api-key` auth:
 * `models/<m>:generateContent`, `:streamGenerateContent?alt=sse`, `:countTokens`, and errors in
 * Google's shape `{"error":{"code","message","status","details":[…]}}`. gemini-cli classifies 429s by
 * their details: a RetryInfo delay makes "Suggested retry after <delay>", a per-day QuotaFailure a
 * terminal "daily quota" error.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { readJson, SseWriter, sendJson, sleep } from "./http-util.js";
import { answerWords } from "./answer.js";
import { toolFailCommand } from "./tool-calls.js";
import { HANG_TEXT, type Scenario } from "./scenario.js";

const QUOTA_MESSAGE =
  "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.";

function error(
  res: ServerResponse,
  code: number,
  status: string,
  message: string,
  details: unknown[] = [],
  headers: Record<string, string> = {},
) {
  sendJson(res, code, { error: { code, message, status, details } }, headers);
}

function quotaFailure(quotaId: string) {
  return {
    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
    violations: [
      {
        quotaMetric: "generativelanguage.googleapis.com/generate_content_free_tier_requests",
        quotaId,
        quotaDimensions: { location: "global", model: "gemini-fake" },
        quotaValue: "10",
      },
    ],
  };
}

function sendScenarioError(res: ServerResponse, scenario: Scenario, model: string): boolean {
  switch (scenario.name) {
    case "auth":
      // Google answers a bad key with 400 INVALID_ARGUMENT + ErrorInfo API_KEY_INVALID, not 401.
      error(res, 400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [
        {
          "@type": "type.googleapis.com/google.rpc.ErrorInfo",
          reason: "API_KEY_INVALID",
          domain: "googleapis.com",
          metadata: { service: "generativelanguage.googleapis.com" },
        },
      ]);
      return true;
    case "rate":
      error(
        res,
        429,
        "RESOURCE_EXHAUSTED",
        QUOTA_MESSAGE,
        [
          quotaFailure("GenerateRequestsPerMinutePerProjectPerModel-FreeTier"),
          { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${scenario.seconds}s` },
        ],
        { "retry-after": String(scenario.seconds) },
      );
      return true;
    case "usage":
      error(res, 429, "RESOURCE_EXHAUSTED", QUOTA_MESSAGE, [
        quotaFailure("GenerateRequestsPerDayPerProjectPerModel-FreeTier"),
        { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "3600s" },
      ]);
      return true;
    case "context":
      error(
        res,
        400,
        "INVALID_ARGUMENT",
        "The input token count (1215843) exceeds the maximum number of tokens allowed (1048576).",
      );
      return true;
    case "overloaded":
      error(res, 503, "UNAVAILABLE", "The model is overloaded. Please try again later.");
      return true;
    case "model":
      error(
        res,
        404,
        "NOT_FOUND",
        `models/${model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.`,
      );
      return true;
    default:
      return false;
  }
}

interface GenerateBody {
  contents?: { role?: string; parts?: { functionResponse?: unknown }[] }[];
  generationConfig?: { responseMimeType?: string; responseJsonSchema?: unknown; responseSchema?: unknown };
}

function candidate(parts: unknown[], finishReason?: string) {
  return {
    candidates: [{ content: { role: "model", parts }, index: 0, ...(finishReason ? { finishReason } : {}) }],
    usageMetadata: { promptTokenCount: 42, candidatesTokenCount: 7, totalTokenCount: 49 },
    modelVersion: "gemini-fake",
  };
}

function hasFunctionResponse(body: GenerateBody): boolean {
  return (body.contents?.at(-1)?.parts ?? []).some((p) => p.functionResponse !== undefined);
}

export async function handleGemini(req: IncomingMessage, res: ServerResponse, path: string, scenario: Scenario) {
  const body = ((await readJson(req)) ?? {}) as GenerateBody;
  const m = /\/models\/([^/:]+):(\w+)/.exec(path);
  if (req.method !== "POST" || !m) {
    error(res, 404, "NOT_FOUND", `fake API: no route ${req.method} ${path}`);
    return;
  }
  const method = m[2];
  if (method === "countTokens") {
    sendJson(res, 200, { totalTokens: 42 });
    return;
  }
  if (sendScenarioError(res, scenario, m[1] as string)) return;
  // gemini-cli's side requests (model routing, next-speaker check) ask for JSON: answer with JSON.
  if (body.generationConfig?.responseMimeType === "application/json") {
    const json = { reasoning: "fake API", model_choice: "flash", next_speaker: "user", complexity_score: 1 };
    const payload = candidate([{ text: JSON.stringify(json) }], "STOP");
    if (method === "streamGenerateContent") {
      const sse = new SseWriter(res);
      sse.send(payload);
      sse.end();
    } else sendJson(res, 200, payload);
    return;
  }
  const toolFail = scenario.name === "toolfail";
  const wantTool = (scenario.name === "tool" || toolFail) && !hasFunctionResponse(body);
  const parts = wantTool
    ? [
        [
          {
            functionCall: {
              name: "run_shell_command",
              args: toolFail
                ? { command: toolFailCommand(scenario.seconds), description: "Call the staging API client" }
                : { command: "touch fake-api-tool-was-here.txt", description: "Create a marker file" },
            },
          },
        ],
      ]
    : answerWords(scenario, body).map((w) => [{ text: w }]);
  const tickMs = scenario.name === "slow" ? 2000 : 0;
  if (method === "generateContent") {
    await sleep(tickMs * (parts.length - 1));
    sendJson(res, 200, candidate(parts.flat(), "STOP"));
    return;
  }
  const sse = new SseWriter(res);
  if (scenario.name === "hang") {
    sse.send(candidate([{ text: HANG_TEXT }], undefined));
    return sse.closedByClient();
  }
  for (const [i, p] of parts.entries()) {
    if (i > 0) await sleep(tickMs);
    sse.send(candidate(p, i === parts.length - 1 ? "STOP" : undefined));
  }
  sse.end();
}
