/**
 * `conductor ls`'s rows: what the reason cell adds to a session's reason, read from its snapshot.
 * A remote session reads `healthy` through its host's outage, and its lost input was only in
 * `ls --json` (a field review's item): the table says both.
 */
import { describe, expect, it } from "vitest";
import { sessionRows } from "../src/cli/ls.js";
import type { ControlSession } from "../src/control/protocol.js";

const NOW = Date.parse("2026-12-05T10:00:00.000Z");
const session = (extra: Partial<ControlSession>): ControlSession =>
  ({
    id: "r",
    agent: "codex",
    state: "healthy",
    restarts: 0,
    reason: "first_output",
    failureMode: null,
    lastError: null,
    runStartedAt: null,
    lastOutputAt: null,
    nextRunAt: null,
    link: null,
    inputUnsure: null,
    ...extra,
  }) as ControlSession;
const reasonOf = (s: ControlSession) => sessionRows([s], NOW)[0]?.[6];

describe("ls: the reason cell", () => {
  it("a remote session whose host link is not up says so, for how long, and input its link may have lost", () => {
    const link = {
      host: "box",
      status: "reconnecting" as const,
      since: "2026-12-05T09:58:30.000Z",
      error: "read ECONNRESET",
    };
    expect(reasonOf(session({ link }))).toBe("first_output; host box reconnecting for 1m30s");
    const unsure = { at: "2026-12-05T09:58:31.000Z", attempt: 1, length: 12, error: "read ECONNRESET" };
    expect(reasonOf(session({ link, inputUnsure: unsure }))).toBe(
      "first_output; host box reconnecting for 1m30s; last input may not have arrived",
    );
    // Up (or a local session): the reason alone.
    expect(reasonOf(session({ link: { ...link, status: "up", error: null } }))).toBe("first_output");
    expect(reasonOf(session({}))).toBe("first_output");
  });

  it("a session waiting to run again says when", () => {
    const s = session({ state: "restarting", reason: "rate_limit_wait", nextRunAt: "2026-12-05T11:00:00.000Z" });
    expect(reasonOf(s)).toBe("rate_limit_wait; next run in 1h00m");
  });

  it("defect: a session waiting for an account says so, and when one should be free (was: `starting` and nothing else)", () => {
    const accountWait = {
      etaMs: 120_000,
      etaAt: "2026-12-05T10:02:00.000Z",
      reason: "acct-a cooling (~120s), acct-b leased (~1800s)",
    };
    expect(reasonOf(session({ state: "starting", reason: "respawn", accountWait }))).toBe(
      "respawn; waits for an account (one free in ~2m00s): acct-a cooling (~120s), acct-b leased (~1800s)",
    );
    expect(
      reasonOf(session({ state: "starting", reason: "initial", accountWait: { ...accountWait, etaAt: null } })),
    ).toBe("initial; waits for an account: acct-a cooling (~120s), acct-b leased (~1800s)");
  });
});

describe("ls: the last-error cell", () => {
  const errorOf = (s: ControlSession) => sessionRows([s], NOW)[0]?.[7];
  const prev = { attempt: 3, exit: { exitCode: 2, signal: null }, failureMode: "exit_nonzero" as const };
  it("a live run without an error of its own shows the run before's, marked as that run's", () => {
    expect(errorOf(session({ previousRun: { ...prev, lastError: "ECONNRESET", restartedOnRequest: false } }))).toBe(
      "run 3: ECONNRESET",
    );
    // No words from the CLI: its failure and how it exited.
    const stalled = { ...prev, exit: { exitCode: null, signal: "SIGTERM" }, failureMode: "stall_timeout" as const };
    expect(errorOf(session({ previousRun: { ...stalled, lastError: null, restartedOnRequest: false } }))).toBe(
      "run 3: stall_timeout, killed by SIGTERM",
    );
  });
  it("nothing failed (a restart asked for), a run's own error, or a session not running: no earlier run's words", () => {
    const asked = { ...prev, exit: { exitCode: null, signal: "SIGTERM" }, failureMode: null };
    expect(errorOf(session({ previousRun: { ...asked, lastError: null, restartedOnRequest: true } }))).toBe("-");
    const old = { ...prev, lastError: "old", restartedOnRequest: false };
    expect(errorOf(session({ lastError: "new", previousRun: old }))).toBe("new");
    expect(errorOf(session({ state: "completed", previousRun: old }))).toBe("-");
  });
});
