/**
 * Followers of an output log that rotates (`conductor logs -f` and the viewer both read through
 * src/control/output-tail.ts): the bytes written to the old file just before the rename, and whole
 * files rotated between two reads, reach the follower; every line exactly once, in order. Chunks
 * carry their byte positions, so a reader that follows first and reads the history second (nothing
 * falls between) can drop exactly what both hold.
 */
import { appendFileSync, mkdtempSync, readdirSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { endStream, openLog } from "../actors/log-file.js";
import { setOutputLogPolicy } from "../actors/log-rotation.js";
import { createConductor } from "../src/conductor.js";
import { connectControl } from "../src/control/client.js";
import { OutputTail, type TimedText } from "../src/control/output-tail.js";
import { unseenText } from "../src/control/protocol.js";
import { collector } from "./helpers/text-collector.js";

const MANY_LINES = fileURLToPath(new URL("./fixtures/many-lines.mjs", import.meta.url));

describe("following an output log across rotations", () => {
  it("reads the old file's last bytes after the rename, then files rotated between two reads, then the new one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tailrot-"));
    const file = join(dir, "s.out.log");
    appendFileSync(file, "a1\n");
    const tail = new OutputTail(dir);
    const seen = collector();
    const stop = tail.follow("s", (c) => seen.push(c.text), 1 << 20);
    try {
      await seen.until((t) => t === "a1\n");
      // Written after the follower's last read, then renamed away before it looks again: the case
      // a reopen-on-rename follower loses (it starts the new file at byte 0 and never sees "a2").
      appendFileSync(file, "a2\n");
      renameSync(file, `${file}.1`);
      appendFileSync(file, "b1\n");
      // Two more rotations in a row: "b" ends up in .2, "c" in .1, "d" is live.
      appendFileSync(file, "b2\n");
      renameSync(`${file}.1`, `${file}.2`);
      renameSync(file, `${file}.1`);
      appendFileSync(file, "c1\n");
      renameSync(`${file}.2`, `${file}.3`);
      renameSync(`${file}.1`, `${file}.2`);
      renameSync(file, `${file}.1`);
      appendFileSync(file, "d1\n");
      await seen.until((t) => t.includes("d1\n"));
      expect(seen.text).toBe("a1\na2\nb1\nb2\nc1\nd1\n");
      appendFileSync(file, "d2\n");
      await seen.until((t) => t.includes("d2\n"));
      expect(seen.text).toBe("a1\na2\nb1\nb2\nc1\nd1\nd2\n");
    } finally {
      stop();
      tail.close();
    }
  });

  it("chunks carry byte positions (a split UTF-8 character waits for its rest); the history's end splits live chunks exactly", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tailpos-"));
    const file = join(dir, "p.out.log");
    appendFileSync(file, "hello\n");
    const tail = new OutputTail(dir);
    const chunks: TimedText[] = [];
    const seen = collector();
    const stop = tail.follow(
      "p",
      (c) => {
        chunks.push(c);
        seen.push(c.text);
      },
      1 << 20,
    );
    try {
      await seen.until((t) => t === "hello\n");
      const o = Buffer.from("ö"); // 2 bytes: the first alone is half a character
      appendFileSync(file, Buffer.concat([Buffer.from("w"), o.subarray(0, 1)]));
      await seen.until((t) => t.endsWith("w"));
      appendFileSync(file, Buffer.concat([o.subarray(1), Buffer.from("rld\n")]));
      await seen.until((t) => t.endsWith("rld\n"));
      expect(seen.text).toBe("hello\nwörld\n");
      expect(chunks.map((c) => [c.start, c.end])).toEqual([
        [0, 6],
        [6, 7],
        [7, 13],
      ]);
      const { pieces, end } = await tail.recent("p", 1 << 20);
      expect(pieces.map((p) => p.text).join("")).toBe("hello\nwörld\n");
      expect(end).toBe(13);
      const chunk = (c: TimedText) => ({ ts: "", session: "p", text: c.text, start: c.start, end: c.end });
      // A history that ended inside the last chunk: only the bytes after its end are new.
      expect(unseenText(chunk(chunks[2] as TimedText), 9)).toBe("rld\n");
      expect(unseenText(chunk(chunks[1] as TimedText), 9)).toBe("");
      expect(unseenText(chunk(chunks[2] as TimedText), 6)).toBe("örld\n");
      expect(unseenText({ ts: "", session: "p", text: "x" }, 9)).toBeNull();
    } finally {
      stop();
      tail.close();
    }
  });

  it("a writer rotating every ~200 bytes, followed live by two followers: every line once, in order", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tailrot-"));
    const leave = setOutputLogPolicy(dir, { maxBytes: 200, keep: 1_000 });
    const file = join(dir, "w.out.log");
    const tail = new OutputTail(dir);
    const early = collector();
    const stops = [tail.follow("w", (c) => early.push(c.text))];
    const s = openLog(file);
    if (!s) throw new Error(`openLog(${file}) gave no stream`);
    const LINES = 3_000;
    const expected = Array.from({ length: LINES }, (_, i) => `w${i}\n`).join("");
    const late = collector();
    try {
      for (let i = 0; i < LINES; i++) {
        // Waiting for each write now and then lets the follower read between rotations.
        if (i % 7 === 0) await new Promise<void>((r) => s.write(`w${i}\n`, () => r()));
        else s.write(`w${i}\n`);
        if (i === 1_000) stops.push(tail.follow("w", (c) => late.push(c.text)));
      }
      await endStream(s);
      await early.until((t) => t.length >= expected.length);
      expect(early.text).toBe(expected);
      // The late follower starts wherever the live file was; from there on, nothing lost or repeated.
      await late.until((t) => t.endsWith(`w${LINES - 1}\n`));
      expect(expected.endsWith(late.text)).toBe(true);
      expect(late.text.length).toBeGreaterThan(expected.length / 2);
    } finally {
      for (const stop of stops) stop();
      tail.close();
      leave();
    }
  }, 60_000);

  it("conductor logs -f's stream (control follow) of a chatty pty session rotating 20+ times: every line once, in order", async () => {
    const logsDir = mkdtempSync(join(tmpdir(), "tailrot-pty-"));
    const conductor = createConductor({
      logsDir,
      handleSignals: false,
      enableMesh: false,
      graceMs: 500,
      outputLogMaxBytes: 8_192,
      outputLogKeep: 100,
      control: { name: `tailrot-${process.pid}`, socketPath: join(logsDir, "control.sock") },
    });
    const server = await conductor.control;
    if (!server) throw new Error("control gave no server");
    const client = await connectControl(server.socketPath);
    const seen = collector();
    const LINES = 20_000; // ~230 KB through 8 KiB files: 25+ rotations
    try {
      const completed = new Promise<void>((r) => conductor.on("allCompleted", () => r()));
      // The agent waits for a line on its terminal before it prints, so the follower is in place first.
      conductor.spawnSession({
        id: "chatty",
        agent: "command",
        command: ["/bin/sh", "-c", 'read go && exec "$0" "$1" "$2"', process.execPath, MANY_LINES, String(LINES)],
      });
      const follow = await client.follow({ sessions: ["chatty"], events: false, output: true }, (m) => {
        if (m.stream === "output") seen.push((m.data as { text: string }).text);
      });
      // sendInput sends nothing (false) until the child runs: under load the follow can be in place
      // before the spawn, and the agent then waited for a "go" that was never sent (120 s, hog run).
      while (!conductor.sendInput("chatty", "go")) await new Promise((r) => setTimeout(r, 10));
      await completed;
      await seen.until((t) => t.includes(`line ${LINES - 1}\r\n`));
      await follow.stop();
    } finally {
      client.close();
      await conductor.shutdown("test");
    }
    const lines = seen.text.split(/\r?\n/).filter((l) => l.startsWith("line "));
    expect(lines).toEqual(Array.from({ length: LINES }, (_, i) => `line ${i}`));
    const rotations = readdirSync(logsDir).filter((f) => /^chatty\.out\.log\.\d+$/.test(f));
    expect(rotations.length).toBeGreaterThan(20);
  }, 120_000);
});
