/**
 * Runs one case under the conductor (`createConductor`, session command = the real CLI) against the
 * fake API, and reports what the conductor made of it beside what the CLI itself printed.
 */
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyCarriageReturns, stripAnsi } from "../../actors/screen-tail.js";
import { type Conductor, createConductor } from "../../src/conductor.js";
import { prepareCaseRun } from "./agent-env.js";
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
  /** The CLI's line the snapshot carries as the cause. */
  lastError: string | null;
  /** The question of the first input_wait that matched the case's question (or the first one). */
  question: string | null;
  sawInputWait: boolean;
  durationMs: number;
  boundHit: boolean;
  /** The CLI's own behaviour, from the session's out log and the event log. */
  cliPrintedExpected: boolean | null;
  firstExitCode: number | null;
  /** The first wait announced before a next run (a rate limit's reset, a backoff), from the event log. */
  restartWaitMs: number | null;
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
      return o.failureMode === "rate_limited" && o.runs === 1 && (o.restartWaitMs ?? 0) > 0;
    case "stalled":
      return o.state === "stalled" && o.runs === 1;
  }
}

/** A run on a host instead (remote.live.ts): the hosts file, the host's name, the tmux socket. */
export interface LivePlacement {
  hosts: string;
  host: string;
  socket: string;
}

export async function runUnderConductor(
  k: AgentCase,
  bin: string,
  api: FakeApi,
  boundMs: number,
  remote?: LivePlacement,
): Promise<LiveOutcome> {
  // Outside any git repository: under the repo's .agent-cache, codex found the checkout's .git (so
  // untrusted-no-git ran and exited 0) and claude and codex asked about trusting the checkout's root.
  const root = mkdtempSync(join(tmpdir(), `agents-live-${k.cli}-${k.name}-`));
  const dirs = { home: join(root, "home"), cwd: join(root, "work") };
  mkdirSync(dirs.home, { recursive: true });
  mkdirSync(dirs.cwd, { recursive: true });
  const marker = `live-${k.cli}-${k.name}-${process.pid}`;
  const env = prepareCaseRun(k, dirs, api.baseUrl(k.scenario), marker);
  const logsDir = join(root, "logs");
  const conductor = createConductor({
    logsDir,
    handleSignals: false,
    enableMesh: false,
    graceMs: 3_000,
    ...(remote ? { hosts: remote.hosts, tmuxSocketName: remote.socket } : {}),
    // A one-shot run longer than this start-up timeout is the "working run killed" case of issue 10.
    probeOpts: { startupTimeoutMs: 30_000, ...(k.liveBusyStallMs ? { busyStallMs: k.liveBusyStallMs } : {}) },
  });
  const id = `${k.cli}-${k.name}`;
  const outLog = () => readOr(join(logsDir, `${id}.out.log`));
  const printed = (re: RegExp) => printedIn(outLog(), re);
  let sawInputWait = false;
  let question: string | null = null;
  const started = Date.now();
  // Settles at a final state, or at the end the case expects that is not final: the question it
  // asks, or the wait before a rate-limited rerun (which may be hours away).
  const settled = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(true), boundMs);
    const done = () => {
      clearTimeout(timer);
      resolve(false);
    };
    conductor.on("inputWait", (e: { question: string }) => {
      const wanted = !k.question || k.question.test(e.question) || k.question.test(e.question.replace(/\s/g, ""));
      if (question === null || wanted) question = e.question;
      sawInputWait = true;
      // A case that expects a line first (codex/tui-turn-hup: the answer, then the idle composer) is
      // not settled by the composer shown before its turn.
      if (k.conductor.state === "input_wait" && wanted && (!k.expectLine || printed(k.expectLine))) done();
    });
    conductor.on("stateChange", (e: { to: string }) => {
      if (FINAL.has(e.to)) done();
      if (e.to === "stalled" && k.conductor.state === "stalled") done();
      const snap = conductor.getSnapshot().find((s) => s.id === id);
      if (e.to === "restarting" && k.conductor.state === "rate_limited_wait" && snap?.failureMode === "rate_limited")
        done();
    });
  });
  // Judged as the CLI it runs (a `command` wrapping claude, codex or gemini): the argv is the case's own.
  conductor.spawnSession({
    id,
    agent: "command",
    judgeAs: k.cli,
    command: [bin, ...k.args],
    workdir: dirs.cwd,
    env,
    ...(remote ? { remote: true, host: remote.host } : {}),
  });
  void typeSteps(k, conductor, id, outLog);
  const boundHit = await settled;
  const snap = conductor.getSnapshot().find((s) => s.id === id)!;
  const durationMs = Date.now() - started;
  await conductor.shutdown("live case done");
  const alive = processesWithMarker(marker);
  killAll(alive); // the suite cleans up what the conductor left, after counting it
  const out = outLog();
  const events = readOr(join(logsDir, "conductor-events.jsonl"))
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { event?: string; code?: number | null; session?: string; delayMs?: number });
  // "session.exit" since event-log format 2; "exit" before.
  const exits = events.filter((e) => ["session.exit", "exit"].includes(e.event ?? "") && e.session === id);
  const partial = {
    id: caseId(k),
    expected: k.conductor,
    state: snap.state,
    failureMode: snap.failureMode,
    runs: events.filter((e) => e.event === "session.spawn" && e.session === id).length,
    reason: snap.reason,
    lastError: snap.lastError,
    question,
    sawInputWait,
    durationMs,
    boundHit,
    cliPrintedExpected: k.expectLine
      ? printedIn(out, k.expectLine)
      : k.question
        ? printedIn(out, k.question) || (question !== null && k.question.test(question))
        : null,
    firstExitCode: exits[0]?.code ?? null,
    restartWaitMs: events.find((e) => e.event === "session.restart_wait" && e.session === id)?.delayMs ?? null,
    survivors: alive.map(
      (p) =>
        `${p.pid} (ppid ${p.ppid}) ${p.args.replace(/\s+/g, " ").split(root).join("<RUN>").split(CACHE_DIR).join("<AGENT_CACHE>").slice(0, 100)}`,
    ),
  };
  return { ...partial, matches: meets(k.conductor, partial) };
}

/**
 * The CLI printed this: in its output as text, or with the carriage returns applied, or with all
 * blanks removed (TUIs draw words with cursor moves: claude's "Do\x1b[5Gyou\x1b[9Gwant…proceed?"
 * followed by \r on the same line, which applying the carriage returns throws away).
 */
function printedIn(out: string, re: RegExp): boolean {
  const raw = stripAnsi(out);
  const compact = new RegExp(re.source.replace(/\s/g, ""), re.flags);
  return re.test(raw) || re.test(applyCarriageReturns(raw)) || compact.test(raw.replace(/\s/g, ""));
}

function readOr(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/**
 * A case's typed steps (a second prompt: turnFails in cases.ts), as the recorder types them: each once
 * its output shows `waitFor` and has been quiet `settleMs`, written as keys (no Enter of the conductor's).
 */
async function typeSteps(k: AgentCase, c: Conductor, id: string, out: () => string): Promise<void> {
  let last = "";
  for (const step of k.steps ?? []) {
    for (let quiet = 0; !(printedIn(out(), step.waitFor) && quiet >= (step.settleMs ?? 1500)); ) {
      await new Promise((r) => setTimeout(r, 250));
      const now = out();
      quiet = now === last ? quiet + 250 : 0;
      last = now;
      if (c.getSnapshot().find((s: { id: string }) => s.id === id)?.state === "dead") return;
    }
    if (step.send !== undefined) c.sendKeys(id, step.send === "\r" ? ["Enter"] : [...step.send]);
  }
}
