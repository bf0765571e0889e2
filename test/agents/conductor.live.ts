/**
 * `npm run test:agents`: every case under the conductor, with the real CLIs against the fake API,
 * inside a loopback-only network namespace. Prints cli × case → final state, failureMode, runs,
 * reason, duration, and the conductor's expected outcome (issue 10) beside what it does today.
 * Hard assertions are about the CLIs' own behaviour (they printed their message, their exit code);
 * "expected vs observed" becomes an assertion once the classifier lands (AGENTS_LIVE_STRICT=1).
 *   AGENTS_LIVE='claude/*,codex/auth-401'   only these cases
 *   AGENTS_LIVE_CONCURRENCY=3               cases run side by side (default 3: the CLIs are heavy)
 * Each case is its own test; the table is printed (and written to .agent-cache/live/last-table.txt)
 * after the last one, with whatever cases finished.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { installAgents } from "../../scripts/agents/install.mjs";
import { type AgentCase, CASES, caseId, inSelection } from "./cases.js";
import { type FakeApi, startFakeApi } from "./fake-api/server.js";
import { type LiveOutcome, runUnderConductor } from "./live-run.js";
import { assertLoopbackOnly } from "./netns.js";
import { CACHE_DIR, FIXTURES_DIR } from "./paths.js";

const pattern = process.env.AGENTS_LIVE;
// Minutes each, only when asked for: claude's default retries (a 401; a 529: ~3 min a run, 4 runs),
// and the CLIs' own retries of an overloaded API in stream mode (their text-mode twins run by default).
const SLOW_ONLY_ON_REQUEST = new Set([
  "claude/auth-401-default-retries",
  "claude/overloaded-stream",
  "claude/tui-overloaded",
  "codex/overloaded-stream",
  "gemini/overloaded-stream",
  // A refused API: claude's 10 retries take ~3 min a run, gemini's ~5 (4 runs each); codex's runs by default.
  "claude/refused",
  "gemini/refused",
  "claude/tui-refused",
  "gemini/tui-refused",
]);

function selected(k: AgentCase): boolean {
  return pattern ? inSelection(pattern, k) : !SLOW_ONLY_ON_REQUEST.has(caseId(k));
}

/** Long enough for the conductor to restart a failing one-shot 3 times, short enough to finish. */
const boundFor = (k: AgentCase) => k.liveBoundMs ?? (k.stopAfterSteps ? 90_000 : 200_000);

function recordedExit(k: AgentCase): number | null {
  const path = join(FIXTURES_DIR, k.cli, `${k.name}.expect.json`);
  if (!existsSync(path)) return null;
  const e = JSON.parse(readFileSync(path, "utf8")) as { exitCode: number | null; stoppedByRecorder: boolean };
  return e.stoppedByRecorder ? null : e.exitCode;
}

function table(rows: LiveOutcome[]): string {
  const fmtExpected = (e: LiveOutcome["expected"]) =>
    `${e.state}${e.failureMode ? `/${e.failureMode}` : ""} ≤${e.maxRuns}`;
  const cells = rows.map((r) => [
    r.id,
    fmtExpected(r.expected),
    `${r.state}${r.boundHit ? " (bound)" : ""}`,
    r.failureMode ?? "-",
    String(r.runs),
    r.question ? r.question.slice(0, 40) : r.sawInputWait ? "yes" : "no",
    // The run's throwaway home is a temp path: the table goes into docs, which name no machine's paths.
    (r.lastError ?? r.reason).replace(/\/tmp\/[\w./-]+/g, "<HOME>").slice(0, 48),
    r.restartWaitMs === null ? "-" : `${(r.restartWaitMs / 1000).toFixed(1)} s`,
    `${(r.durationMs / 1000).toFixed(1)} s`,
    r.cliPrintedExpected === null ? "-" : r.cliPrintedExpected ? "yes" : "NO",
    String(r.survivors.length),
    r.matches ? "ok" : "WRONG",
  ]);
  const head = [
    "case",
    "expected",
    "observed state",
    "failureMode",
    "runs",
    "inputWait",
    "reason/lastError",
    "next run in",
    "time",
    "cli msg",
    "alive",
    "verdict",
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i]!)).join(" │ ");
  return [line(head), widths.map((w) => "─".repeat(w)).join("─┼─"), ...cells.map(line)].join("\n");
}

describe("real agent CLIs under the conductor", () => {
  let api: FakeApi;
  let bins: Record<string, { bin: string; version: string }>;
  const rows: LiveOutcome[] = [];

  beforeAll(async () => {
    assertLoopbackOnly();
    // Nothing of the caller's own vendor setup may leak into the children, nor the test runner's
    // mark: gemini-cli turns its folder trust off when VITEST=true (its own test mode), so under
    // vitest the live gemini/tui-trust showed the composer, never the trust dialog the user sees.
    for (const key of Object.keys(process.env)) {
      if (/^(ANTHROPIC|OPENAI|GEMINI|GOOGLE|CODEX|CLAUDE)/.test(key) || key === "VITEST") delete process.env[key];
    }
    bins = installAgents(CACHE_DIR, () => {});
    mkdirSync(join(CACHE_DIR, "live"), { recursive: true });
    api = await startFakeApi();
  });

  afterAll(async () => {
    await api?.close();
    if (rows.length === 0) return;
    const order = new Map(CASES.map((k, i) => [caseId(k), i]));
    rows.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
    const versions = Object.entries(bins)
      .map(([cli, b]) => `${cli} ${b.version}`)
      .join(", ");
    const survivors = rows.flatMap((r) => r.survivors.map((p) => `${r.id}: ${p}`));
    const report = [
      versions,
      table(rows),
      `${rows.filter((r) => r.matches).length}/${rows.length} as issue 10 expects`,
      ...(survivors.length ? ["alive after shutdown() resolved:", ...survivors] : []),
    ].join("\n");
    console.log(report);
    writeFileSync(join(CACHE_DIR, "live", "last-table.txt"), `${report}\n`);
  });

  // Side by side, at most `maxConcurrency` (vitest.agents.config.ts) at a time: the CLIs are heavy.
  const cases = CASES.filter(selected);
  test.concurrent.each(cases.map((k) => [caseId(k), k] as const))(
    "%s",
    async (_id, k) => {
      const r = await runUnderConductor(k, bins[k.cli]!.bin, api, boundFor(k));
      rows.push(r);
      const problems: string[] = [];
      if (r.cliPrintedExpected === false) problems.push(`the CLI did not print ${k.expectLine ?? k.question}`);
      const want = recordedExit(k);
      if (want !== null && r.firstExitCode !== null && r.firstExitCode !== want) {
        problems.push(`first run exited ${r.firstExitCode}, the recording exited ${want}`);
      }
      if (process.env.AGENTS_LIVE_STRICT === "1" && !r.matches)
        problems.push("conductor outcome is not the expected one");
      expect(problems).toEqual([]);
    },
    // The longest bound plus shutdown and a loaded machine's slowness.
    Math.max(...cases.map(boundFor), 0) + 120_000,
  );
});
