/**
 * The real gemini TUI on a remote host: a tmux pane behind a real sshd on 127.0.0.1 (inside the
 * suite's loopback-only namespace), against the fake API's 429 with a 39 s RetryInfo. gemini retries
 * it behind `Thinking… (esc to cancel, Ns)` and says nothing else on screen; its telemetry file is on
 * the host, read there over SSH (actors/remote-telemetry.ts). Each failed call it records is one of
 * its own retries (it waits the API's 39 s and tries again): the session must say so (`lastError`,
 * only the telemetry knows) and leave the run alone, and leave no process and no file on the host.
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

  test("reads its retries from its telemetry on the host: one run left alone, the API's words, nothing left", async () => {
    const k = CASES.find((c) => caseId(c) === "gemini/tui-rate-429");
    if (!k) throw new Error("case gemini/tui-rate-429 is missing from cases.ts");
    const before = new Set(telemetryFiles());
    // 60 s: gemini's first attempts (its router's, ~1 s after the prompt and 39 s later) are in.
    const r = await runUnderConductor(k, bins.gemini!.bin, api, 60_000, {
      hosts: sshd.hostsFile("box"),
      host: "box",
      socket,
    });
    console.log(JSON.stringify(r));
    // Still its first run, not failed: gemini retries by itself (before: rate_limited_in_telemetry, restarted).
    expect(r).toMatchObject({ state: "healthy", failureMode: null, runs: 1, boundHit: true, survivors: [] });
    // Its screen shows only the spinner: the retry's words come from the telemetry file on the host.
    expect(r.lastError).toMatch(/^You exceeded your current quota.*\(HTTP 429\); the CLI retries in 39 s$/);
    expect(telemetryFiles().filter((f) => !before.has(f))).toEqual([]);
  }, 300_000);
});
