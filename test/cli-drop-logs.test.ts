/**
 * A refused `conductor run` drops the logs directory it made, and only its own (src/cli/drop-logs.ts):
 * under a CPU hog two runs started at once in one folder, the refused one removed the whole of
 * `.conductor-logs`, the other run's new logs directory with it (its mkdir then failed, ENOENT).
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dropMadeLogs } from "../src/cli/drop-logs.js";

describe("a refused run's logs directory", () => {
  it("goes with the parents it made, only while they are empty: another run's logs beside it stay", () => {
    const root = mkdtempSync(join(tmpdir(), "drop-logs-"));
    const parent = join(root, ".conductor-logs");
    const ours = join(parent, "run-1");
    const theirs = join(parent, "run-2");
    mkdirSync(ours, { recursive: true });
    writeFileSync(join(ours, "conductor-events.jsonl"), "{}\n");
    mkdirSync(theirs); // made by the other run meanwhile
    writeFileSync(join(theirs, "conductor-events.jsonl"), "{}\n");
    dropMadeLogs(ours, parent);
    expect(existsSync(ours)).toBe(false);
    expect(existsSync(join(theirs, "conductor-events.jsonl"))).toBe(true);
    // Alone, the run leaves nothing of what it made.
    dropMadeLogs(theirs, parent);
    expect(existsSync(parent)).toBe(false);
    expect(existsSync(root)).toBe(true);
  });

  it("leaves alone what was there before it (made: null) and a path under a file", () => {
    const root = mkdtempSync(join(tmpdir(), "drop-logs-"));
    const existing = join(root, "logs");
    mkdirSync(existing);
    dropMadeLogs(existing, null);
    expect(existsSync(existing)).toBe(true);
    writeFileSync(join(root, "a-file"), "");
    expect(() => dropMadeLogs(join(root, "a-file", "logs"), join(root, "a-file", "logs"))).not.toThrow();
    expect(existsSync(join(root, "a-file"))).toBe(true);
  });
});
