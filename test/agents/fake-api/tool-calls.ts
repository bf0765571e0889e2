/** The `tool` scenario's calls: `tool` asks for one, `tool-N` for N in one answer (scenario.ts). */
import type { Scenario } from "./scenario.js";

export const toolCalls = (scenario: Scenario): number => Math.max(1, scenario.seconds);

/** The first call's target keeps its name (the recordings and tests use it); the next ones are numbered. */
export const toolTarget = (base: string, index: number, ext = ""): string =>
  index === 0 ? `${base}${ext}` : `${base}-${index + 1}${ext}`;

/**
 * The `toolfail-K` scenario's texts: what a failing tool (another CLI, an API client) prints, words
 * each CLI's own errors use. The command decodes them from base64 so its own row does not hold them.
 */
export const TOOL_FAIL_TEXTS: readonly string[] = [
  "Invalid API key · Fix external API key", // 0 claude's auth row
  "API Error: Request rejected (429)", // 1 claude's 429
  "You've hit your usage limit", // 2 claude's / codex's usage limit
  "exceeded retry limit, last status: 429", // 3 codex's 429
  "unexpected status 401 Unauthorized: Incorrect API key provided", // 4 codex's 401
  "API key not valid. Please pass a valid API key.", // 5 gemini's bad key (bare)
  "You exceeded your current quota", // 6 gemini's quota (bare)
  "[API Error: You exceeded your current quota, please check your plan and billing details.]", // 7 gemini's form
  'Error: {"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}', // 8
  "API Error: 429 rate_limit_error", // 9 claude's bare 429
  "401 Unauthorized", // 10
];

/** The answer once the failed tool's result is back. */
export const TOOL_FAIL_DONE = "Done: the command failed.";

/**
 * The shell command of `toolfail-K`: the text on stdout and stderr, exit 1. K >= 100: text K - 100,
 * and the command runs on 10 s after printing it (the TUI shows a running tool's output as it comes).
 */
export function toolFailCommand(k: number): string {
  const text = TOOL_FAIL_TEXTS[k % 100] ?? TOOL_FAIL_TEXTS[0]!;
  // No `$(…)`: gemini 0.61 blocks a command substitution ("Blocked: command substitution detected").
  const b64 = Buffer.from(`${text}\n`, "utf8").toString("base64");
  return `echo ${b64} | base64 -d; echo ${b64} | base64 -d >&2;${k >= 100 ? " sleep 10;" : ""} exit 1`;
}
