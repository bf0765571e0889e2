/**
 * The telemetry probe (actors/agent-telemetry.ts) on a real file written the way gemini-cli's file
 * exporter writes it (each record pretty-printed, one after another), and which sessions get gemini's
 * telemetry turned on (src/presets/gemini-telemetry.ts).
 */
import { appendFileSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createActor, createMachine } from "xstate";
import { apiErrorOf, createAgentTelemetryLogic, splitRecords } from "../actors/agent-telemetry.js";
import type { AgentTelemetryInput, TelemetryErrorEvent } from "../machines/session.types.js";
import { spawnEventOf } from "../src/conductor-spawn.js";
import { geminiTelemetry, remoteGeminiTelemetry, remoteTelemetryRunFile } from "../src/presets/gemini-telemetry.js";
import { waitUntil } from "./helpers/wait-until.js";

/** A log record as gemini 0.61 exports it (the fields the probe reads, and some it must ignore). */
const apiError = (status: number, message: string) => ({
  hrTime: [1796217136, 842000000],
  resource: { _rawAttributes: [["service.name", "gemini-cli"]] },
  attributes: {
    "event.name": "gemini_cli.api_error",
    "error.message": message,
    status_code: status,
    "http.status_code": status,
    role: "utility_router",
  },
  _body: `API error. Error: ${message}.`,
});
/** An HTTP span of the same request: a status, no event name. Not an API error record. */
const span = { _spanContext: { traceId: "t" }, kind: 2, attributes: { "http.status_code": 429 } };
const retry = { attributes: { "event.name": "gemini_cli.network_retry_attempt", attempt: 1, delay_ms: 41_703 } };
const exported = (...records: unknown[]) => records.map((r) => `${JSON.stringify(r, null, 2)}\n`).join("");
const QUOTA = '{"error":{"code":429,"message":"You exceeded your current quota","details":[{"retryDelay":"39s"}]}}';

/** The probe under a parent actor, as the session chart runs it: what it sent, and the parent to stop. */
function watch(input: AgentTelemetryInput) {
  const got: TelemetryErrorEvent[] = [];
  const parent = createMachine({
    invoke: { src: createAgentTelemetryLogic({ pollMs: 20, maxBytes: 4_000 }), input },
    on: { "PROBE.TELEMETRY": { actions: ({ event }) => got.push(event as TelemetryErrorEvent) } },
  });
  return { got, actor: createActor(parent).start() };
}

describe("reading gemini's telemetry file", () => {
  it("splits the exporter's stream into whole records and keeps an unfinished one for the next read", () => {
    const text = exported(span, apiError(429, QUOTA));
    const cut = text.length - 10;
    const first = splitRecords(text.slice(0, cut));
    expect(first.records).toEqual([span]);
    const second = splitRecords(first.rest + text.slice(cut));
    expect(second).toEqual({ records: [apiError(429, QUOTA)], rest: "" });
  });

  it("an API error record gives its event, status and message; spans and other events give nothing", () => {
    expect(apiErrorOf(apiError(429, QUOTA))).toEqual({ event: "gemini_cli.api_error", status: 429, message: QUOTA });
    expect(apiErrorOf(span)).toBeNull();
    expect(apiErrorOf(retry)).toBeNull();
    expect(apiErrorOf({ resourceMetrics: [] })).toBeNull();
  });

  it("the probe sends this run's API errors only, as they are appended, and cuts a file grown too big", async () => {
    const dir = mkdtempSync(join(tmpdir(), "agent-telemetry-"));
    const path = join(dir, "s1.telemetry.json");
    // An earlier run's error is already in the file: not this run's.
    writeFileSync(path, exported(apiError(429, "earlier run")));
    const { got, actor } = watch({ sessionId: "s1", generation: 2, path, owned: true });
    appendFileSync(path, exported(span, retry, apiError(429, QUOTA)));
    await waitUntil(() => got.length === 1, "the API error");
    expect(got[0]).toMatchObject({ generation: 2, event: "gemini_cli.api_error", status: 429, message: QUOTA });
    // Past maxBytes the file is cut back (gemini appends, so its next record lands at the new end).
    appendFileSync(path, exported({ attributes: { filler: "x".repeat(5_000) } }));
    await waitUntil(() => statSync(path).size === 0, "the file cut");
    appendFileSync(path, exported(apiError(503, "overloaded")));
    await waitUntil(() => got.length === 2, "the error after the cut");
    expect(got[1]).toMatchObject({ status: 503, message: "overloaded" });
    actor.stop();
  });

  it("a user's own outfile is only read: never cut, however big it grows, and read on past the bound", async () => {
    const dir = mkdtempSync(join(tmpdir(), "agent-telemetry-"));
    const path = join(dir, "own.json");
    writeFileSync(path, "");
    const { got, actor } = watch({ sessionId: "s1", generation: 1, path, owned: false });
    const big = exported({ attributes: { filler: "x".repeat(5_000) } }, apiError(429, QUOTA));
    appendFileSync(path, big);
    await waitUntil(() => got.length === 1, "the API error past the bound");
    appendFileSync(path, exported(apiError(503, "overloaded")));
    await waitUntil(() => got.length === 2, "the next error, read on from where it was");
    expect(got.map((e) => e.status)).toEqual([429, 503]);
    // Polls after the bound was passed have run (the second error was read after it): the user's
    // records are all still there.
    expect(statSync(path).size).toBe(big.length + exported(apiError(503, "overloaded")).length);
    actor.stop();
  });
});

describe("which sessions get gemini's telemetry", () => {
  const file = "/logs/s1.telemetry.json";
  const home = () => {
    const dir = mkdtempSync(join(tmpdir(), "gemini-home-"));
    mkdirSync(join(dir, ".gemini"));
    return dir;
  };

  it("a session judged as gemini: local telemetry into the conductor's file, prompts not logged", () => {
    const plan = geminiTelemetry("gemini", { HOME: home() }, file);
    expect(plan?.file).toBe(file);
    expect(plan?.owned).toBe(true);
    // Nothing leaves the machine, no prompt text is logged (in events, nor in the resource's argv: no
    // process detector), and it is on although settings.json may say off.
    const {
      GEMINI_TELEMETRY_TARGET: target,
      GEMINI_TELEMETRY_LOG_PROMPTS: prompts,
      OTEL_NODE_RESOURCE_DETECTORS: detectors,
      ...rest
    } = plan?.env ?? {};
    expect([target, prompts, detectors]).toEqual(["local", "false", "env,host"]);
    expect(rest).toEqual({ GEMINI_TELEMETRY_ENABLED: "true", GEMINI_TELEMETRY_OUTFILE: file });
    expect(geminiTelemetry("claude", { HOME: home() }, file)).toBeNull();
    expect(geminiTelemetry("command", { HOME: home() }, file)).toBeNull();
  });

  it("left alone when the user opted out or sends telemetry elsewhere; the user's own file is read", () => {
    const h = home();
    expect(geminiTelemetry("gemini", { HOME: h, GEMINI_TELEMETRY_ENABLED: "false" }, file)).toBeNull();
    expect(
      geminiTelemetry("gemini", { HOME: h, OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4317" }, file),
    ).toBeNull();
    expect(geminiTelemetry("gemini", { HOME: h, GEMINI_TELEMETRY_TARGET: "gcp" }, file)).toBeNull();
    expect(geminiTelemetry("gemini", { HOME: h, GEMINI_TELEMETRY_OUTFILE: "t.json" }, file, "/work")).toEqual({
      env: {},
      file: "/work/t.json",
      owned: false,
    });
    writeFileSync(join(h, ".gemini", "settings.json"), JSON.stringify({ telemetry: { otlpEndpoint: "http://x" } }));
    expect(geminiTelemetry("gemini", { HOME: h }, file)).toBeNull();
    const other = home();
    writeFileSync(join(other, ".gemini", "settings.json"), JSON.stringify({ telemetry: { outfile: "/t/own.json" } }));
    expect(geminiTelemetry("gemini", { GEMINI_CLI_HOME: other }, file)).toEqual({
      env: {},
      file: "/t/own.json",
      owned: false,
    });
  });
});

describe("a local gemini session's telemetry file", () => {
  const ctx = { opts: { logsDir: "/logs" }, logsDir: "/logs", checkHost: () => {}, accounts: null };
  const spec = (env: Record<string, string>) =>
    spawnEventOf(
      { id: "g1", agent: "command", judgeAs: "gemini", command: [process.execPath], env } as Parameters<
        typeof spawnEventOf
      >[0],
      ctx,
      new Date().toISOString(),
    ).event.session.spec;

  it("is the conductor's own in its logs folder, or the user's own outfile, which is never emptied", () => {
    const h = mkdtempSync(join(tmpdir(), "gemini-home-"));
    const ours = spec({ HOME: h });
    expect([ours.agentTelemetry, ours.agentTelemetryOwned]).toEqual(["/logs/g1.telemetry.json", true]);
    const users = spec({ HOME: h, GEMINI_TELEMETRY_OUTFILE: "/srv/own.json" });
    expect([users.agentTelemetry, users.agentTelemetryOwned]).toEqual(["/srv/own.json", false]);
  });
});

describe("a remote session's gemini telemetry", () => {
  const ctx = { opts: { logsDir: "/logs" }, logsDir: "/logs", checkHost: () => {}, accounts: null };
  const spawn = (extra: Record<string, unknown>) =>
    spawnEventOf(
      {
        id: "g1",
        agent: "command",
        judgeAs: "gemini",
        command: ["gemini"],
        remote: true,
        host: "box",
        ...extra,
      } as Parameters<typeof spawnEventOf>[0],
      ctx,
      new Date().toISOString(),
    ).event.session.spec;

  it("goes to a file of its own on the host, in /tmp under a random name, with the same settings", () => {
    const a = spawn({});
    const b = spawn({});
    expect(a.agentTelemetry).toMatch(/^\/tmp\/statechart-conductor-telemetry-[0-9a-f]{24}\.json$/);
    expect(b.agentTelemetry).not.toBe(a.agentTelemetry);
    // Each run writes a file of its own on the host, named from the session's secret: the next run's
    // name cannot be told from this one's (a host user sees it in ps), and no run reads another's.
    const secret = a.agentTelemetry as string;
    const runs = [1, 2, 3].map((g) => remoteTelemetryRunFile(secret, g));
    expect(new Set(runs).size).toBe(3);
    expect(remoteTelemetryRunFile(secret, 2)).toBe(runs[1]);
    for (const run of runs) {
      expect(run).toMatch(/^\/tmp\/statechart-conductor-telemetry-[0-9a-f]{32}\.json$/);
      expect(run).not.toContain(secret.slice(36, 60));
    }
    expect(a.env).toMatchObject({
      GEMINI_TELEMETRY_ENABLED: "true",
      GEMINI_TELEMETRY_TARGET: "local",
      GEMINI_TELEMETRY_OUTFILE: a.agentTelemetry,
      GEMINI_TELEMETRY_LOG_PROMPTS: "false",
      OTEL_NODE_RESOURCE_DETECTORS: "env,host",
    });
  });

  it("the file is the conductor's own (the remote probe may empty it)", () => {
    expect(spawn({}).agentTelemetryOwned).toBe(true);
  });

  it("none for an attached pane, an opt-out, an exporter or a file of the user's named in the session's env; this machine's settings are not the host's", () => {
    expect(spawn({ attach: true }).agentTelemetry).toBeUndefined();
    expect(spawn({ env: { GEMINI_TELEMETRY_ENABLED: "false" } }).agentTelemetry).toBeUndefined();
    expect(spawn({ env: { GEMINI_TELEMETRY_TARGET: "gcp" } }).agentTelemetry).toBeUndefined();
    // The user's own file on the host is left alone: the probe would make it private, empty and remove it.
    const own = spawn({ env: { GEMINI_TELEMETRY_OUTFILE: "/srv/t.json" } });
    expect(own.agentTelemetry).toBeUndefined();
    expect(own.env).toEqual({ GEMINI_TELEMETRY_OUTFILE: "/srv/t.json" });
    expect(spawn({ env: { GEMINI_TELEMETRY_OUTFILE: "t.json" }, workdir: "/srv" }).agentTelemetry).toBeUndefined();
    // A local settings.json that sends telemetry elsewhere is this machine's, not the host's.
    const h = mkdtempSync(join(tmpdir(), "gemini-home-"));
    mkdirSync(join(h, ".gemini"));
    writeFileSync(join(h, ".gemini", "settings.json"), JSON.stringify({ telemetry: { target: "gcp" } }));
    expect(remoteGeminiTelemetry("gemini", {}, "/tmp/t.json")?.file).toBe("/tmp/t.json");
    expect(geminiTelemetry("gemini", { HOME: h }, "/tmp/t.json")).toBeNull();
    expect(remoteGeminiTelemetry("claude", {}, "/tmp/t.json")).toBeNull();
  });
});
