/**
 * The retries a CLI announces in its own stream, read as they arrive: claude 2.1.332's `api_retry`
 * events from a real run against a 529-overloaded API (test/fixtures/agents/claude/overloaded-stream.cast:
 * ten retries over ~3 minutes, then the error result), and codex 0.171.0's "Reconnecting... n/5"
 * (offline, and against a 500-overloaded API: codex/overloaded-stream.cast).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type AgentRetry, AgentStreamParser } from "../src/agent-stream.js";
import type { StreamFormat } from "../src/presets/types.js";

const read = (path: string) => readFileSync(new URL(path, import.meta.url), "utf8");

/** The output of a recorded cast, as the pty delivered it (asciicast v2: [time, "o", data] lines). */
const castOutput = (path: string) =>
  read(path)
    .trim()
    .split("\n")
    .slice(1)
    .map((l) => JSON.parse(l) as [number, string, string])
    .filter(([, kind]) => kind === "o")
    .map(([, , data]) => data)
    .join("");

function feed(format: StreamFormat, text: string, size = 13) {
  const seen: AgentRetry[] = [];
  const p = new AgentStreamParser(format, (r) => seen.push(r));
  for (let i = 0; i < text.length; i += size) p.push(text.slice(i, i + size));
  return { state: p.end(), seen };
}

describe("a CLI's own retries, from its stream", () => {
  it("claude (recorded): each api_retry as it is read, then the error result", () => {
    const { state, seen } = feed("claude-stream-json", castOutput("./fixtures/agents/claude/overloaded-stream.cast"));
    expect(seen.map((r) => r.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(seen[2]).toEqual({ attempt: 3, of: 10, delayMs: 2302, status: 529, error: "overloaded" });
    expect(state.retries).toBe(10);
    expect(state.retry).toEqual(seen[9]);
    // The retries are not the run's result: the result line after them is.
    expect(state.result).toMatchObject({ ok: false });
    expect(state.lastError).toMatch(/^API Error: 529 Overloaded/);
  });

  it("codex (recorded offline): Reconnecting... n/5 with the reason in brackets", () => {
    const text = read("./fixtures/agent-streams/codex-0.171.0-offline.jsonl").replace(/\n/g, "\r\n");
    const { seen } = feed("codex-exec-json", text);
    expect(seen.map((r) => `${r.attempt}/${r.of}`)).toEqual(["2/5", "3/5", "4/5", "5/5"]);
    expect(seen[0]).toMatchObject({ delayMs: null, status: null });
    expect(seen[0]?.error).toMatch(/^stream disconnected before completion: /);
  });

  it("codex (recorded against a 500-overloaded API): 5 retries with the API's message, then turn.failed", () => {
    const { state, seen } = feed("codex-exec-json", castOutput("./fixtures/agents/codex/overloaded-stream.cast"));
    expect(seen.map((r) => `${r.attempt}/${r.of}`)).toEqual(["1/5", "2/5", "3/5", "4/5", "5/5"]);
    expect(seen[4]?.error).toBe("We’re currently experiencing high demand, which may cause temporary errors.");
    expect(state.result).toMatchObject({ ok: false, error: seen[4]?.error });
  });

  it("what is not a retry announces none", () => {
    const lines = [
      { type: "system", subtype: "status", status: "requesting" },
      { type: "system", subtype: "api_retry" }, // no attempt: not one the parser can report
      { type: "result", subtype: "success", is_error: false, result: "done" },
    ];
    const { state, seen } = feed("claude-stream-json", `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`);
    expect(seen).toEqual([]);
    expect(state).toMatchObject({ retries: 0, retry: null, lastError: null });
    const codex = feed("codex-exec-json", `${JSON.stringify({ type: "error", message: "stream error: boom" })}\n`);
    expect(codex.seen).toEqual([]);
    expect(codex.state.lastError).toBe("stream error: boom");
  });
});
