/**
 * A TUI given its first turn's prompt in its argv (gemini `-i <prompt>`) draws its ready screen before
 * it starts that prompt: gemini 0.61's `◇  Ready` title ~1.2 s before its `✦  Working…` (recorded
 * test/fixtures/agents/gemini/tui-toolfail-*.cast). A field probe saw the session report that as a wait
 * at the composer (an `inputWait`, then `healthy` again as the turn began): an embedder answering each
 * wait typed its next message into a TUI about to run its first. Not a wait until the turn has begun.
 */
import { describe, expect, it } from "vitest";
import { firstTurnPrompt, gemini as geminiProfile } from "../machines/agents/index.js";
import type { ChildSpec } from "../machines/session.types.js";
import { startSession } from "./helpers/session-harness.js";

const READY = "◇  Ready (work)";
const WORKING = "✦  Working… (work)";
/** Its screen as recorded (rows of tui-toolfail-quota.cast, bars cut short). */
const idle = [
  "Tips for getting started:",
  "▄▄▄▄▄▄",
  " *   Type your message or @path/to/file",
  "▀▀▀▀▀▀",
  " YOLO Ctrl+Y",
];
const busy = ["✦ ", " ⠹ Thinking... (esc to cancel, 0s)", " *   Type your message or @path/to/file"];
const answered = ["✦ Done: the command failed.", ...idle];

function gemini(argv: string[]) {
  const h = startSession({}, { agent: "gemini", spec: { argv } as ChildSpec });
  h.spawnedEv();
  return h;
}

describe("a TUI's first turn given in its argv", () => {
  it("gemini -i: its ready screen before the turn is no wait; after the turn it is", () => {
    const h = gemini(["gemini", "--approval-mode", "yolo", "-i", "Run the staging API client once."]);
    h.screen(idle, READY);
    h.advance(5_000);
    expect(h.state()).toBe("healthy");
    expect(h.emitted.filter((e) => e.type === "inputWait")).toEqual([]);
    h.screen(busy, WORKING);
    h.advance(200);
    h.screen(answered, READY);
    h.advance(5_000);
    expect(h.state()).toBe("input_wait");
    expect(h.ctx().inputWait).toMatchObject({ kind: "composer", pattern: "title:ready" });
  });

  it("gemini without a prompt in its argv waits at once; --prompt-interactive=… is one", () => {
    expect(firstTurnPrompt(geminiProfile, ["gemini", "-m", "x", "-i", "hi there"])).toBe("hi there");
    expect(firstTurnPrompt(geminiProfile, ["gemini", "--prompt-interactive=hi"])).toBe("hi");
    expect(firstTurnPrompt(geminiProfile, ["gemini", "-i"])).toBeNull();
    expect(firstTurnPrompt(geminiProfile, ["gemini", "-p", "x"])).toBeNull();
    const h = gemini(["gemini"]);
    h.screen(idle, READY);
    h.advance(5_000);
    expect(h.state()).toBe("input_wait");
    const g = gemini(["gemini", "--prompt-interactive=hello"]);
    g.screen(idle, READY);
    g.advance(5_000);
    expect(g.state()).toBe("healthy");
  });

  it("a restart's run waits for its own first turn again", () => {
    const h = gemini(["gemini", "-i", "hello"]);
    h.screen(busy, WORKING);
    h.screen(answered, READY);
    h.advance(5_000);
    expect(h.state()).toBe("input_wait");
    expect(h.ctx().turnBegun).toBe(true);
    h.crash(1);
    h.advance(60_000);
    h.spawnedEv();
    expect(h.ctx().turnBegun).toBe(false);
  });

  it("a first turn that needs no model (a slash command) begins with its prompt's echo", () => {
    const h = gemini(["gemini", "-i", "/about"]);
    h.screen(idle, READY);
    h.advance(5_000);
    expect(h.state()).toBe("healthy");
    h.screen([" > /about", "About Gemini CLI", ...idle], READY);
    h.advance(5_000);
    expect(h.state()).toBe("input_wait");
  });

  it("a resumed run started without the prompt (its resumeCommand) waits at once", () => {
    const spec = { argv: ["gemini", "-i", "hello"], resumeArgv: ["gemini", "--resume", "latest"] } as ChildSpec;
    const h = startSession({ restartMode: "resume" }, { agent: "gemini", spec });
    h.spawnedEv();
    h.screen(busy, WORKING);
    h.crash(1);
    h.advance(60_000);
    h.spawnedEv();
    expect(h.ctx().runMode).toBe("resume");
    h.screen(idle, READY);
    h.advance(5_000);
    expect(h.state()).toBe("input_wait");
  });
});
