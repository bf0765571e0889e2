/**
 * The event log admits loss (issue 12, item 6): a failed write spends its seq, is reported once
 * through onError, leaves no torn line, and the first line written again is preceded by `log.gap`
 * with the count and the seq range. Disk full is made real on a tmpfs where we may mount one (root),
 * and by an injected fs everywhere. Rotation renames in place and says so in the new file.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createEventLog, type EventLogError, readEventLogDetailed } from "../src/event-log.js";
import { mountTmpfs } from "./helpers/tmpfs.js";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "event-log-loss-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const enospc = () => Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });

/** fs whose writeSync fails while `full()` says so; `short` first writes part of the buffer. */
function faultyFs(full: () => boolean, short = false): typeof fs {
  return {
    ...fs,
    writeSync: ((fd: number, buf: Buffer, off: number, len: number) => {
      if (!full()) return fs.writeSync(fd, buf, off, len);
      if (short && len > 10) return fs.writeSync(fd, buf, off, 10); // a fragment, then the error
      throw enospc();
    }) as typeof fs.writeSync,
  };
}

/** Every seq from 1 to `last` is either a line on disk or inside a log.gap range. */
function accountFor(lines: { seq: number; event: string; [k: string]: unknown }[], last: number) {
  const seen = new Set(lines.map((l) => l.seq));
  for (const g of lines.filter((l) => l.event === "log.gap")) {
    for (let s = g.firstSeq as number; s <= (g.lastSeq as number); s++) seen.add(s);
  }
  const missing: number[] = [];
  for (let s = 1; s <= last; s++) if (!seen.has(s)) missing.push(s);
  return missing;
}

describe("event log under write failures", () => {
  it("/dev/full: every failed line spends a seq and is counted; onError fires once; nothing throws", async () => {
    if (!fs.existsSync("/dev/full")) return;
    const warnings: string[] = [];
    const errors: EventLogError[] = [];
    const log = createEventLog("/dev/full", { warn: (m) => warnings.push(m), onError: (e) => errors.push(e) });
    expect(() => {
      log.append("a");
      log.append("b");
    }).not.toThrow();
    expect(log.writeErrors).toBe(3); // "a", the log.gap retried before "b", "b"
    expect(log.lost).toBe(2); // the gap line is not an event: only "a" and "b" are lost
    expect(log.seq).toBe(2); // the loss shows in seq
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/ENOSPC|no space/i);
    expect(errors).toEqual([expect.objectContaining({ kind: "write_failed", lost: 1, firstLostSeq: 1 })]);
    await log.close();
  });

  it("a streak of failures becomes one log.gap line with the count and range once writing works", async () => {
    const file = path.join(dir, "e.jsonl");
    let full = false;
    const errors: EventLogError[] = [];
    const log = createEventLog(file, { fs: faultyFs(() => full), warn: () => {}, onError: (e) => errors.push(e) });
    log.append("one");
    log.append("two");
    full = true;
    for (const n of ["three", "four", "five"]) log.append(n);
    full = false;
    log.append("six");
    await log.close();
    const { lines, issues } = await readEventLogDetailed(file);
    expect(issues).toEqual([]);
    expect(lines.map((l) => [l.seq, l.event])).toEqual([
      [1, "one"],
      [2, "two"],
      [6, "log.gap"],
      [7, "six"],
    ]);
    expect(lines[2]).toMatchObject({ lost: 3, firstSeq: 3, lastSeq: 5, error: expect.stringMatching(/ENOSPC/) });
    expect(accountFor(lines, 7)).toEqual([]);
    expect(errors.map((e) => e.kind)).toEqual(["write_failed", "recovered"]);
    expect(errors[1]).toMatchObject({ lost: 3, firstLostSeq: 3 });
  });

  it("a short write followed by ENOSPC leaves no torn line: the fragment is cut off", async () => {
    const file = path.join(dir, "e.jsonl");
    let full = false;
    const log = createEventLog(file, { fs: faultyFs(() => full, true), warn: () => {} });
    log.append("whole", { text: "x".repeat(100) });
    full = true;
    log.append("cut", { text: "y".repeat(100) });
    expect(fs.readFileSync(file, "utf8").endsWith("\n")).toBe(true);
    full = false;
    log.append("after");
    await log.close();
    const { lines, issues } = await readEventLogDetailed(file);
    expect(issues).toEqual([]);
    expect(lines.map((l) => l.event)).toEqual(["whole", "log.gap", "after"]);
  });
});

describe("event log on a really full disk (tmpfs)", () => {
  it("counts every lost line, tears none, and logs the gap when space comes back", async (ctx) => {
    const mnt = path.join(dir, "mnt");
    fs.mkdirSync(mnt);
    if (!mountTmpfs(mnt, "64k")) return ctx.skip();
    try {
      const file = path.join(mnt, "conductor-events.jsonl");
      const filler = path.join(mnt, "filler");
      const errors: EventLogError[] = [];
      const log = createEventLog(file, { warn: () => {}, onError: (e) => errors.push(e) });
      for (let i = 0; i < 20; i++) log.append("session.state_change", { session: "s", i });
      // Fill the rest of the disk, then keep logging: these lines cannot land.
      try {
        fs.writeFileSync(filler, Buffer.alloc(1024 * 1024));
      } catch {
        /* ENOSPC: the disk is full, as intended */
      }
      for (let i = 20; i < 71; i++) log.append("session.state_change", { session: "s", i, pad: "z".repeat(150) });
      const lostWhileFull = log.lost;
      expect(lostWhileFull).toBeGreaterThan(0);
      expect(fs.readFileSync(file, "utf8").endsWith("\n")).toBe(true); // never torn
      fs.rmSync(filler);
      log.append("conductor.shutdown");
      await log.close();
      const { lines, issues } = await readEventLogDetailed(file);
      expect(issues).toEqual([]);
      // Small lines may still fit in the file's last page while big ones do not: a gap line can be
      // written between failures, so the streaks add up, each with its own range.
      const gaps = lines.filter((l) => l.event === "log.gap");
      expect(gaps.length).toBeGreaterThan(0);
      expect(gaps.reduce((n, g) => n + (g.lost as number), 0)).toBe(lostWhileFull);
      expect(accountFor(lines, log.seq)).toEqual([]);
      const written = lines.filter((l) => l.event === "session.state_change").length;
      expect(written + lostWhileFull).toBe(71);
      expect(errors[0]?.kind).toBe("write_failed");
      expect(errors.at(-1)?.kind).toBe("recovered");
      console.log(
        `tmpfs 64k: ${written} of 71 state changes written, ${lostWhileFull} lost, counted in ${gaps.length} log.gap`,
      );
    } finally {
      execFileSync("umount", [mnt], { stdio: "ignore" });
    }
  });
});

describe("event log rotation", () => {
  it("rotates by size, names the previous file in the new one, and loses no line across rotations", async () => {
    const file = path.join(dir, "e.jsonl");
    const log = createEventLog(file, { maxBytes: 2_000, keep: 50 });
    for (let i = 1; i <= 200; i++) log.append("session.output", { i });
    await log.close();
    expect(log.rotations).toBeGreaterThan(5);
    const files = [file, ...Array.from({ length: log.rotations }, (_, k) => `${file}.${k + 1}`)];
    const all = [];
    for (const f of files) {
      expect(fs.statSync(f).size).toBeLessThanOrEqual(2_000);
      expect(fs.statSync(f).mode & 0o777).toBe(0o600);
      all.push(...(await readEventLogDetailed(f)).lines);
    }
    const first = (await readEventLogDetailed(file)).lines[0];
    expect(first).toMatchObject({ event: "log.rotated", previous: "e.jsonl.1" });
    const seqs = all.map((l) => l.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: log.seq }, (_, k) => k + 1));
    const payload = all.filter((l) => l.event === "session.output").map((l) => l.i);
    expect(payload.sort((a, b) => (a as number) - (b as number))).toEqual(Array.from({ length: 200 }, (_, k) => k + 1));
  });

  it("keeps `keep` rotated files and drops the oldest", async () => {
    const file = path.join(dir, "e.jsonl");
    const log = createEventLog(file, { maxBytes: 1_000, keep: 2 });
    for (let i = 1; i <= 100; i++) log.append("session.output", { i });
    await log.close();
    expect(fs.existsSync(`${file}.1`)).toBe(true);
    expect(fs.existsSync(`${file}.2`)).toBe(true);
    expect(fs.existsSync(`${file}.3`)).toBe(false);
  });
});
