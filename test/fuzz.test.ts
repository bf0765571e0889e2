/**
 * Fuzzing the inputs with fast-check: config files, createConductor options and spawnSession
 * configs, valid ones mutated at random. Promise: nothing but a ConductorError is ever thrown,
 * and no file appears outside logsDir. Bounded in CI; longer on demand:
 *   FUZZ_RUNS=10000 npx vitest run test/fuzz*.test.ts
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { createConductor } from "../src/conductor.js";
import { validateConductorOptions } from "../src/conductor-options.js";
import { loadRunConfig, parseRunConfig } from "../src/config.js";
import { ConductorError } from "../src/errors.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const TIMEOUT = Math.max(60_000, RUNS * 50);

const KEYS = [
  "id",
  "agent",
  "prompt",
  "command",
  "model",
  "profile",
  "workdir",
  "env",
  "resultFile",
  "mcpServers",
  "approvals",
  "trustWorkdir",
  "output",
  "extraArgs",
  "resumePrompt",
  "bin",
  "maxRestarts",
  "restart",
  "leaseWaitMs",
  "account",
  "remote",
  "host",
  "sessionName",
  "paneTarget",
  "attach",
  "completionToken",
  "hostDownTimeoutMs",
  "probeOpts",
  "probe",
  "onCompleted",
  "answers",
  "expect",
  "logsDir",
  "graceMs",
  "stallMs",
  "startupTimeoutMs",
  "inputQuietMs",
  "stallTimeoutMs",
  "inputWaitPatterns",
  "intervalMs",
  "l1ThresholdMs",
  "l3ThresholdMs",
  "windowMs",
  "backoffFactor",
  "sessions",
  "hosts",
  "accounts",
  "cols",
  "__proto__",
  "constructor",
  "toString",
  "maxRestart",
  "",
];

const hostileString = fc.oneof(
  fc.string(),
  fc.constantFrom("../../escaped/pwned", "/etc/passwd", "a/b", "..", ".", "x".repeat(10_000), "\0", "\uFEFF", "$(id)"),
  fc.string({ unit: "grapheme" }),
);
const value: fc.Arbitrary<unknown> = fc.oneof(
  { depthSize: "small" },
  fc.anything({ maxDepth: 2 }),
  hostileString,
  fc.constantFrom(3e9, -1, 0, 1.5, Number.NaN, Infinity, 2 ** 31, null, true, [], {}, ["echo", 5]),
  fc.integer(),
);

/** A valid object with random keys set, replaced or deleted, at the top level and one level down. */
function mutated(base: Record<string, unknown>) {
  const op = fc.oneof(
    fc.record({ kind: fc.constant("set" as const), key: fc.oneof(fc.constantFrom(...KEYS), fc.string()), value }),
    fc.record({ kind: fc.constant("del" as const), key: fc.constantFrom(...Object.keys(base)) }),
    fc.record({
      kind: fc.constant("nested" as const),
      key: fc.constantFrom("probeOpts", "restart", "env", "probe"),
      inner: fc.constantFrom(...KEYS),
      value,
    }),
  );
  return fc.array(op, { maxLength: 4 }).map((ops) => {
    const o: Record<string, unknown> = structuredClone(base);
    for (const m of ops) {
      if (m.kind === "set")
        Object.defineProperty(o, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
      else if (m.kind === "del") delete o[m.key];
      else
        o[m.key] = {
          ...(typeof o[m.key] === "object" && o[m.key] !== null ? (o[m.key] as object) : {}),
          [m.inner]: m.value,
        };
    }
    return o;
  });
}

function expectTyped(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ConductorError)) throw new Error(`not a ConductorError: ${String(e)}`, { cause: e });
  }
}

const root = mkdtempSync(join(tmpdir(), "fuzz-"));
const logsDir = join(root, "logs");
mkdirSync(logsDir);
const outside = () =>
  readdirSync(root, { recursive: true })
    .map(String)
    .filter((f) => f !== "logs" && !f.startsWith("logs/"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const session = {
  id: "s1",
  agent: "command",
  command: ["/nonexistent-fuzz/agent", "--x"],
  probeOpts: { stallMs: 1000 },
};

describe(`fuzz (${RUNS} runs each)`, () => {
  it(
    "config files: parseRunConfig throws only ConfigError",
    () => {
      const base = { logsDir: "./logs", probe: { stallMs: 5000 }, restart: { windowMs: 60000 }, sessions: [session] };
      fc.assert(
        fc.property(
          fc.oneof(mutated(base), mutated({ sessions: [{ ...session, probe: { l1ThresholdMs: 5 } }] }), value),
          (cfg) => expectTyped(() => parseRunConfig(cfg, "fuzz.json")),
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  it(
    "config file text (truncated, BOM, garbage): loadRunConfig rejects only with ConfigError",
    async () => {
      const text = JSON.stringify({ sessions: [session] });
      await fc.assert(
        fc.asyncProperty(fc.nat(text.length), fc.string(), fc.boolean(), async (cut, junk, bom) => {
          const file = join(logsDir, "fuzz.json");
          writeFileSync(file, `${bom ? "\uFEFF" : ""}${text.slice(0, cut)}${junk}`);
          await loadRunConfig(file).catch((e) => {
            if (!(e instanceof ConductorError)) throw e;
          });
        }),
        { numRuns: Math.min(RUNS, 500) },
      );
    },
    TIMEOUT,
  );

  it(
    "createConductor options: only OptionsError",
    () => {
      fc.assert(
        fc.property(
          mutated({ logsDir, maxRestarts: 1, graceMs: 100, probeOpts: { stallMs: 10 }, handleSignals: false }),
          (o) => expectTyped(() => validateConductorOptions(o)),
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  it(
    "spawnSession: only ConductorError, and no file outside logsDir",
    async () => {
      const c = createConductor({ logsDir, handleSignals: false, enableMesh: false });
      try {
        fc.assert(
          fc.property(mutated(session), (cfg) => {
            // Never a real program: a fuzzed argv or preset must not run anything on this machine.
            const safe: Record<string, unknown> = { ...cfg };
            if (cfg.agent === "command") {
              // Keep a fuzzed non-array command (it must be refused), but never a runnable program.
              if (Array.isArray(cfg.command)) safe.command = ["/nonexistent-fuzz/agent", ...cfg.command.slice(1)];
            } else safe.bin = "/nonexistent-fuzz/agent";
            expectTyped(() => c.spawnSession(safe as never));
          }),
          { numRuns: RUNS },
        );
        // Nothing may have started: every accepted config names a missing binary.
        expect(c.sessionCount).toBe(0);
      } finally {
        await c.shutdown("fuzz");
      }
      expect(outside()).toEqual([]);
    },
    TIMEOUT,
  );
});
