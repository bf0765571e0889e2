/**
 * The real gemini TUI on a remote host: a tmux pane behind a real sshd on 127.0.0.1 (inside the
 * suite's loopback-only namespace), against the fake API's 429 with a 39 s RetryInfo. gemini retries
 * it behind `Thinking… (esc to cancel, Ns)` and says nothing else on screen; its telemetry file is on
 * the host, read there over SSH (actors/remote-telemetry.ts). The session must wait for the API's
 * reset after one run, and leave no process and no file on the host.
 * Part of `npm run test:agents`.
 */
import { readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { killTmuxServer, startSshd, type TestSshd } from "../../src/testing/sshd.js";
import { CASES, caseId } from "./cases.js";
import type { FakeApi } from "./fake-api/server.js";
import { runUnderConductor } from "./live-run.js";
import { startLiveAgents } from "./tui-run.js";

const telemetryFiles = () => readdirSync("/tmp").filter((f) => f.startsWith("statechart-conductor-telemetry-"));

describe("the real gemini TUI on a remote host, retrying a 429 behind its spinner", () => {
  let api: FakeApi;
  let bins: Record<string, { bin: string }>;
  let sshd: TestSshd;
  const socket = `cond-live-remote-${process.pid}`;
  beforeAll(async () => {
    ({ api, bins } = await startLiveAgents());
    sshd = await startSshd();
  }, 600_000);
  afterAll(async () => {
    await killTmuxServer(socket);
    await sshd?.stop();
    await api?.close();
  });

  test("is rate-limited from its telemetry on the host: one run, the API's wait, nothing left", async () => {
    const k = CASES.find((c) => caseId(c) === "gemini/tui-rate-429");
    if (!k) throw new Error("case gemini/tui-rate-429 is missing from cases.ts");
    const before = new Set(telemetryFiles());
    const r = await runUnderConductor(k, bins.gemini!.bin, api, 90_000, {
      hosts: sshd.hostsFile("box"),
      host: "box",
      socket,
    });
    console.log(JSON.stringify(r));
    expect(r).toMatchObject({ failureMode: "rate_limited", runs: 1, boundHit: false, survivors: [] });
    expect(r.lastError).toMatch(/quota/i);
    // The API's RetryInfo said 39 s: the wait is the reset's (read ~1-3 s after the call), not a backoff.
    expect(r.restartWaitMs).toBeGreaterThan(30_000);
    expect(r.restartWaitMs).toBeLessThanOrEqual(40_000);
    expect(telemetryFiles().filter((f) => !before.has(f))).toEqual([]);
  }, 300_000);
});
