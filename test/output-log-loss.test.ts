/**
 * An output log (`<id>.out.log`) under write failures: the bytes a failed write loses are counted,
 * the log writes on once it can, and the streak is said (the runner's first-failure report, a
 * `logError` write_failed then recovered, an `output.gap` line). A field review filled the disk for
 * 4 s under a printing session: its output log stopped for the rest of the run (an fs.WriteStream
 * destroys itself on its first error) and the lost bytes were never counted. The disk is made full by
 * failing the stream's fs calls (the module object's, as Node's WriteStream calls them) everywhere,
 * and for real on a tmpfs where we may mount one (root).
 */
import { execFileSync } from "node:child_process";
import fs, { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { endStream, openLog } from "../actors/log-file.js";
import { setOutputLogPolicy } from "../actors/log-rotation.js";
import type { OutputLogError } from "../actors/output-log-loss.js";
import { mountTmpfs } from "./helpers/tmpfs.js";

const enospc = () => Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
afterEach(() => vi.restoreAllMocks());

/** An output log in a fresh directory whose policy records what is said about it. */
function logUnderWatch(name = "s.out.log") {
  const dir = mkdtempSync(join(tmpdir(), "output-loss-"));
  const lines: Array<[string, Record<string, unknown>]> = [];
  const errors: OutputLogError[] = [];
  const first: string[] = [];
  const leave = setOutputLogPolicy(dir, {
    onEvent: (event, data) => lines.push([event, data]),
    onError: (e) => errors.push(e),
  });
  const path = join(dir, name);
  const s = openLog(path, (err) => first.push(err.message));
  if (!s) throw new Error("no stream");
  const write = (text: string) => new Promise<void>((r) => s.write(Buffer.from(text), () => r()));
  const done = async () => {
    await endStream(s);
    leave();
    const text = readFileSync(path, "utf8");
    rmSync(dir, { recursive: true, force: true });
    return text;
  };
  return { s, path, lines, errors, first, write, done };
}

describe("output log under write failures", () => {
  it("defect: after one failed write the log stopped for good; now it writes on and counts the bytes lost", async () => {
    const log = logUnderWatch();
    await log.write("before\n");
    const writev = vi
      .spyOn(fs, "writev")
      .mockImplementation(((_fd: number, _b: unknown, _p: unknown, cb: unknown) =>
        (typeof _p === "function" ? _p : (cb as (e: Error) => void))(enospc())) as unknown as typeof fs.writev);
    await log.write("lost one\n");
    await log.write("lost two\n");
    writev.mockRestore();
    await log.write("after\n");
    expect(log.s.destroyed).toBe(false);
    expect(await log.done()).toBe("before\nafter\n");
    expect(log.first).toEqual(["ENOSPC: no space left on device, write"]);
    expect(log.errors.map((e) => [e.kind, e.session, e.lostBytes])).toEqual([
      ["write_failed", "s", 9],
      ["recovered", "s", 18],
    ]);
    expect(log.lines).toEqual([
      [
        "output.gap",
        expect.objectContaining({
          session: "s",
          path: log.path,
          lostBytes: 18,
          recovered: true,
          error: expect.stringMatching(/ENOSPC/),
        }),
      ],
    ]);
  });

  it("a streak still open when the log closes is said with its count, never recovered (the sync tail too)", async () => {
    const log = logUnderWatch();
    await log.write("kept\n");
    vi.spyOn(fs, "writevSync").mockImplementation(() => {
      throw enospc();
    });
    log.s.cork(); // held for the close: written on the caller's thread (endSoon)
    log.s.write(Buffer.from("the last words\n"));
    expect(await log.done()).toBe("kept\n");
    expect(log.errors.map((e) => e.kind)).toEqual(["write_failed"]);
    expect(log.lines).toEqual([["output.gap", expect.objectContaining({ lostBytes: 15, recovered: false })]]);
  });

  it("a log that could not be opened (a read-only logsDir) is said at once and opened again once it can be", async () => {
    const erofs = () => Object.assign(new Error("EROFS: read-only file system, open"), { code: "EROFS" });
    const open = vi
      .spyOn(fs, "open")
      .mockImplementation(((...args: unknown[]) =>
        (args.at(-1) as (e: Error) => void)(erofs())) as unknown as typeof fs.open);
    const openSync = vi.spyOn(fs, "openSync").mockImplementation(() => {
      throw erofs();
    });
    const log = logUnderWatch();
    await log.write("not written\n");
    open.mockRestore();
    openSync.mockRestore();
    await log.write("written\n");
    expect(await log.done()).toBe("written\n");
    expect(log.first).toEqual(["EROFS: read-only file system, open"]);
    expect(log.errors.map((e) => [e.kind, e.lostBytes])).toEqual([
      ["write_failed", 0],
      ["recovered", 12],
    ]);
  });
});

describe("output log on a really full disk (tmpfs)", () => {
  it("filled, then freed: every byte is in the file or counted lost, and the log writes on", async (ctx) => {
    const mnt = mkdtempSync(join(tmpdir(), "output-loss-tmpfs-"));
    if (!mountTmpfs(mnt, "64k")) return ctx.skip();
    try {
      const errors: OutputLogError[] = [];
      const lines: Array<Record<string, unknown>> = [];
      const leave = setOutputLogPolicy(mnt, { onEvent: (_e, d) => lines.push(d), onError: (e) => errors.push(e) });
      const s = openLog(join(mnt, "p.out.log"));
      if (!s) throw new Error("no stream");
      const line = (i: number) => `line ${String(i).padStart(4, "0")} ${"x".repeat(180)}\n`;
      const write = (i: number) => new Promise<void>((r) => s.write(line(i), () => r()));
      for (let i = 0; i < 10; i++) await write(i);
      try {
        execFileSync("dd", ["if=/dev/zero", `of=${join(mnt, "filler")}`, "bs=4k"], { stdio: "ignore" });
      } catch {
        /* dd ends on ENOSPC: the disk is full */
      }
      for (let i = 10; i < 60; i++) await write(i);
      rmSync(join(mnt, "filler"));
      for (let i = 60; i < 70; i++) await write(i);
      await endStream(s);
      // endStream resolves once the bytes are written ('finish'); its fd closes after, on the thread
      // pool ('close'): umount before it failed EBUSY (once, with helpers' CLIs loading the machine).
      if (!s.closed) await new Promise<void>((r) => s.once("close", () => r()));
      leave();
      const text = readFileSync(join(mnt, "p.out.log"), "utf8");
      const all = Array.from({ length: 70 }, (_, i) => line(i)).join("");
      const lost = errors.find((e) => e.kind === "recovered")?.lostBytes;
      expect(errors.map((e) => e.kind)).toEqual(["write_failed", "recovered"]);
      expect(lines).toEqual([expect.objectContaining({ lostBytes: lost, recovered: true })]);
      // What is on disk plus what was counted is every byte written; the last lines are all there.
      expect(text.length + (lost ?? 0)).toBe(all.length);
      expect(text.endsWith(Array.from({ length: 10 }, (_, i) => line(60 + i)).join(""))).toBe(true);
    } finally {
      execFileSync("umount", [mnt], { stdio: "ignore" });
      rmSync(mnt, { recursive: true, force: true });
    }
  });
});
