/**
 * The busy stall (`busyStallMs`), with a fake pty actor and SimulatedClock: a TUI turn whose only
 * change is its busy line's clock is stalled, however long the clock counts. Live, codex's TUI
 * against an API that never answers counted `Working (…)` for the case's whole 8 minutes and
 * stayed `healthy` (docs/agents.md, the busy stall); the screens here are the recorded CLIs' rows.
 */
import { describe, expect, it } from "vitest";
import { startSession } from "./helpers/session-harness.js";

const SEC = 1_000;
/** codex 0.171's TUI mid-turn (recorded codex/tui-mute), its clock at `t` seconds. */
const codex = (t: string, body = "› Reply with one short sentence.") => [
  body,
  "",
  `• Working (${t} • esc to interrupt)`,
  "",
  "  gpt-fake default · <CWD> · Reply with one short sentence.",
];
/**
 * gemini 0.61 (recorded gemini/tui-hang): the spinner's glyph turns, its clock counts, and the
 * padding that keeps `? for shortcuts` right-aligned shrinks each time the clock grows a digit.
 */
const gemini = (glyph: string, t: string) => {
  const left = ` ${glyph} Thinking... (esc to cancel, ${t})`;
  return [" > Reply with one short sentence.", `${left.padEnd(103)}? for shortcuts`];
};
const clock = (s: number) => (s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${s % 60}s`);
/** claude 2.1.332 (recorded claude/tui-hang): the spinner line carries the clock and the tokens. */
const claude = (glyph: string, t: string, tokens: number) => [
  "> Reply with one short sentence.",
  `${glyph} Synthesizing… (${t} · ↓ ${tokens} tokens)`,
  "  ⏵⏵ auto mode on (shift+tab to cycle) · esc to interrupt",
];
const POLICY = { stallMs: 30 * SEC, inputQuietMs: 1_500, busyStallMs: 120 * SEC, stallTimeoutMs: 60 * SEC };

/** A session as `agent` whose screen shows `frame(second)` once a second for `seconds` seconds. */
function ticking(agent: string, frame: (s: number) => string[], seconds: number, policy = {}) {
  const h = startSession({ ...POLICY, ...policy }, { agent });
  h.spawnedEv();
  for (let s = 0; s < seconds; s++) {
    h.screen(frame(s));
    h.advance(SEC);
  }
  return h;
}

describe("the busy stall: a clock that alone moves is no progress", () => {
  it("codex's counter ticking on a hung turn → stalled busyStallMs after the first tick, reason L1_busy_stall", () => {
    const h = startSession(POLICY, { agent: "codex" });
    h.spawnedEv();
    h.screen(codex("0s")); // the turn starts: content
    h.advance(SEC);
    h.screen(codex("1s")); // the first tick: the busy stall counts from here
    for (let s = 2; s <= 121; s++) {
      h.advance(SEC - 1);
      if (s === 121) {
        expect(h.state()).toBe("healthy");
        h.advance(1);
        break;
      }
      h.advance(1);
      h.screen(codex(`${s}s`));
    }
    expect(h.state()).toBe("stalled");
    expect(h.moves.at(-1)).toBe("healthy->stalled");
    expect(h.emitted.find((e) => e.type === "stateChange" && e.to === "stalled")).toMatchObject({
      reason: "L1_busy_stall",
    });
  });

  it("the ticks go on while stalled: still stalled; the stall ladder restarts the run stallTimeoutMs later", () => {
    const h = ticking("codex", (s) => codex(`${s}s`), 121);
    expect(h.state()).toBe("stalled");
    for (let s = 121; s < 180; s++) {
      h.screen(codex(`${s}s`));
      h.advance(SEC);
    }
    expect(h.state()).toBe("stalled");
    h.screen(codex("180s"));
    h.advance(SEC); // 60 s stalled
    expect(h.moves.slice(-3)).toEqual(["healthy->stalled", "stalled->failed", "failed->restarting"]);
    expect(h.ctx().failureMode).toBe("stall_timeout");
  });

  it("new content while stalled on a clock → healthy again (output_resumed), the clock counted anew", () => {
    const h = ticking("codex", (s) => codex(`${s}s`), 121);
    expect(h.state()).toBe("stalled");
    h.screen(codex("122s", "• Ran npm test"));
    expect(h.state()).toBe("stalled"); // judged at the first reading a settle (1 s) after it
    h.advance(SEC);
    h.screen(codex("123s", "• Ran npm test"));
    expect(h.moves.at(-1)).toBe("stalled->healthy");
    expect(h.ctx().reason).toBe("output_resumed");
    for (let s = 124; s < 243; s++) {
      h.advance(SEC);
      h.screen(codex(`${s}s`, "• Ran npm test"));
    }
    expect(h.state()).toBe("healthy"); // 119 s of ticks after the new content: not yet
  });

  it("content that changes between ticks keeps the turn healthy past busyStallMs (work, not a hang)", () => {
    const h = ticking("codex", (s) => codex(`${s}s`, `› step ${Math.floor(s / 60)}`), 300);
    expect(h.state()).toBe("healthy");
    expect(h.moves).not.toContain("healthy->stalled");
  });

  it("a frozen counter is still the plain stall: stallMs after the last tick, reason L1_stall", () => {
    const h = ticking("codex", (s) => codex(`${s}s`), 10);
    h.advance(30 * SEC - SEC);
    expect(h.state()).toBe("stalled");
    expect(h.ctx().reason).toBe("L1_stall");
    // Silent, then ticking again: the plain stall ends on it, as before.
    h.screen(codex("50s"));
    expect(h.moves.at(-1)).toBe("stalled->healthy");
  });

  it("gemini's turning spinner and clock, claude's spinner with its tokens frozen: both stall on the clock", () => {
    // Its clock crosses 9s → 10s, 59s → 1m 0s, 1m 9s → 1m 10s: the padding moves, the content does not.
    const g = ticking("gemini", (s) => gemini("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"[s % 10]!, clock(s)), 122);
    expect(g.ctx().reason).toBe("L1_busy_stall");
    const c = ticking("claude", (s) => claude("·✢✳✶✻✽"[s % 6]!, `${s}s`, 5), 122);
    expect(c.ctx().reason).toBe("L1_busy_stall");
  });

  it("claude's tokens counting up are work: no busy stall", () => {
    const h = ticking("claude", (s) => claude("·✢✳✶✻✽"[s % 6]!, `${s}s`, 5 + s), 300);
    expect(h.state()).toBe("healthy");
  });

  it("busyStallMs null: a ticking clock is progress for ever (the behaviour before)", () => {
    const h = ticking("codex", (s) => codex(`${s}s`), 600, { busyStallMs: null });
    expect(h.state()).toBe("healthy");
  });

  // Live under load (gemini/tui-hang, 2026-12-04): readings taken while a redraw was half written
  // changed the screen's content now and then, and the hung turn stayed healthy for 8 minutes.
  const halfDrawn = (t: string) => codex(t).slice(0, 2);
  it("a half-drawn frame between the ticks is no work: the busy stall still comes", () => {
    const h = startSession(POLICY, { agent: "codex" });
    h.spawnedEv();
    h.screen(codex("0s"));
    h.advance(SEC);
    for (let s = 1; s <= 121; s++) {
      // Every 5 s a reading lands in a redraw; the next one, 100 ms later, shows the whole frame.
      if (s % 5 === 0) {
        h.screen(halfDrawn(`${s}s`));
        h.advance(100);
        h.screen(codex(`${s}s`));
        h.advance(SEC - 100);
      } else {
        h.screen(codex(`${s}s`));
        h.advance(SEC);
      }
    }
    expect(h.state()).toBe("stalled");
    expect(h.ctx().reason).toBe("L1_busy_stall");
    expect(h.moves).toEqual(["init->starting", "starting->healthy", "healthy->stalled"]);
    // Stalled, the same: a half-drawn frame does not end the stall.
    h.screen(halfDrawn("122s"));
    h.advance(100);
    h.screen(codex("122s"));
    expect(h.state()).toBe("stalled");
  });

  it("other content is judged on a reading, not on the timer: a reading after the settle that shows the clock's screen is no work", () => {
    const h = ticking("codex", (s) => codex(`${s}s`), 60);
    h.screen(halfDrawn("60s"));
    h.advance(5 * SEC); // the event loop was blocked: no reading for 5 s, the settle long past
    for (let s = 65; s <= 121; s++) {
      h.screen(codex(`${s}s`));
      h.advance(SEC);
    }
    expect(h.state()).toBe("stalled");
    expect(h.ctx().reason).toBe("L1_busy_stall");
  });

  it("a command's screen has no busy line: a clock it prints is its content", () => {
    const h = ticking("command", (s) => [`elapsed ${s}s`], 300);
    expect(h.state()).toBe("healthy");
  });
});
