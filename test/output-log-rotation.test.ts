/**
 * Size-based rotation of `<id>.out.log`/`<id>.err.log` (actors/log-rotation.ts): nothing lost or
 * reordered across a rotation, files bounded, the oldest dropped beyond `keep`, 0600, and every
 * rotation a line in the event log; then a real pty session printing far past the limit.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { endStream, openLog } from "../actors/log-file.js";
import { RotatingWriteStream, setOutputLogPolicy } from "../actors/log-rotation.js";
import { createConductor } from "../src/conductor.js";
import { readEventLog } from "../src/event-log.js";

const MANY_LINES = fileURLToPath(new URL("./fixtures/many-lines.mjs", import.meta.url));

/** The rotated files oldest first, then the live one: reading them in this order is the whole output. */
function filesInOrder(file: string): string[] {
  const rotated = readdirSync(join(file, ".."))
    .map((f) => new RegExp(`^${file.split("/").at(-1)!.replace(/\./g, "\\.")}\\.(\\d+)$`).exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => b - a)
    .map((n) => `${file}.${n}`);
  return [...rotated, ...(existsSync(file) ? [file] : [])];
}
const concat = (files: string[]) => Buffer.concat(files.map((f) => readFileSync(f)));

describe("output log rotation", () => {
  it("every byte lands once and in order across rotations; files stay under maxBytes; 0600", async () => {
    const dir = mkdtempSync(join(tmpdir(), "outrot-"));
    const events: Array<{ event: string; data: Record<string, unknown> }> = [];
    const leave = setOutputLogPolicy(dir, {
      maxBytes: 1000,
      keep: 100,
      onEvent: (event, data) => events.push({ event, data }),
    });
    const file = join(dir, "s1.out.log");
    const s = openLog(file);
    expect(s).toBeInstanceOf(RotatingWriteStream);
    const written: Buffer[] = [];
    // Chunks of every size up to 300 bytes, written without waiting (so the stream batches them: writev).
    for (let i = 0; i < 400; i++) {
      const chunk = Buffer.from(`${i}:${"x".repeat((i * 37) % 300)}\n`);
      written.push(chunk);
      s!.write(chunk);
    }
    await endStream(s);
    leave();
    const files = filesInOrder(file);
    expect(concat(files).equals(Buffer.concat(written))).toBe(true);
    for (const f of files) {
      expect(statSync(f).size).toBeLessThanOrEqual(1000);
      expect(statSync(f).mode & 0o777).toBe(0o600);
    }
    // One event-log line per rotation, naming the session, with the size the rotated file had.
    expect(events.length).toBe(files.length - 1);
    expect(events.every((e) => e.event === "output.rotated" && e.data.session === "s1")).toBe(true);
    expect(events.map((e) => e.data.previousBytes)).toEqual(files.slice(0, -1).map((f) => statSync(f).size));
    expect(events.map((e) => e.data.rotation)).toEqual(events.map((_, i) => i + 1));
  });

  it("keeps `keep` rotated files and drops the oldest; a write larger than maxBytes goes whole into a new file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "outrot-"));
    const leave = setOutputLogPolicy(dir, { maxBytes: 100, keep: 2 });
    const file = join(dir, "s2.err.log");
    const s = openLog(file)!;
    const parts = ["a".repeat(60), "b".repeat(60), "c".repeat(60), "d".repeat(250), "e".repeat(10)];
    for (const p of parts) await new Promise<void>((r) => s.write(p, () => r()));
    await endStream(s);
    leave();
    expect(filesInOrder(file).map((f) => readFileSync(f, "utf8"))).toEqual([parts[2], parts[3], parts[4]]);
  });

  it("a write of lines larger than maxBytes is cut after line ends: every file within it, nothing torn, a too-long line whole", async () => {
    // A pty read on a loaded machine can be larger than the limit (16.5 KB through 16 KB, seen under
    // a CPU hog): it went whole into one file, past maxBytes.
    const dir = mkdtempSync(join(tmpdir(), "outrot-"));
    const leave = setOutputLogPolicy(dir, { maxBytes: 100, keep: 50 });
    const file = join(dir, "s4.out.log");
    const s = openLog(file)!;
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i} ${"x".repeat(i % 7)}\n`);
    const long = `${"L".repeat(150)}\n`;
    const text = `${lines.join("")}${long}${lines.join("")}`;
    await new Promise<void>((r) => s.write(Buffer.from(text), () => r()));
    await endStream(s);
    leave();
    const files = filesInOrder(file);
    expect(files.map((f) => readFileSync(f, "utf8")).join("")).toBe(text);
    for (const f of files) {
      const content = readFileSync(f, "utf8");
      expect(content.endsWith("\n") || f === file).toBe(true);
      if (content.length > 100) expect(content).toBe(long);
    }
  });

  it("maxBytes 0 never rotates (one file, however much is written); another directory's policy does not apply", async () => {
    const dir = mkdtempSync(join(tmpdir(), "outrot-"));
    const other = mkdtempSync(join(tmpdir(), "outrot-"));
    const leave = setOutputLogPolicy(dir, { maxBytes: 0 });
    const leaveOther = setOutputLogPolicy(other, { maxBytes: 10 });
    const s = openLog(join(dir, "s3.out.log"))!;
    s.write("y".repeat(5000));
    await endStream(s);
    leave();
    leaveOther();
    expect(filesInOrder(join(dir, "s3.out.log"))).toEqual([join(dir, "s3.out.log")]);
  });

  it("a real pty session printing far past outputLogMaxBytes: all its lines across the files, rotations in the event log", async () => {
    const logsDir = mkdtempSync(join(tmpdir(), "outrot-pty-"));
    const conductor = createConductor({
      logsDir,
      handleSignals: false,
      enableMesh: false,
      graceMs: 500,
      outputLogMaxBytes: 16_384,
      outputLogKeep: 50,
    });
    const done = new Promise<void>((r) => conductor.on("allCompleted", () => r()));
    const LINES = 20_000; // "line 0\n" … "line 19999\n": ~230 KB, 14+ rotations
    conductor.spawnSession({ id: "chatty", agent: "command", command: [process.execPath, MANY_LINES, String(LINES)] });
    await done;
    await conductor.shutdown("test");

    const file = join(logsDir, "chatty.out.log");
    const files = filesInOrder(file);
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) expect(statSync(f).size).toBeLessThanOrEqual(16_384);
    // The pty turns \n into \r\n; every line once, in order, none torn at a file boundary.
    const lines = concat(files)
      .toString("utf8")
      .split(/\r?\n/)
      .filter((l) => l.startsWith("line "));
    expect(lines).toEqual(Array.from({ length: LINES }, (_, i) => `line ${i}`));

    const rotated = (await readEventLog(join(logsDir, "conductor-events.jsonl"))).filter(
      (l) => l.event === "output.rotated" && l.session === "chatty",
    );
    expect(rotated.length).toBe(files.length - 1);
    expect(rotated.at(-1)).toMatchObject({ previous: "chatty.out.log.1", keep: 50, rotation: files.length - 1 });
  }, 120_000);
});
