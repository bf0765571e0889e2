/**
 * Runs one case under the conductor (`createConductor`, session command = the real CLI) against the
 * fake API, and reports what the conductor made of it beside what the CLI itself printed.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { applyCarriageReturns, stripAnsi } from "../../actors/screen-tail.js";
import { createConductor } from "../../src/conductor.js";
import { agentEnv } from "./agent-env.js";
import { type AgentCase, caseId } from "./cases.js";
import type { FakeApi } from "./fake-api/server.js";
import { CACHE_DIR } from "./paths.js";
import { killAll, processesWithMarker } from "./proc-scan.js";

export interface LiveOutcome {
  id: string;
  expected: AgentCase["conductor"];
  /** Final state, or the state the session was in when the case's time bound ran out. */
  state: string;
  failureMode: string | null;
  runs: number;
  reason: string;
  /** What the dead event / snapshot carries as the cause (today: only the reason). */
  lastError: string | null;
  sawInputWait: boolean;
  durationMs: number;
  boundHit: boolean;
  /** The CLI's own behaviour, from the session's out log and the event log. */
  cliPrintedExpected: boolean | null;
  firstExitCode: number | null;
  /** The run's processes still alive once `shutdown()` resolved (issue 10: there must be none). */
  survivors: string[];
  matches: boolean;
}

const FINAL = new Set(["completed", "dead"]);

/** The conductor's current vocabulary mapped onto the target, for "expected vs observed". */
function meets(expected: AgentCase["conductor"], o: Omit<LiveOutcome, "matches">): boolean {
  if (o.runs > expected.maxRuns || o.survivors.length > 0) return false;
  switch (expected.state) {
    case "completed":
      return o.state === "completed";
    case "input_wait":
      return o.sawInputWait;
    case "dead":
      return o.state === "dead" && o.failureMode === expected.failureMode;
    case "rate_limited_wait":
      return o.failureMode === "rate_limit" && o.runs === 1;
  }
}

export async function runUnderConductor(
  k: AgentCase,
  bin: string,
  api: FakeApi,
  boundMs: number,
): Promise<LiveOutcome> {
  const root = mkdtempSync(join(CACHE_DIR, "live", `${k.cli}-${k.name}-`));
  const dirs = { home: join(root, "home"), cwd: join(root, "work") };
  mkdirSync(dirs.home, { recursive: true });
  mkdirSync(dirs.cwd, { recursive: true });
  if (k.gitRepo) execFileSync("git", ["init", "-q", dirs.cwd]);
  const marker = `live-${k.cli}-${k.name}-${process.pid}`;
  const env = agentEnv({
    cli: k.cli,
    dirs,
    baseUrl: api.baseUrl(k.scenario),
    withKey: k.withKey,
    trustCwd: k.trustCwd,
    onboarded: k.onboarded,
    marker,
    ...(k.maxRetries !== undefined ? { maxRetries: k.maxRetries } : {}),
    ...(k.extraEnv ? { extraEnv: k.extraEnv } : {}),
  });
  const logsDir = join(root, "logs");
  const conductor = createConductor({
    logsDir,
    handleSignals: false,
    enableMesh: false,
    graceMs: 3_000,
    // A one-shot run longer than this start-up timeout is the "working run killed" case of issue 10.
    probeOpts: { startupTimeoutMs: 30_000 },
  });
  const id = `${k.cli}-${k.name}`;
  let sawInputWait = false;
  let deadReason: string | null = null;
  const started = Date.now();
  const settled = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(true), boundMs);
    conductor.on("inputWait", () => {
      sawInputWait = true;
    });
    conductor.on("dead", (e: { reason: string }) => {
      deadReason = e.reason;
    });
    conductor.on("stateChange", (e: { to: string }) => {
      if (FINAL.has(e.to)) {
        clearTimeout(timer);
        resolve(false);
      }
    });
  });
  conductor.spawnSession({ id, agent: "command", command: [bin, ...k.args], workdir: dirs.cwd, env });
  const boundHit = await settled;
  const snap = conductor.getSnapshot().find((s) => s.id === id)!;
  const durationMs = Date.now() - started;
  await conductor.shutdown("live case done");
  const alive = processesWithMarker(marker);
  killAll(alive); // the suite cleans up what the conductor left, after counting it
  const out = readOr(join(logsDir, `${id}.out.log`));
  const events = readOr(join(logsDir, "conductor-events.jsonl"))
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { event?: string; code?: number | null; session?: string });
  // "session.exit" since event-log format 2; "exit" before.
  const exits = events.filter((e) => ["session.exit", "exit"].includes(e.event ?? "") && e.session === id);
  const text = applyCarriageReturns(stripAnsi(out));
  const partial = {
    id: caseId(k),
    expected: k.conductor,
    state: snap.state,
    failureMode: snap.failureMode,
    runs: snap.restarts + 1,
    reason: snap.reason,
    lastError: deadReason,
    sawInputWait,
    durationMs,
    boundHit,
    // TUIs draw words with cursor moves, so a question is also looked for with all blanks removed.
    cliPrintedExpected: k.expectLine
      ? k.expectLine.test(text)
      : k.question
        ? k.question.test(text) ||
          new RegExp(k.question.source.replace(/\s/g, ""), k.question.flags).test(text.replace(/\s/g, ""))
        : null,
    firstExitCode: exits[0]?.code ?? null,
    survivors: alive.map(
      (p) =>
        `${p.pid} (ppid ${p.ppid}) ${p.args.replace(/\s+/g, " ").split(root).join("<RUN>").split(CACHE_DIR).join("<AGENT_CACHE>").slice(0, 100)}`,
    ),
  };
  return { ...partial, matches: meets(k.conductor, partial) };
}

function readOr(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
