/**
 * The control layer's output tail holds a session's `<id>.out.log` open only while it is needed:
 * while the session runs, or while someone follows it. A soak found every ended session keeping
 * one fd for good (800 short sessions: 827 fds; under `ulimit -n 200` every spawn from the 179th
 * died `openpty(3) failed`). A finished session's output stays readable: `history`, `screen` and a
 * new follower open the file again.
 */
import { appendFileSync, mkdtempSync, readdirSync, readlinkSync, realpathSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConductor } from "../src/conductor.js";
import { type ControlClient, connectControl } from "../src/control/client.js";
import { OutputTail } from "../src/control/output-tail.js";
import type { ControlServer } from "../src/control/server.js";
import { waitUntil } from "./helpers/wait-until.js";
import { collector } from "./helpers/text-collector.js";

/** What this process holds open under `dir` (fd targets, real paths). */
function openUnder(dir: string): string[] {
  const real = `${realpathSync(dir)}/`;
  const out: string[] = [];
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(real)) out.push(target.slice(real.length));
    } catch {
      // closed while we looked (the listing's own fd among them)
    }
  }
  return out.sort();
}

const outLogsOpen = (dir: string) => openUnder(dir).filter((f) => /\.(out|err)\.log(\.\d+)?( \(deleted\))?$/.test(f));

/** A bound for a hung test, not a timing gate (a loaded machine only waits longer). */
const BOUND_MS = 30_000;

describe("a session's output file is held only while needed (control on)", () => {
  const logsDir = mkdtempSync(join(tmpdir(), "tailfds-"));
  const conductor = createConductor({
    logsDir,
    handleSignals: false,
    enableMesh: false,
    graceMs: 500,
    control: { name: `tailfds-${process.pid}`, socketPath: join(logsDir, "control.sock") },
  });
  let server: ControlServer;
  let client: ControlClient;

  /** Resolves with the session's final state. */
  const ended = (id: string) =>
    new Promise<string>((resolve) => {
      const fn = (e: { sessionId: string; to: string }) => {
        if (e.sessionId !== id || (e.to !== "completed" && e.to !== "dead")) return;
        conductor.off("stateChange", fn);
        resolve(e.to);
      };
      conductor.on("stateChange", fn);
    });

  /** A short session printing `text`, run to its end. */
  async function runShort(id: string, text: string): Promise<void> {
    const done = ended(id);
    conductor.spawnSession({ id, agent: "command", command: ["/bin/sh", "-c", `printf '%s\\n' '${text}'`] });
    expect(await done).toBe("completed");
  }

  const heldFile = (id: string) => openUnder(logsDir).filter((f) => f.startsWith(`${id}.out.log`));

  beforeAll(async () => {
    const s = await conductor.control;
    if (!s) throw new Error("control gave no server");
    server = s;
    client = await connectControl(server.socketPath);
  });

  afterAll(async () => {
    client?.close();
    await conductor.shutdown("test");
  });

  it("a churn of short sessions, each removed: no output log stays open, nothing per session stays tracked", async () => {
    for (let i = 0; i < 2; i++) {
      await runShort(`warm-${i}`, `warm ${i}`);
      conductor.removeSession(`warm-${i}`);
    }
    await waitUntil(() => outLogsOpen(logsDir).length === 0, "the warm-up's output logs closed", BOUND_MS).catch(
      () => undefined, // seen by the assertion below, with what is open
    );
    const before = openUnder(logsDir);
    const N = 15;
    for (let i = 0; i < N; i++) {
      await runShort(`churn-${i}`, `churn ${i}`);
      conductor.removeSession(`churn-${i}`);
    }
    await waitUntil(() => outLogsOpen(logsDir).length === 0, "every output log closed", BOUND_MS).catch(
      () => undefined,
    );
    expect(outLogsOpen(logsDir)).toEqual([]);
    expect(openUnder(logsDir).length).toBeLessThanOrEqual(before.length);
    // The tail's entries went with the sessions (memory per ended session is bounded).
    for (let i = 0; i < N; i++) expect(server.handler.output.lastOutputAt(`churn-${i}`)).toBeNull();
  }, 180_000);

  it("a finished session, not removed: its file is let go, and history, screen and a new follower still read it", async () => {
    await runShort("kept", "kept-marker-1");
    await waitUntil(() => heldFile("kept").length === 0, "kept's output log let go", BOUND_MS).catch(() => undefined);
    expect(heldFile("kept")).toEqual([]);

    const history = await client.request<{ entries: Array<{ type: string; text?: string }> }>({
      op: "history",
      session: "kept",
    });
    const shown = history.entries
      .filter((e) => e.type === "output")
      .map((e) => e.text)
      .join("");
    expect(shown).toContain("kept-marker-1");
    const screen = await client.request<{ lines: string[] }>({ op: "screen", session: "kept" });
    expect(screen.lines.join("\n")).toContain("kept-marker-1");
    await waitUntil(() => heldFile("kept").length === 0, "kept's output log let go after the reads", BOUND_MS).catch(
      () => undefined,
    );
    expect(heldFile("kept")).toEqual([]);

    // `logs -f` / `attach` of the finished session: its backlog, then what is appended while it follows.
    const seen = collector();
    const follow = await client.follow(
      { sessions: ["kept"], events: false, output: true, backlog: 1 << 20 },
      (m) => m.stream === "output" && seen.push((m.data as { text: string }).text),
    );
    await seen.until((t) => t.includes("kept-marker-1"));
    appendFileSync(join(logsDir, "kept.out.log"), "appended-while-followed\n");
    await seen.until((t) => t.includes("appended-while-followed"));
    expect(heldFile("kept")).toHaveLength(1); // read through a held fd while followed
    await follow.stop();
    await waitUntil(() => heldFile("kept").length === 0, "kept's output log let go after unfollow", BOUND_MS).catch(
      () => undefined,
    );
    expect(heldFile("kept")).toEqual([]);
    expect(server.handler.output.lastOutputAt("kept")).not.toBeNull();
  }, 120_000);

  it("a follower of a session that ends keeps the file until it stops; a restart (remove + spawn) follows on", async () => {
    const seen = collector();
    const done = ended("live");
    conductor.spawnSession({
      id: "live",
      agent: "command",
      command: ["/bin/sh", "-c", "read go && printf '%s\\n' \"run-$go\""],
    });
    const follow = await client.follow(
      { sessions: ["live"], events: false, output: true },
      (m) => m.stream === "output" && seen.push((m.data as { text: string }).text),
    );
    while (!conductor.sendInput("live", "one")) await new Promise((r) => setTimeout(r, 10));
    expect(await done).toBe("completed");
    await seen.until((t) => t.includes("run-one"));
    // Final, but followed: still held; a restart of a final session removes it and spawns the id again.
    expect(heldFile("live").length).toBeGreaterThan(0);
    const again = ended("live");
    await conductor.restartSession("live");
    while (!conductor.sendInput("live", "two")) await new Promise((r) => setTimeout(r, 10));
    expect(await again).toBe("completed");
    await seen.until((t) => t.includes("run-two"));
    await follow.stop();
    await waitUntil(() => heldFile("live").length === 0, "live's output log let go after unfollow", BOUND_MS).catch(
      () => undefined,
    );
    expect(heldFile("live")).toEqual([]);
  }, 120_000);
});

describe("OutputTail: a final session's file", () => {
  it("followed across rotations, then let go; history after still reads the live file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tailfds-rot-"));
    const file = join(dir, "r.out.log");
    appendFileSync(file, "a1\n");
    const tail = new OutputTail(dir);
    tail.track("r");
    tail.setFinal("r", true);
    const seen = collector();
    const stop = tail.follow("r", (c) => seen.push(c.text), 1 << 20);
    try {
      await seen.until((t) => t === "a1\n");
      expect(openUnder(dir)).toEqual(["r.out.log"]);
      // Written, then renamed away before the follower looks again: read through the held fd.
      appendFileSync(file, "a2\n");
      renameSync(file, `${file}.1`);
      appendFileSync(file, "b1\n");
      await seen.until((t) => t.includes("b1\n"));
      expect(seen.text).toBe("a1\na2\nb1\n");
      expect(openUnder(dir)).toEqual(["r.out.log"]); // the new live file, the old one let go
      stop();
      await waitUntil(() => openUnder(dir).length === 0, "r's file let go", BOUND_MS).catch(() => undefined);
      expect(openUnder(dir)).toEqual([]);
      const { pieces } = await tail.recent("r", 1 << 20);
      expect(pieces.map((p) => p.text).join("")).toBe("b1\n");
      await waitUntil(() => openUnder(dir).length === 0, "r's file let go after recent", BOUND_MS).catch(
        () => undefined,
      );
      expect(openUnder(dir)).toEqual([]);
      // Removed: the entry goes.
      tail.forget("r");
      expect(tail.tracked()).toEqual([]);
    } finally {
      stop();
      tail.close();
    }
  });

  it("close() lets every held file go", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tailfds-close-"));
    for (const id of ["x", "y"]) appendFileSync(join(dir, `${id}.out.log`), `${id}\n`);
    const tail = new OutputTail(dir);
    const seen = collector();
    tail.follow("x", (c) => seen.push(c.text), 1 << 20);
    tail.follow("y", (c) => seen.push(c.text), 1 << 20);
    await seen.until((t) => t.includes("x\n") && t.includes("y\n"));
    expect(openUnder(dir)).toEqual(["x.out.log", "y.out.log"]);
    tail.close();
    await waitUntil(() => openUnder(dir).length === 0, "every file let go", BOUND_MS).catch(() => undefined);
    expect(openUnder(dir)).toEqual([]);
  });
});
