import { createWriteStream, existsSync, mkdtempSync, readFileSync } from "node:fs";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { endStream, openLog, writeBatched } from "../actors/log-file.js";
import { setOutputLogPolicy } from "../actors/log-rotation.js";

describe("batched log writes", () => {
  it("chunks that come together go out as one writev, in order, at most 64 KB a batch; end() flushes the rest", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "log-batch-")), "out.log");
    const s = createWriteStream(path);
    await once(s, "ready"); // before it is open every write waits anyway: batching shows once it is
    const calls: number[] = [];
    const writev = s._writev?.bind(s);
    s._writev = (chunks, done) => {
      calls.push(chunks.length);
      writev?.(chunks, done);
    };
    const small = Array.from({ length: 100 }, (_, i) => Buffer.from(`chunk ${i}\n`));
    for (const c of small) writeBatched(s, c);
    // The batch's timer, then its write ('drain' comes only after a write that filled the buffer).
    while (calls.length === 0 || s.writableLength > 0) await new Promise((r) => setImmediate(r));
    expect(calls).toEqual([100]);
    const big = Array.from({ length: 20 }, (_, i) => Buffer.alloc(4096, 97 + i));
    for (const c of big) writeBatched(s, c);
    expect(calls).toEqual([100, 16]); // 16 × 4 KB: out at once, not after the timer
    writeBatched(s, Buffer.from("last, corked when the stream ends\n"));
    await endStream(s);
    expect(readFileSync(path, "utf8")).toBe(`${small.join("")}${big.join("")}last, corked when the stream ends\n`);
  });

  it("a batch still rotates at maxBytes: every file under it, every byte once and in order", async () => {
    const dir = mkdtempSync(join(tmpdir(), "log-batch-rot-"));
    const leave = setOutputLogPolicy(dir, { maxBytes: 1000, keep: 50 });
    const path = join(dir, "s.out.log");
    const s = openLog(path);
    if (!s) throw new Error("no stream");
    const text = Array.from({ length: 400 }, (_, i) => `line ${i}\n`).join("");
    for (let at = 0; at < text.length; at += 37) writeBatched(s, Buffer.from(text.slice(at, at + 37)));
    await endStream(s);
    leave();
    const files = [path, ...Array.from({ length: 50 }, (_, i) => `${path}.${i + 1}`)].filter((f) => existsSync(f));
    expect(files.length).toBeGreaterThan(3);
    for (const f of files) expect(readFileSync(f).length).toBeLessThanOrEqual(1000);
    expect(
      files
        .reverse()
        .map((f) => readFileSync(f, "utf8"))
        .join(""),
    ).toBe(text);
  });

  it("a log's last batch is in the file when endStream returns: the exit does not wait a thread-pool round trip", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "log-tail-")), "s.out.log");
    const s = openLog(path);
    if (!s) throw new Error("no stream");
    await once(s, "ready");
    writeBatched(s, Buffer.from("first\n"));
    writeBatched(s, Buffer.from("second\n"));
    const ended = endStream(s);
    // Before any await: nothing is queued for the pool (an async writev would still count its bytes).
    expect(s.writableLength).toBe(0);
    expect(readFileSync(path, "utf8")).toBe("first\nsecond\n");
    await ended;
    expect(s.bytesWritten).toBe(13);
  });

  it("a tail that waits behind a write in flight still lands after it, in order, every byte once", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "log-tail-flight-")), "s.out.log");
    const s = openLog(path);
    if (!s) throw new Error("no stream");
    await once(s, "ready");
    const big = Buffer.alloc(70 * 1024, 120); // past a batch: goes out at once, through the pool
    writeBatched(s, big);
    writeBatched(s, Buffer.from("after\n"));
    await endStream(s);
    expect(readFileSync(path, "latin1")).toBe(`${big.toString("latin1")}after\n`);
  });
});
