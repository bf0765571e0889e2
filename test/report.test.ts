/**
 * `conductor report`: a run's event log (format 1 and format 2 names, a torn last line) becomes
 * lanes of state spans, markers and a summary; the HTML is self-contained.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildReport, renderReportHtml, renderReportText, writeSyntheticLog } from "../src/report/index.js";

const at = (s: number) => new Date(Date.parse("2026-12-01T00:00:00Z") + s * 1000).toISOString();
let seq = 0;
const v1 = (s: number, event: string, data: object) => JSON.stringify({ seq: ++seq, ts: at(s), event, ...data });
const v2 = (s: number, event: string, data: object) => JSON.stringify({ seq: ++seq, ts: at(s), event, v: 2, ...data });

describe("report", () => {
  it("reads format 1 and format 2 names alike, skips a torn last line, and draws spans and markers", async () => {
    const dir = mkdtempSync(join(tmpdir(), "report-"));
    const move = (f: typeof v1, s: number, session: string, from: string, to: string, reason: string, restarts = 0) =>
      f(s, f === v1 ? "stateChange" : "session.state_change", { session, from, to, reason, restarts });
    const lines = [
      v1(0, "conductor_start", { logsDir: "x", pid: 1 }),
      // format 1: a session that is rate limited once, then killed
      move(v1, 0, "old", "init", "starting", "initial"),
      v1(0.1, "spawn", { session: "old", agent: "codex", attempt: 1 }),
      v1(0.2, "session_account", { session: "old", accountId: "acct-a", provider: "codex" }),
      move(v1, 1, "old", "starting", "healthy", "first_output"),
      v1(3, "exit", { session: "old", attempt: 1, code: 1, signal: null, failureMode: "rate_limited" }),
      move(v1, 3, "old", "healthy", "failed", "exit_code:1,signal:null"),
      move(v1, 3, "old", "failed", "restarting", "restart_1/3", 1),
      move(v1, 4, "old", "restarting", "starting", "respawn", 1),
      v1(4.1, "spawn", { session: "old", agent: "codex", attempt: 2 }),
      move(v1, 5, "old", "starting", "healthy", "first_output", 1),
      v1(6, "kill", { session: "old", reason: "control_kill" }),
      move(v1, 6, "old", "healthy", "failed", "control_kill", 1),
      move(v1, 6, "old", "failed", "dead", "killed", 1),
      // format 2: a session that asks a question and completes
      move(v2, 0, "new", "init", "starting", "initial"),
      v2(0.1, "session.spawn", { session: "new", agent: "claude", attempt: 1 }),
      move(v2, 2, "new", "starting", "healthy", "first_output"),
      v2(4, "session.input_wait", { session: "new", l1: "input_wait", pattern: "yes_no" }),
      move(v2, 4, "new", "healthy", "input_wait", "input_wait:yes_no"),
      move(v2, 5, "new", "input_wait", "healthy", "output_resumed"),
      v2(8, "session.exit", { session: "new", attempt: 1, code: 0, signal: null, failureMode: null }),
      move(v2, 8, "new", "healthy", "completed", "exit_0"),
      v2(9, "conductor.shutdown", { reason: "all_completed" }),
    ];
    const file = join(dir, "conductor-events.jsonl");
    writeFileSync(file, `${lines.join("\n")}\n{"seq":99,"ts":"${at(9)}","event":"conductor.shutdown_comp`);
    const r = await buildReport(dir);
    expect(r.stats).toMatchObject({ torn: true, malformed: 0, lines: lines.length });
    expect(r.complete).toBe(false);
    const old = r.sessions.find((s) => s.id === "old")!;
    expect(old).toMatchObject({ finalState: "dead", restarts: 1, runs: 2, kills: 1, rateLimits: 1, agent: "codex" });
    expect(old.failures).toEqual({ rate_limited: 1 });
    expect(old.accounts).toEqual(["acct-a (codex)"]);
    expect(old.markers.map((m) => m.kind)).toEqual(["rate_limit", "restart", "kill"]);
    expect(old.timeInState).toMatchObject({ starting: 2000, healthy: 3000, restarting: 1000 });
    const neu = r.sessions.find((s) => s.id === "new")!;
    expect(neu).toMatchObject({ finalState: "completed", questions: 1, agent: "claude" });
    expect(neu.spans.map((s) => s.state)).toEqual(["starting", "healthy", "input_wait", "healthy", "completed"]);
    expect(neu.timeInState.completed).toBeUndefined(); // a final state is not time spent

    const html = renderReportHtml(r);
    expect(html).not.toMatch(/<script|https?:\/\//); // offline, no script
    expect(html.match(/<g class="lane"/g)).toHaveLength(2);
    expect(html).toMatch(/rate limited: rate_limited/);
    expect(html).toMatch(/last line was torn/);
    expect(renderReportText(r)).toMatch(/old\s+dead\s+1\s+2\s+rate_limited · account acct-a \(codex\)/);
  });

  it("defect: a timeout is a failure, the CLI's own line is shown, restarts are every restart (was: 'no failure', no lastError, the window's count)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "report-"));
    const move = (s: number, session: string, from: string, to: string, reason: string, restarts: number) =>
      v2(s, "session.state_change", { session, from, to, reason, restarts });
    /** A crasher's run that exits 1 with its error line. */
    const crash = (s: number, attempt: number, lastError: string) =>
      v2(s, "session.exit", {
        session: "crasher",
        attempt,
        code: 1,
        signal: null,
        failureMode: "exit_nonzero",
        lastError,
      });
    const lines = [
      v2(0, "conductor.start", { logsDir: "x", pid: 1 }),
      // A start-up timeout: killed, no exit line; then dead.
      move(0, "silent", "init", "starting", "initial", 0),
      v2(0.1, "session.spawn", { session: "silent", agent: "command", attempt: 1 }),
      move(5, "silent", "starting", "failed", "L3_timeout", 0),
      move(5, "silent", "failed", "dead", "maxRestarts(0)_exceeded", 0),
      v2(5, "session.dead", {
        session: "silent",
        reason: "maxRestarts(0)_exceeded",
        failureMode: "startup_timeout",
        lastError: null,
      }),
      // A crasher: its exit says how; dead, then restarted by hand as a new actor, its window back at 0.
      move(0, "crasher", "init", "starting", "initial", 0),
      v2(0.1, "session.spawn", { session: "crasher", agent: "command", attempt: 1 }),
      crash(1, 1, "Error: ENOENT: could not open x"),
      move(1, "crasher", "starting", "failed", "exit_code:1", 0),
      move(1, "crasher", "failed", "restarting", "restart_1/1", 1),
      v2(1, "session.restart_wait", { session: "crasher", delayMs: 0, failureMode: "exit_nonzero" }),
      move(1, "crasher", "restarting", "starting", "respawn", 1),
      v2(1.1, "session.spawn", { session: "crasher", agent: "command", attempt: 2 }),
      crash(2, 2, "Error: ENOENT: could not open x"),
      move(2, "crasher", "starting", "failed", "exit_code:1", 1),
      move(2, "crasher", "failed", "dead", "maxRestarts(1)_exceeded", 1),
      v2(2, "session.dead", {
        session: "crasher",
        reason: "maxRestarts(1)_exceeded",
        failureMode: "exit_nonzero",
        lastError: "Error: ENOENT: could not open x",
      }),
      v2(3, "session.restart", { session: "crasher", reason: "user_restart", from: "dead", via: "new_actor" }),
      move(3, "crasher", "init", "starting", "initial", 0),
      v2(3.1, "session.spawn", { session: "crasher", agent: "command", attempt: 1 }),
      crash(4, 1, "Error: still broken"),
      move(4, "crasher", "starting", "failed", "exit_code:1", 0),
      move(4, "crasher", "failed", "dead", "maxRestarts(0)_exceeded", 0),
      v2(6, "conductor.shutdown_complete", { reason: "all_completed" }),
    ];
    writeFileSync(join(dir, "conductor-events.jsonl"), `${lines.join("\n")}\n`);
    const r = await buildReport(dir);
    const silent = r.sessions.find((x) => x.id === "silent")!;
    expect(silent.failures).toEqual({ startup_timeout: 1 });
    const crasher = r.sessions.find((x) => x.id === "crasher")!;
    expect(crasher).toMatchObject({ restarts: 2, runs: 3, lastError: "Error: still broken" });
    expect(crasher.failures).toEqual({ exit_nonzero: 3 });
    const text = renderReportText(r);
    expect(text).toMatch(/silent\s+dead\s+0\s+1\s+startup_timeout/);
    expect(text).toMatch(/crasher\s+dead\s+2\s+3\s+exit_nonzero ×3/);
    expect(text).toMatch(/maxRestarts\(0\)_exceeded: Error: still broken/);
    expect(renderReportHtml(r)).toMatch(/Error: still broken/);
  });

  it("defect: a run healthy while its CLI retried failed calls says how many (was: nothing of 40,859 retries)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "report-"));
    const retry = (s: number, n: number) =>
      v2(s, "session.agent_retry", {
        session: "g",
        attempt: 1,
        retry: n,
        of: null,
        delayMs: 0,
        status: 404,
        error: "x",
      });
    const lines = [
      v2(0, "conductor.start", { logsDir: "x", pid: 1 }),
      v2(0, "session.state_change", { session: "g", from: "init", to: "starting", reason: "initial", restarts: 0 }),
      v2(0.1, "session.spawn", { session: "g", agent: "gemini", attempt: 1 }),
      v2(1, "session.state_change", {
        session: "g",
        from: "starting",
        to: "healthy",
        reason: "first_output",
        restarts: 0,
      }),
      ...Array.from({ length: 3 }, (_, i) => retry(2 + i, i + 1)),
      v2(6, "conductor.shutdown_complete", { reason: "shutdown" }),
    ];
    writeFileSync(join(dir, "conductor-events.jsonl"), `${lines.join("\n")}\n`);
    const r = await buildReport(dir);
    expect(r.sessions.find((x) => x.id === "g")).toMatchObject({ finalState: "healthy", agentRetries: 3 });
    expect(renderReportText(r)).toMatch(/g\s+healthy\s+0\s+1\s+no failure · 3 retried call\(s\) by the CLI/);
    expect(renderReportHtml(r)).toMatch(/<th>CLI retries<\/th>/);
  });

  it("defect: a logsDir used again read a killed run and the next as one, all completed: now the last run, the killed one said", async () => {
    // A field review: `run --detach` SIGKILLed mid-answer, the next run on its logs; the report said
    // "shutdown: all_completed", the killed sessions `healthy … no failure`.
    const dir = mkdtempSync(join(tmpdir(), "report-"));
    const move = (s: number, session: string, from: string, to: string, reason: string) =>
      v2(s, "session.state_change", { session, from, to, reason, restarts: 0 });
    const lines = [
      v2(0, "conductor.start", { logsDir: dir, pid: 100 }),
      move(0, "killed", "init", "starting", "initial"),
      move(1, "killed", "starting", "healthy", "first_output"),
      // SIGKILL here: no end. The next conductor on the same logs, its seq from 1 again.
      JSON.stringify({ seq: 1, ts: at(60), event: "conductor.start", v: 2, logsDir: dir, pid: 200 }),
      move(60, "next", "init", "starting", "initial"),
      move(61, "next", "starting", "healthy", "first_output"),
      move(62, "next", "healthy", "completed", "exit_0"),
      v2(63, "conductor.shutdown", { reason: "all_completed" }),
      v2(63, "conductor.shutdown_complete", { reason: "all_completed" }),
    ];
    writeFileSync(join(dir, "conductor-events.jsonl"), `${lines.join("\n")}\n`);
    const r = await buildReport(dir);
    expect(r.sessions.map((x) => x.id)).toEqual(["next"]);
    expect(r).toMatchObject({ earlierRuns: 1, earlierUnfinished: 1, complete: true, startedAt: Date.parse(at(60)) });
    const text = renderReportText(r);
    expect(text).toContain(
      "this log holds 1 earlier conductor run(s) before this one, 1 of them ended without their shutdown (killed or crashed)",
    );
    expect(renderReportHtml(r)).toContain("1 of them ended without their shutdown");
  });

  it("a long log keeps lanes drawable: spans merged under the cap, totals exact", async () => {
    const dir = mkdtempSync(join(tmpdir(), "report-"));
    const file = join(dir, "big.jsonl");
    await writeSyntheticLog(file, { bytes: 3 * 1024 * 1024, sessions: 5 });
    const r = await buildReport(file);
    expect(r.complete).toBe(true);
    expect(r.sessions).toHaveLength(5);
    for (const s of r.sessions) {
      expect(s.spans.length).toBeLessThanOrEqual(256);
      expect(s.mergedSpans).toBeGreaterThan(0);
      const total = Object.values(s.timeInState).reduce((a, b) => a + b, 0);
      expect(total).toBe(s.spans.at(-1)!.to - s.spans[0]!.from - (s.timeInState.dead ?? 0));
    }
  });
});
