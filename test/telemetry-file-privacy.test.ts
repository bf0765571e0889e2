/**
 * gemini's telemetry file holds what the run did (and, with OpenTelemetry's process detector, its
 * argv: the prompt): the conductor's own file is private before gemini opens it, the logs directory
 * the conductor makes is its user's only, and the prompt is kept out of the file. A field review
 * found the file 0644 in a 0755 directory, the prompt in every record's `process.command_args`.
 */
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createActor, createMachine } from "xstate";
import { createAgentTelemetryLogic } from "../actors/agent-telemetry.js";
import type { AgentTelemetryInput } from "../machines/session.types.js";
import { makeLogsDir } from "../src/conductor-options.js";

const modeOf = (path: string) => statSync(path).mode & 0o777;

/** The probe started as the session chart starts it, just before the run's CLI is spawned. */
function startProbe(input: Omit<AgentTelemetryInput, "sessionId" | "generation">) {
  const parent = createMachine({
    invoke: {
      src: createAgentTelemetryLogic({ pollMs: 20 }),
      input: { sessionId: "g1", generation: 1, ...input },
    },
  });
  return createActor(parent).start();
}

describe("the conductor's own telemetry file", () => {
  it("exists, 0600, as soon as the run's probe starts: before the CLI can open it", () => {
    const path = join(mkdtempSync(join(tmpdir(), "telemetry-mode-")), "g1.telemetry.json");
    const probe = startProbe({ path, owned: true });
    expect(existsSync(path)).toBe(true);
    expect(modeOf(path)).toBe(0o600);
    expect(statSync(path).size).toBe(0);
    probe.stop();
  });

  it("an earlier run's file is made private and kept as it was", () => {
    const path = join(mkdtempSync(join(tmpdir(), "telemetry-mode-")), "g1.telemetry.json");
    writeFileSync(path, "{\n}\n");
    chmodSync(path, 0o644);
    const probe = startProbe({ path, owned: true });
    expect(modeOf(path)).toBe(0o600);
    expect(readFileSync(path, "utf8")).toBe("{\n}\n");
    probe.stop();
  });

  it("a link at its name is replaced by a private file: gemini would write through it", () => {
    const dir = mkdtempSync(join(tmpdir(), "telemetry-mode-"));
    const target = join(dir, "elsewhere.json");
    writeFileSync(target, "theirs");
    chmodSync(target, 0o644);
    const path = join(dir, "g1.telemetry.json");
    symlinkSync(target, path);
    const probe = startProbe({ path, owned: true });
    expect(lstatSync(path).isFile()).toBe(true);
    expect(modeOf(path)).toBe(0o600);
    expect([readFileSync(target, "utf8"), modeOf(target)]).toEqual(["theirs", 0o644]);
    probe.stop();
  });

  it("a user's own outfile is only read: neither made nor changed", () => {
    const dir = mkdtempSync(join(tmpdir(), "telemetry-mode-"));
    const missing = join(dir, "not-yet.json");
    const own = join(dir, "own.json");
    writeFileSync(own, "");
    chmodSync(own, 0o644);
    const probes = [startProbe({ path: missing, owned: false }), startProbe({ path: own, owned: false })];
    expect(existsSync(missing)).toBe(false);
    expect(modeOf(own)).toBe(0o644);
    for (const p of probes) p.stop();
  });
});

describe("the logs directory", () => {
  it("is made 0700 (its parents as mkdir -p makes them); one that exists keeps its mode", () => {
    const base = mkdtempSync(join(tmpdir(), "logs-mode-"));
    const logsDir = join(base, "runs", "run-1");
    makeLogsDir(logsDir, logsDir);
    expect(modeOf(logsDir).toString(8)).toBe("700");
    expect(modeOf(join(base, "runs")) & 0o700).toBe(0o700);
    const shared = join(base, "shared");
    mkdirSync(shared);
    chmodSync(shared, 0o750);
    makeLogsDir(shared, shared);
    expect(modeOf(shared)).toBe(0o750);
  });
});
