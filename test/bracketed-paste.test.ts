/**
 * Typed text reaches a TUI as a terminal's paste: bracketed (`ESC [200~ … ESC [201~`) where the
 * program turned bracketed paste on, as it is where not. Typed in one burst, gemini 0.61 took the `?`
 * of "did I give you? One short sentence." as its shortcuts key and dropped it (a live resume test).
 * A question's key (a menu's digit, a y/n) stays a key. Local pty, real tmux, and the chart's part.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { pasteBytes } from "../actors/bracketed-paste.js";
import { pasteKeys } from "../actors/remote-pane.js";
import { type Conductor, createConductor } from "../src/conductor.js";
import { startSession } from "./helpers/session-harness.js";

const NODE = process.execPath;
const ECHO = fileURLToPath(new URL("./fixtures/paste-echo.mjs", import.meta.url));
const TEXT = "Which code word did I give you? One short sentence.";

describe("pasteBytes", () => {
  it("brackets the text, keeps a trailing Enter outside, sends line ends as CR", () => {
    expect(pasteBytes(`${TEXT}\r`, true)).toBe(`\x1b[200~${TEXT}\x1b[201~\r`);
    expect(pasteBytes("one\ntwo\r\nthree", true)).toBe("\x1b[200~one\rtwo\rthree\x1b[201~");
  });

  it("an end marker inside the text is dropped: the rest cannot be typed as keys", () => {
    expect(pasteBytes("a\x1b[201~\x03b\r", true)).toBe("\x1b[200~a\x03b\x1b[201~\r");
  });

  it("a program that did not ask, or an Enter alone: the bytes as they are", () => {
    expect(pasteBytes(`${TEXT}\r`, false)).toBe(`${TEXT}\r`);
    expect(pasteBytes("\r", true)).toBe("\r");
  });
});

describe("the session says which writes are text", () => {
  const trust = [
    "│ Do you trust the files in this folder?  │",
    "│ ❯ 1. Yes, proceed                       │",
    "│   2. No, exit                           │",
    "│ Enter to confirm · Esc to cancel        │",
  ];

  it("text to a running TUI or a plain command is a paste; keys and an empty line are not", () => {
    for (const agent of ["claude", "command"]) {
      const h = startSession({ timeZone: "UTC" }, { agent, spec: { argv: [agent] } });
      h.spawnedEv();
      h.output();
      h.actor.send({ type: "INPUT", text: TEXT });
      h.actor.send({ type: "INPUT", text: "" });
      h.actor.send({ type: "KEYS", keys: ["Esc"] });
      const writes = h.commands.filter((c) => c.type === "CHILD.WRITE");
      expect(writes.map((w) => "paste" in w && w.paste === true)).toEqual([true, false, false]);
    }
  });

  it("text answering a menu or a y/n line is typed, never a paste", () => {
    const menu = startSession(
      { timeZone: "UTC", inputQuietMs: 1_500 },
      { agent: "claude", spec: { argv: ["claude"] } },
    );
    const yesNo = startSession({ timeZone: "UTC", inputQuietMs: 1_500 }, { agent: "command", spec: { argv: ["sh"] } });
    for (const [h, screen, answer] of [
      [menu, trust, "1"],
      [yesNo, ["Overwrite build/out.txt? (y/n)"], "y"],
    ] as const) {
      h.spawnedEv();
      h.screen([...screen]);
      h.advance(1_500);
      expect(h.actor.getSnapshot().context.state).toBe("input_wait");
      h.actor.send({ type: "INPUT", text: answer });
      const writes = h.commands.filter((c) => c.type === "CHILD.WRITE");
      expect(writes.length).toBeGreaterThan(0);
      expect(writes.some((w) => "paste" in w)).toBe(false);
    }
  });
});

describe("sendInput through a real pty", () => {
  const open: Conductor[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.shutdown("test_end")));
  });

  async function received(args: string[]): Promise<string> {
    const c = createConductor({ logsDir: mkdtempSync(join(tmpdir(), "paste-")), handleSignals: false, maxRestarts: 0 });
    open.push(c);
    c.spawnSession({ id: "p", agent: "command", command: [NODE, ECHO, ...args] });
    const outPath = c.getSnapshot()[0]?.outPath as string;
    const printed = () => (existsSync(outPath) ? readFileSync(outPath, "utf8") : "");
    // On its screen, not only in its log: the mode it set before is parsed by then (xterm parses a
    // moment after the bytes are logged), as a TUI's is by the time its composer is read.
    const screen = () => (c.actor.system.get("session:p")?.getSnapshot().context.screen ?? []) as string[];
    while (!printed().includes("ready") || !screen().includes("ready")) await new Promise((r) => setTimeout(r, 20));
    expect(c.sendInput("p", TEXT)).toBe(true);
    while (!printed().includes("got:")) await new Promise((r) => setTimeout(r, 20));
    return JSON.parse(/got:(.*)/.exec(printed())?.[1] ?? "null") as string;
  }

  it("a program that turned bracketed paste on gets the text bracketed, its Enter after", async () => {
    expect(await received(["bracketed"])).toBe(`\x1b[200~${TEXT}\x1b[201~`);
  });

  it("control: a program that did not gets the text as typed", async () => {
    expect(await received([])).toBe(TEXT);
  });
});

describe("pasteKeys through a real tmux", () => {
  // A server of its own per test: a new one on the socket of one being killed can die with it
  // ("server exited unexpectedly", seen once).
  let tests = 0;
  let socket = "";
  afterEach(() => {
    try {
      execFileSync("tmux", ["-L", socket, "kill-server"], { stdio: "ignore" });
    } catch {
      /* not started */
    }
  });

  /** Runs the commands as tmux's command line would, then reads what the program printed. */
  async function viaTmux(args: string[], data: string): Promise<string> {
    const cmd = [NODE, ECHO, ...args].map((a) => `'${a}'`).join(" ");
    socket = `conductor-paste-${process.pid}-${++tests}`;
    execFileSync("tmux", [
      "-L",
      socket,
      "-f",
      "/dev/null",
      "new-session",
      "-d",
      "-x",
      "120",
      "-y",
      "20",
      `${cmd}; sleep 30`,
    ]);
    const tmux = (...a: string[]) => execFileSync("tmux", ["-L", socket, ...a], { encoding: "utf8" });
    const pane = tmux("display-message", "-p", "#{pane_id}").trim();
    const screen = () => tmux("capture-pane", "-p", "-t", pane);
    while (!screen().includes("ready")) await new Promise((r) => setTimeout(r, 20));
    const commands = pasteKeys(pane, data);
    tmux(...commands.flatMap((c, i) => (i === 0 ? c : [";", ...c])));
    while (!screen().includes("got:")) await new Promise((r) => setTimeout(r, 20));
    expect(tmux("list-buffers")).toBe(""); // the paste took its buffer with it
    return JSON.parse(/got:(.*)/.exec(screen())?.[1] ?? "null") as string;
  }

  it("tmux brackets the text for a program that asked (paste-buffer -p), its line ends as CR", async () => {
    expect(await viaTmux(["bracketed"], `-a? b\nc\r`)).toBe("\x1b[200~-a? b\rc\x1b[201~");
  });

  it("control: for a program that did not, the text as typed", async () => {
    expect(await viaTmux([], `${TEXT}\r`)).toBe(TEXT);
  });
});

describe("malformed input sent to the chart itself", () => {
  it("defect: is refused and said, the run supervised still (was: a throw put the actor in error, its child unwatched)", () => {
    for (const agent of ["claude", "command"]) {
      const h = startSession({ timeZone: "UTC" }, { agent, spec: { argv: [agent] } });
      const send = (e: unknown) => h.actor.send(e as Parameters<typeof h.actor.send>[0]);
      // Before the first child (type-ahead), then with it running.
      send({ type: "KEYS", keys: ["Entr"] });
      h.spawnedEv();
      h.output();
      send({ type: "KEYS", keys: "Enter" });
      send({ type: "KEYS" });
      send({ type: "INPUT", text: 5 });
      expect(h.actor.getSnapshot().status).toBe("active");
      const refused = h.emitted.filter((e) => e.type === "inputRefused");
      expect(refused.map((e) => (e as { input: string }).input)).toEqual(["KEYS", "KEYS", "KEYS", "INPUT"]);
      expect((refused[0] as { why: string }).why).toMatch(/unknown key "Entr"/);
      expect(h.commands.filter((c) => c.type === "CHILD.WRITE")).toEqual([]);
      // The run is still the chart's: a KILL ends it.
      h.actor.send({ type: "KILL", reason: "test" });
      expect(h.commands.some((c) => c.type === "CHILD.TERMINATE")).toBe(true);
    }
  });
});
