/**
 * Typed input for a CLI that drops a fast Enter (codex, under 0.5 s after the text): the pure
 * parts (the session's command, the writer's order) with fake time, then through a real pty and
 * the whole conductor against a composer that behaves like codex's (test/fixtures/paste-burst.mjs).
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { PacedWrites } from "../actors/paced-writes.js";
import { type Conductor, createConductor } from "../src/conductor.js";
import { startSession } from "./helpers/session-harness.js";

const NODE = process.execPath;
const COMPOSER = fileURLToPath(new URL("./fixtures/paste-burst.mjs", import.meta.url));

describe("the session's typed input", () => {
  it("the three CLIs: the text, then Enter after their submitDelayMs; plain commands: both at once", () => {
    // claude too (a soak): it takes 63 characters or more in one write for a paste, the Enter in it.
    for (const agent of ["codex", "gemini", "claude"]) {
      const h = startSession({}, { agent, spec: { argv: [agent] } });
      h.spawnedEv();
      h.output();
      h.actor.send({ type: "INPUT", text: "fix the test" });
      expect(h.commands).toContainEqual({
        type: "CHILD.WRITE",
        data: "fix the test",
        after: { data: "\r", delayMs: 800 },
        paste: true,
      });
    }
    for (const agent of ["command"]) {
      const h = startSession({}, { agent, spec: { argv: [agent] } });
      h.spawnedEv();
      h.output();
      h.actor.send({ type: "INPUT", text: "go" });
      expect(h.commands).toContainEqual({ type: "CHILD.WRITE", data: "go\r", paste: true });
    }
  });
});

describe("PacedWrites", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("writes the pause's tail after it; a write that comes meanwhile waits its turn, in order", () => {
    vi.useFakeTimers();
    const out: string[] = [];
    const w = new PacedWrites((d) => out.push(d));
    w.push({ data: "first", after: { data: "\r", delayMs: 800 } });
    w.push({ data: "second", after: { data: "\r", delayMs: 800 } });
    w.push({ data: "\x1b" });
    expect(out).toEqual(["first"]);
    vi.advanceTimersByTime(799);
    expect(out).toEqual(["first"]);
    vi.advanceTimersByTime(1);
    expect(out).toEqual(["first", "\r", "second"]);
    vi.advanceTimersByTime(800);
    expect(out).toEqual(["first", "\r", "second", "\r", "\x1b"]);
    w.push({ data: "now" });
    expect(out.at(-1)).toBe("now");
  });

  it("dispose drops what still waits: nothing reaches a child that has exited", () => {
    vi.useFakeTimers();
    const out: string[] = [];
    const w = new PacedWrites((d) => out.push(d));
    w.push({ data: "text", after: { data: "\r", delayMs: 800 } });
    w.push({ data: "more" });
    w.dispose();
    vi.advanceTimersByTime(5_000);
    w.push({ data: "late" });
    expect(out).toEqual(["text"]);
  });
});

describe("sendInput through a real pty to a composer that drops a fast Enter", () => {
  const open: Conductor[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.shutdown("test_end")));
  });

  async function typeInto(judgeAs: "codex" | undefined): Promise<string> {
    const c = createConductor({ logsDir: mkdtempSync(join(tmpdir(), "paced-")), handleSignals: false, maxRestarts: 0 });
    open.push(c);
    const id = judgeAs ?? "plain";
    const ended = new Promise<void>((resolve) =>
      c.on("stateChange", (e) => e.sessionId === id && (e.to === "completed" || e.to === "dead") && resolve()),
    );
    c.spawnSession({ id, agent: "command", command: [NODE, COMPOSER], ...(judgeAs ? { judgeAs } : {}) });
    const outPath = c.getSnapshot().find((s) => s.id === id)?.outPath as string;
    const printed = () => (existsSync(outPath) ? readFileSync(outPath, "utf8") : "");
    while (!printed().includes("ready")) await new Promise((r) => setTimeout(r, 20));
    expect(c.sendInput(id, "hello")).toBe(true);
    if (judgeAs) await ended;
    else while (!printed().includes("paste-newline")) await new Promise((r) => setTimeout(r, 20));
    return printed();
  }

  it("judged as codex: the Enter comes after the pause, the composer submits the text", async () => {
    const out = await typeInto("codex");
    expect(out).toContain("submitted:hello");
    expect(out).not.toContain("paste-newline");
  });

  it("control: a plain command gets text and Enter in one write, which this composer takes as a paste", async () => {
    const out = await typeInto(undefined);
    expect(out).toContain("paste-newline");
    expect(out).not.toContain("submitted");
  });
});
