/**
 * Result parsing from the agents' streams: lines the real CLIs printed (test/fixtures/agent-streams/,
 * captured offline from claude-code 2.1.197 and codex-cli 0.171.0) and the documented shapes of a
 * successful run, fed the way a pty delivers them (\r\n line ends, arbitrary chunk boundaries).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AgentStreamParser } from "../src/agent-stream.js";
import type { StreamFormat } from "../src/presets/types.js";

const fixture = (name: string) =>
  readFileSync(new URL(`./fixtures/agent-streams/${name}`, import.meta.url), "utf8").replace(/\n/g, "\r\n");

/** Feeds `text` in chunks of `size` characters, as a pty might split it. */
function parse(format: StreamFormat, text: string, size = 7) {
  const p = new AgentStreamParser(format);
  for (let i = 0; i < text.length; i += size) p.push(text.slice(i, i + size));
  return p.end();
}

const lines = (...events: unknown[]) => `${events.map((e) => JSON.stringify(e)).join("\r\n")}\r\n`;

describe("claude stream-json", () => {
  it("a real API error (offline, claude-code 2.1.197): not ok, the CLI's message, the session id", () => {
    const state = parse("claude-stream-json", fixture("claude-2.1.197-api-error.jsonl"));
    expect(state.result).toEqual({
      ok: false,
      text: "API Error: Unable to connect to API (ConnectionRefused)",
      error: "API Error: Unable to connect to API (ConnectionRefused)",
      sessionId: "41a6819d-58ba-49e6-b0c3-91003fcaa3ec",
      durationMs: 2042,
      numTurns: 1,
      costUsd: 0,
    });
    expect(state.events).toBe(4);
  });

  it("success: the result text and figures; partial messages and key order do not matter", () => {
    const sid = "f5984698-9cc5-4247-9cf1-b61dd6abd1a3";
    const text = lines(
      { type: "system", subtype: "init", session_id: sid },
      { type: "stream_event", event: { type: "content_block_delta", delta: { text: "word1 " } }, session_id: sid },
      // claude-code 2.1.332 prints `type` late in the result object.
      {
        duration_ms: 43043,
        session_id: sid,
        is_error: false,
        num_turns: 1,
        subtype: "success",
        result: "Done.",
        type: "result",
      },
    );
    expect(parse("claude-stream-json", text, 3).result).toEqual({
      ok: true,
      text: "Done.",
      error: null,
      sessionId: sid,
      durationMs: 43043,
      numTurns: 1,
    });
  });

  it("an error subtype without text still says what it was", () => {
    const r = parse("claude-stream-json", lines({ type: "result", subtype: "error_max_turns", is_error: false }));
    expect(r.result).toMatchObject({ ok: false, error: "error_max_turns" });
  });
});

describe("codex exec --json", () => {
  it("real offline output (codex-cli 0.171.0): the thread id and the last reconnect error, no result yet", () => {
    const state = parse("codex-exec-json", fixture("codex-0.171.0-offline.jsonl"));
    expect(state.sessionId).toBe("01a234a8-09f4-7453-bde9-af6da435b97a");
    expect(state.lastError).toMatch(/^Reconnecting\.\.\. 5\/5/);
    expect(state.result).toBeNull();
  });

  it("turn.completed: the last agent message is the result", () => {
    const text = lines(
      { type: "thread.started", thread_id: "t1" },
      { type: "item.completed", item: { type: "error", message: "Model metadata for `gpt-fake` not found." } },
      { type: "turn.started" },
      { type: "item.completed", item: { type: "agent_message", text: "first" } },
      { type: "item.completed", item: { type: "command_execution", command: "ls" } },
      { type: "item.completed", item: { type: "agent_message", text: "word1 word2 DONE." } },
      { type: "turn.completed", usage: { input_tokens: 42 } },
    );
    expect(parse("codex-exec-json", text).result).toEqual({
      ok: true,
      text: "word1 word2 DONE.",
      error: null,
      sessionId: "t1",
    });
  });

  it("turn.failed: not ok, with codex's message", () => {
    const text = lines(
      { type: "thread.started", thread_id: "t2" },
      { type: "turn.failed", error: { message: "exceeded retry limit, last status: 429 Too Many Requests" } },
    );
    expect(parse("codex-exec-json", text).result).toMatchObject({
      ok: false,
      error: "exceeded retry limit, last status: 429 Too Many Requests",
    });
  });
});

describe("gemini stream-json", () => {
  it("deltas make the answer; warnings and stack traces between lines are skipped", () => {
    const text =
      "Ripgrep is not available. Falling back to GrepTool.\r\n" +
      lines(
        { type: "init", session_id: "g1", model: "auto" },
        { type: "message", role: "user", content: "Reply with one short sentence." },
      ) +
      '[Routing] NumericalClassifierStrategy failed: _ZodError: [\r\n  {\r\n    "code": "invalid_type",\r\n  }\r\n]\r\n' +
      lines(
        { type: "message", role: "assistant", content: "word1 ", delta: true },
        { type: "message", role: "assistant", content: "DONE.", delta: true },
        { type: "result", status: "success", stats: { duration_ms: 43043 } },
      );
    expect(parse("gemini-stream-json", text, 5)).toMatchObject({
      sessionId: "g1",
      result: { ok: true, text: "word1 DONE.", error: null, sessionId: "g1", durationMs: 43043 },
    });
  });

  it("the answer is the text after the last tool call, or before it when nothing followed", () => {
    const before = lines(
      { type: "message", role: "assistant", content: "Let me look.", delta: true },
      { type: "tool_use", tool_name: "ls", tool_id: "1", parameters: {} },
      { type: "tool_result", tool_id: "1", status: "success", output: "a b" },
    );
    const after = lines({ type: "message", role: "assistant", content: "Two files.", delta: true });
    const end = lines({ type: "result", status: "success", stats: {} });
    expect(parse("gemini-stream-json", before + after + end).result?.text).toBe("Two files.");
    expect(parse("gemini-stream-json", before + end).result?.text).toBe("Let me look.");
  });

  it("an error result carries gemini's message", () => {
    const text = lines(
      { type: "error", severity: "warning", message: "Attempt 1 failed" },
      { type: "result", status: "error", error: { type: "FatalAuthenticationError", message: "API key not valid." } },
    );
    expect(parse("gemini-stream-json", text).result).toMatchObject({ ok: false, error: "API key not valid." });
  });
});

describe("robustness", () => {
  it("escape sequences before a line, a last line without newline, and non-object JSON", () => {
    const text = `\x1b[0m\x1b]0;title\x07{"type":"init","session_id":"s"}\r\n[1,2]\r\n"x"\r\n{"type":"result","status":"success"}`;
    const state = parse("gemini-stream-json", text, 4);
    expect(state.events).toBe(2);
    expect(state.result?.ok).toBe(true);
  });

  it("a runaway line is dropped without losing the lines after it", () => {
    const p = new AgentStreamParser("codex-exec-json");
    const big = "x".repeat(1024 * 1024);
    p.push("{");
    for (let i = 0; i < 17; i++) p.push(big);
    p.push('"}\r\n{"type":"thread.started","thread_id":"after"}\r\n');
    expect(p.end()).toMatchObject({ sessionId: "after", events: 1 });
  });
});
