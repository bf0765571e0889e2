/**
 * The seed's event-log unit tests, in the seed's spelling, through our public `createEventLog`:
 * `append(event, data)` writes one JSONL line `{ ts, event, ...data }`, `{ sessionId }` puts
 * `session` on every line, `append` after `close()` writes nothing, `filePath` is the path given.
 * Real files in a temp dir. Deviations (seq on every line, synchronous appends, so `pending` is always 0):
 * docs/seed-compatibility.md.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createEventLog } from "../../src/index.js";

const dirs: string[] = [];
function setup(): string {
  const dir = mkdtempSync(join(tmpdir(), "seed-event-log-"));
  dirs.push(dir);
  return join(dir, `test-${Date.now()}.jsonl`);
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const linesOf = (path: string) =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const silent = { warn: () => {} };

describe("seed event-log", () => {
  it("append() writes one JSONL line: event, the data's fields and an ISO ts", async () => {
    const path = setup();
    const log = createEventLog(path);
    log.append("spawn", { agent: "codex", pid: 1234 });
    await log.flush();
    await log.close();

    const lines = linesOf(path);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ event: "spawn", agent: "codex", pid: 1234 });
    expect(new Date(String(lines[0]?.ts)).toISOString()).toBe(lines[0]?.ts);
  });

  it("with sessionId, every line carries the session field", async () => {
    const path = setup();
    const log = createEventLog(path, { sessionId: "abc-123" });
    log.append("health", { level: "L0" });
    log.append("kill", { reason: "test" });
    log.append("bare");
    await log.flush();
    await log.close();

    const lines = linesOf(path);
    expect(lines.map((l) => [l.event, l.session])).toEqual([
      ["health", "abc-123"],
      ["kill", "abc-123"],
      ["bare", "abc-123"],
    ]);
    // As in the seed, the data's own `session` wins over the default.
    const other = setup();
    const log2 = createEventLog(other, { sessionId: "abc-123" });
    log2.append("stateChange", { session: "s2", from: "init", to: "starting" });
    await log2.close();
    expect(linesOf(other)[0]).toMatchObject({ session: "s2", from: "init" });
  });

  it("append() after close() writes nothing", async () => {
    const path = setup();
    const log = createEventLog(path, silent);
    log.append("before", {});
    await log.close();
    log.append("after", {});

    const lines = linesOf(path);
    expect(lines.map((l) => l.event)).toEqual(["before"]);
    // Ours also counts what it refused instead of dropping it without a trace.
    expect(log.dropped).toBe(1);
    expect(log.closed).toBe(true);
  });

  it("filePath is the path given at creation", async () => {
    const path = setup();
    const log = createEventLog(path);
    expect(log.filePath).toBe(path);
    await log.close();
  });

  it("flush() and close() return promises; close() twice is one close", async () => {
    const path = setup();
    const log = createEventLog(path);
    log.append("x");
    const f = log.flush();
    expect(f).toBeInstanceOf(Promise);
    await f;
    const c1 = log.close();
    expect(log.close()).toBe(c1);
    await c1;
    expect(linesOf(path)).toHaveLength(1);
  });

  it("the line is on disk when append returns (the seed's stream buffered it until flush)", () => {
    const path = setup();
    const log = createEventLog(path);
    log.append("spawn", { pid: 7 });
    // No flush, no await: a crash right here must not lose the line (our deviation: writes are synchronous).
    expect(linesOf(path)).toEqual([expect.objectContaining({ event: "spawn", pid: 7 })]);
    expect(log.pending).toBe(0);
    void log.close();
  });
});
