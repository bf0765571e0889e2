/**
 * The one schema behind createConductor, spawnSession and the run-config file: hostile ids are
 * refused before any effect, argv elements must be strings, timers fit setTimeout, typos get the
 * closest key, and nothing the machine's policy knows is left out of the options.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_POLICY } from "../machines/session.policy.js";
import { runCommand } from "../src/cli/run.js";
import { createConductor, type Conductor } from "../src/conductor.js";
import { policyFor, validateConductorOptions, validateSpawnConfig } from "../src/conductor-options.js";
import { ConductorError, ConfigError, OptionsError } from "../src/errors.js";
import { loadRunConfig, parseRunConfig } from "../src/config.js";
import { conductorOptionsSchema } from "../src/schema/conductor.js";
import { referenceMarkdown, runConfigJsonSchema } from "../src/schema/generate-docs.js";
import { spawnConfigSchema } from "../src/schema/session.js";
import { schemaAt } from "../src/schema/issues.js";
import { POLICY_FIELDS } from "../src/schema/policy-fields.js";
import { MAX_ARG_BYTES, MAX_TIMER_MS } from "../src/schema/primitives.js";

const open: Conductor[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.shutdown("test_end")));
});

/** A parent directory holding logsDir, so files written beside or above logsDir are seen. */
function sandbox() {
  const root = mkdtempSync(join(tmpdir(), "schema-"));
  const logsDir = join(root, "deep", "logs");
  mkdirSync(logsDir, { recursive: true });
  const inside = relative(root, logsDir);
  const files = () => listAll(root).filter((f) => f !== inside && !f.startsWith(`${inside}/`));
  return { root, logsDir, outside: files };
}

function listAll(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? [relative(base, join(dir, e.name)), ...listAll(join(dir, e.name), base)]
      : [relative(base, join(dir, e.name))],
  );
}

function thrown(fn: () => unknown): ConductorError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConductorError);
    return e as ConductorError;
  }
  throw new Error("expected a ConductorError");
}

const HOSTILE_IDS: unknown[] = [
  "../../escaped/pwned",
  "../x",
  "a/b",
  "/abs",
  ".hidden",
  "..",
  "x".repeat(10_000),
  "tab\there",
  "nul\0byte",
  "",
  42,
  null,
  { toString: () => "obj" },
];

describe("session ids are confined on every path", () => {
  it("API: a hostile id is refused before anything exists: no file outside logsDir, no phantom session", () => {
    const box = sandbox();
    const c = createConductor({ logsDir: box.logsDir, handleSignals: false });
    open.push(c);
    for (const id of HOSTILE_IDS) {
      const e = thrown(() => c.spawnSession({ id, agent: "command", command: ["/bin/true"] } as never));
      expect(e.code).toBe("INVALID_OPTIONS");
      expect(e.field).toBe("id");
      expect(e).toBeInstanceOf(OptionsError);
    }
    expect(c.sessionCount).toBe(0);
    expect(c.getSnapshot()).toEqual([]);
    expect(box.outside()).toEqual(["deep"]);
    rmSync(box.root, { recursive: true, force: true });
  });

  it("config file: a hostile id exits 2 and writes nothing outside logsDir", async () => {
    const box = sandbox();
    for (const id of ["../../escaped/pwned", "a/b", "x".repeat(10_000)]) {
      const file = join(box.logsDir, "run.json");
      writeFileSync(
        file,
        JSON.stringify({ logsDir: ".", sessions: [{ id, agent: "command", command: ["/bin/true"] }] }),
      );
      const err: string[] = [];
      const code = await runCommand({ configPath: file }, process.stdout, {
        write: (s: string) => err.push(s),
      } as never);
      expect(code).toBe(2);
      expect(err.join("")).toMatch(/sessions\[0\]\.id: .* is not a valid session id/);
    }
    expect(box.outside()).toEqual(["deep"]);
    rmSync(box.root, { recursive: true, force: true });
  });

  it("the documented alphabet is accepted", () => {
    for (const id of ["a", "A-1", "review_2.retry", "9", "x".repeat(64)]) {
      expect(() => validateSpawnConfig({ id, agent: "command", command: ["/bin/true"] })).not.toThrow();
    }
    expect(() => validateSpawnConfig({ id: "x".repeat(65), agent: "command", command: ["/bin/true"] })).toThrow(
      /at most 64 characters/,
    );
  });
});

describe("argv, timers and keys", () => {
  it('argv elements must be strings: ["echo", 5] is refused before node-pty sees it', () => {
    const e = thrown(() => validateSpawnConfig({ id: "a", agent: "command", command: ["echo", 5] }));
    expect(e.field).toBe("command[1]");
    expect(e.message).toMatch(/command\[1\]: expected string, got number 5/);
    for (const command of [[], [""], "echo hi", ["echo", null], ["echo", "a\0b"]]) {
      expect(() => validateSpawnConfig({ id: "a", agent: "command", command })).toThrow(OptionsError);
    }
    expect(() => validateSpawnConfig({ id: "a", agent: "command", command: ["printf", ""] })).not.toThrow();
  });

  it("what exec cannot take (one string over 128 KiB, Linux's MAX_ARG_STRLEN) is refused at the call, not as E2BIG on every run", () => {
    const big = "x".repeat(MAX_ARG_BYTES); // + NUL: one byte over
    const fits = "x".repeat(MAX_ARG_BYTES - 1 - "BIG=".length);
    const env = thrown(() => validateSpawnConfig({ id: "a", agent: "command", command: ["sh"], env: { BIG: big } }));
    expect(env.field).toBe("env.BIG");
    expect(env.message).toMatch(/128 KiB, MAX_ARG_STRLEN\): put it in a file/);
    expect(() => validateSpawnConfig({ id: "a", agent: "command", command: ["sh"], env: { BIG: fits } })).not.toThrow();
    expect(() => validateSpawnConfig({ id: "a", agent: "command", command: ["sh"], env: { BIG: `${fits}x` } })).toThrow(
      OptionsError,
    );
    expect(thrown(() => validateSpawnConfig({ id: "a", agent: "command", command: ["echo", big] })).field).toBe(
      "command[1]",
    );
    expect(thrown(() => validateSpawnConfig({ id: "a", agent: "claude", prompt: big })).field).toBe("prompt");
    // Bytes, not characters: 50,000 three-byte characters are 150,000 bytes.
    expect(() => validateSpawnConfig({ id: "a", agent: "claude", prompt: "日".repeat(50_000) })).toThrow(OptionsError);
  });

  it("NaN is not a finite number, and a union of types reads with its article ('expected number, got number NaN' read as a contradiction)", () => {
    expect(thrown(() => validateConductorOptions({ logsDir: "l", graceMs: Number.NaN })).message).toMatch(
      /graceMs: must be a finite number, got NaN/,
    );
    expect(thrown(() => validateConductorOptions({ logsDir: "l", control: 5 })).message).toMatch(
      /control: must be a boolean or an object, got/,
    );
  });

  it("every timer is bounded to what setTimeout can hold (stallMs: 3e9 used to flap a healthy session)", () => {
    const e = thrown(() => createConductor({ logsDir: "/nonexistent-never-created", probeOpts: { stallMs: 3e9 } }));
    expect(e.field).toBe("probeOpts.stallMs");
    expect(e.message).toContain(`must be at most ${MAX_TIMER_MS} ms`);
    for (const probeOpts of [{ startupTimeoutMs: 2 ** 31 }, { inputQuietMs: 1e12 }, { stallTimeoutMs: Infinity }]) {
      expect(() => validateSpawnConfig({ id: "a", agent: "command", command: ["x"], probeOpts })).toThrow(OptionsError);
    }
    expect(() =>
      validateSpawnConfig({ id: "a", agent: "command", command: ["x"], restart: { windowMs: 2 ** 31 } }),
    ).toThrow(/restart\.windowMs/);
    expect(() =>
      parseRunConfig({ graceMs: 3e9, sessions: [{ id: "a", agent: "command", command: ["x"] }] }, "f"),
    ).toThrow(/graceMs: got number 3000000000, must be at most 2147483647/);
    expect(() =>
      validateSpawnConfig({ id: "a", agent: "command", command: ["x"], probeOpts: { stallMs: MAX_TIMER_MS } }),
    ).not.toThrow();
  });

  it("unknown keys suggest the closest known key, in the API and the file alike", () => {
    expect(() => createConductor({ logsDir: "/nonexistent-never-created", maxRestart: 3 } as never)).toThrow(
      /maxRestart: unknown key "maxRestart" \(did you mean "maxRestarts"\?\)/,
    );
    expect(() => validateSpawnConfig({ id: "a", agent: "command", command: ["x"], probeOpts: { stalMs: 1 } })).toThrow(
      /probeOpts\.stalMs: unknown key "stalMs" \(did you mean "stallMs"\?\)/,
    );
    expect(() =>
      parseRunConfig({ maxRestart: 1, sessions: [{ id: "a", agent: "command", command: ["x"] }] }, "f"),
    ).toThrow(/did you mean "maxRestarts"\?/);
  });

  it("a key given one level too high names the field it belongs in (createConductor({ stallMs }) listed every top-level key)", () => {
    const conductorIssue = thrown(() => validateConductorOptions({ logsDir: "/tmp/x", stallMs: 5 }));
    expect(conductorIssue.message).toContain(
      `stallMs: unknown key "stallMs" (did you mean "probeOpts.stallMs"?). Example: "probeOpts": { "stallMs": 30000 }`,
    );
    expect(() => validateSpawnConfig({ id: "a", agent: "command", command: ["x"], backoffFactor: 3 })).toThrow(
      /backoffFactor: unknown key "backoffFactor" \(did you mean "restart\.backoffFactor"\?\)/,
    );
    const file = thrown(() =>
      parseRunConfig({ stallMs: 4, sessions: [{ id: "a", agent: "command", command: ["x"], stallMs: 5 }] }, "f"),
    );
    expect(file.message).toContain(`sessions[0].stallMs: unknown key "stallMs" (did you mean "probe.stallMs"?)`);
    expect(file.message).toMatch(/^ {2}- stallMs: unknown key "stallMs" \(did you mean "probe\.stallMs"\?\)/m);
    // A near miss at its own level still wins; a key known nowhere still lists the keys.
    expect(() => validateConductorOptions({ logsDir: "/tmp/x", maxRestart: 1 })).toThrow(/did you mean "maxRestarts"/);
    expect(() => validateConductorOptions({ logsDir: "/tmp/x", bogus: 1 })).toThrow(/known keys: logsDir, /);
  });

  it("stallTimeoutMs: null (documented: stay stalled) is accepted by the API and the file", () => {
    expect(() =>
      validateSpawnConfig({ id: "a", agent: "command", command: ["x"], probeOpts: { stallTimeoutMs: null } }),
    ).not.toThrow();
    const cfg = parseRunConfig(
      { probe: { stallTimeoutMs: null }, sessions: [{ id: "a", agent: "command", command: ["x"] }] },
      "f",
    );
    expect(cfg.probe?.stallTimeoutMs).toBeNull();
  });

  it("a config file that starts with a UTF-8 byte-order mark is read", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bom-"));
    const file = join(dir, "c.json");
    writeFileSync(file, `\uFEFF${JSON.stringify({ sessions: [{ id: "a", agent: "command", command: ["x"] }] })}`);
    expect((await loadRunConfig(file)).sessions[0]?.id).toBe("a");
    rmSync(dir, { recursive: true, force: true });
  });

  it("a function-valued option's example reads as code, not as a JSON string", () => {
    expect(() => validateConductorOptions({ logsDir: "/tmp/x", inspect: 5 } as never)).toThrow(
      /Example: "inspect": inspector\.inspect$/m,
    );
  });

  it("errors are ConfigError/OptionsError with a code and the field", () => {
    const e = thrown(() => validateSpawnConfig({ id: "a", agent: "command", command: ["x"], maxRestarts: -1 }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e).toMatchObject({ code: "INVALID_OPTIONS", field: "maxRestarts", name: "OptionsError" });
  });
});

describe("nothing the policy knows is dropped", () => {
  /** Where a policy key is set: the conductor's options, or (per-session keys such as judgeAs) spawnSession's. */
  const fieldOf = (path: readonly string[]) => {
    const inConductor = schemaAt(conductorOptionsSchema, path);
    return inConductor.schema
      ? { ...inConductor, where: "conductor" }
      : { ...schemaAt(spawnConfigSchema, path), where: "session" };
  };

  it("every key of DEFAULT_POLICY is an option of the schema, documented with the same default", () => {
    for (const key of Object.keys(DEFAULT_POLICY) as (keyof typeof DEFAULT_POLICY)[]) {
      const [path] = POLICY_FIELDS[key];
      const { schema, meta } = fieldOf(path);
      expect(schema, `${key} at ${path.join(".")}`).toBeDefined();
      expect((meta as { default?: unknown }).default, `documented default of ${key}`).toEqual(DEFAULT_POLICY[key]);
    }
  });

  it("policyFor carries every policy key from the options into the machine, session values first", () => {
    const opts: Record<string, unknown> = { logsDir: "x" };
    const config: Record<string, unknown> = { id: "a", agent: "command", command: ["x"] };
    const expected: Record<string, unknown> = {};
    for (const [key, [path]] of Object.entries(POLICY_FIELDS)) {
      const { meta, where } = fieldOf(path);
      const documented = (meta as { examples?: unknown[] }).examples?.[0];
      const def = DEFAULT_POLICY[key as keyof typeof DEFAULT_POLICY];
      // A value the default cannot explain: the documented example, or the default + 1 for a number.
      const example =
        JSON.stringify(documented) === JSON.stringify(def) && typeof def === "number" ? def + 1 : documented;
      expect(example, `example of ${key}`).not.toEqual(def);
      let o = where === "conductor" ? opts : config;
      for (const k of path.slice(0, -1)) {
        o[k] ??= {};
        o = o[k] as Record<string, unknown>;
      }
      o[path[path.length - 1] as string] = example;
      expected[key] = example;
    }
    expect(() => validateConductorOptions(opts)).not.toThrow();
    validateSpawnConfig(config);
    expect(policyFor(opts as never, config as never)).toEqual(expected);
    const own = policyFor(opts as never, { ...config, maxRestarts: 1 } as never);
    expect(own.maxRestarts).toBe(1);
  });
});

describe("generated documentation", () => {
  it("docs/conductor.schema.json and docs/reference.md are what `npm run schema` writes from the schema", () => {
    const root = fileURLToPath(new URL("../", import.meta.url));
    const onDisk = JSON.parse(readFileSync(join(root, "docs/conductor.schema.json"), "utf8")) as unknown;
    expect(onDisk, "docs/conductor.schema.json is stale: run npm run schema").toEqual(runConfigJsonSchema());
    expect(
      readFileSync(join(root, "docs/reference.md"), "utf8"),
      "docs/reference.md is stale: run npm run schema",
    ).toBe(referenceMarkdown());
  });

  it("the demo config validates against the generated JSON Schema's keys (no key the schema lacks)", () => {
    const schema = runConfigJsonSchema() as { properties: Record<string, unknown> };
    const demo = JSON.parse(readFileSync(fileURLToPath(new URL("../demo/demo.config.json", import.meta.url)), "utf8"));
    for (const key of Object.keys(demo)) expect(schema.properties).toHaveProperty([key]);
  });
});
