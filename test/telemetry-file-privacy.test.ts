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
import { afterEach, describe, expect, it } from "vitest";
import { createActor, createMachine } from "xstate";
import { createAgentTelemetryLogic } from "../actors/agent-telemetry.js";
import type { AgentTelemetryInput } from "../machines/session.types.js";
import { type Conductor, createConductor } from "../src/conductor.js";
import { makeLogsDir } from "../src/conductor-options.js";

const FAKE_GEMINI = join(import.meta.dirname, "fixtures", "fake-gemini-telemetry.mjs");
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

describe("a gemini session's telemetry, end to end (a fake gemini that writes its file as gemini does)", () => {
  const open: Conductor[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.shutdown("test_end")));
  });

  it("the file is 0600 in a 0700 logs directory, has no prompt, and the conductor still reads it", async () => {
    const prompt = "Summarise the quarterly figures in secret-report.txt";
    const base = mkdtempSync(join(tmpdir(), "telemetry-e2e-"));
    const logsDir = join(base, "logs");
    const home = join(base, "home"); // no settings.json of the user's: the conductor's own file
    mkdirSync(home);
    const c = createConductor({ logsDir, graceMs: 1_000, handleSignals: false, enableMesh: false });
    open.push(c);
    const retried = new Promise<{ error: string | null }>((resolve) => c.on("agentRetry", resolve));
    c.spawnSession({
      id: "g1",
      agent: "command",
      judgeAs: "gemini",
      command: [process.execPath, FAKE_GEMINI, "-p", prompt],
      env: { HOME: home },
    });
    // The failed call the fake recorded reached the session: the file is read as before.
    expect((await retried).error).toBe("terminated");
    await c.shutdown("test_end");
    const file = join(logsDir, "g1.telemetry.json");
    const text = readFileSync(file, "utf8");
    expect(text).toContain("gemini_cli.api_error");
    expect({
      file: modeOf(file).toString(8),
      logsDir: modeOf(logsDir).toString(8),
      argv: text.includes("process.command_args"),
      prompt: text.includes(prompt),
    }).toEqual({ file: "600", logsDir: "700", argv: false, prompt: false });
  });
});
