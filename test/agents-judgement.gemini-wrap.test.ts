/**
 * gemini's TUI wraps its API error itself (a field review; recorded tui-auth-401): rows under its `✕`
 * mark two spaces in, a word cut at the terminal's edge. Read whole again, the screen alone says why
 * the run failed: with its telemetry off (GEMINI_TELEMETRY_ENABLED=false) the screen is all there is.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { gemini, judgeScreen } from "../machines/agents/index.js";
import { unwrapRows } from "../machines/agents/judge.js";
import { startSession } from "./helpers/session-harness.js";

const recorded = (id: string) =>
  JSON.parse(readFileSync(new URL(`./fixtures/agents/${id}.expect.json`, import.meta.url), "utf8")) as {
    finalScreen: string[];
  };

describe("gemini's own wrap of its API error", () => {
  const screen = recorded("gemini/tui-auth-401").finalScreen;

  it("defect: rows it wraps itself under its ✕ mark (two spaces in) are one line again, a word cut at the edge whole", () => {
    const joined = unwrapRows(screen, 120).filter((l) => l.startsWith("✕"));
    expect(joined).toHaveLength(1);
    expect(joined[0]).toContain('"message":"API key not valid. Please pass a valid API key."');
    expect(joined[0]).toContain('"reason":"API_KEY_INVALID"');
    expect(joined[0]).toMatch(/\}\}\]\}\}\]$/);
  });

  it("defect: the recorded tui-auth-401 screen alone (no telemetry) is auth, in the API's words (was: null)", () => {
    expect(judgeScreen(gemini, screen, null, { cols: 120 })).toMatchObject({
      class: "auth",
      line: "API key not valid. Please pass a valid API key.",
      source: "screen",
    });
  });

  it("defect: a refused key's PERMISSION_DENIED wrapped the same way is auth live", () => {
    const api = '{"error":{"code":403,"message":"Your API key was reported as leaked. Please use another API';
    const rows = [`✕ [API Error: ${api}`, '  key.","status":"PERMISSION_DENIED"}}]', "", " >   Type your message"];
    expect(judgeScreen(gemini, rows, null, { cols: 120 })).toMatchObject({
      class: "auth",
      line: "Your API key was reported as leaked. Please use another API key.",
    });
  });

  it("defect: a session with telemetry off sitting at its composer under the error is dead auth after one run", () => {
    const h = startSession({}, { agent: "gemini" });
    h.spawnedEv();
    h.screen(screen, "◇  Ready");
    expect(h.state()).toBe("dead");
    expect(h.ctx()).toMatchObject({
      failureMode: "auth",
      lastError: "API key not valid. Please pass a valid API key.",
    });
    expect(h.spawned).toHaveLength(1);
  });
});
