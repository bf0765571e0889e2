/**
 * Records one case against the fake API and writes `<cli>/<case>.cast` and `<case>.expect.json`
 * under test/fixtures/agents, scrubbed of machine paths.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { applyCarriageReturns, ScreenTail, stripAnsi } from "../../actors/screen-tail.js";
import { freshDirs, prepareCaseRun } from "./agent-env.js";
import type { AgentCase } from "./cases.js";
import { type CastEvent, formatCast, windowTitles } from "./cast.js";
import type { FakeApi } from "./fake-api/server.js";
import { CACHE_DIR, FIXTURES_DIR, RECORD_DIRS, REPO_ROOT } from "./paths.js";
import { type RecordResult, recordRun } from "./record-run.js";
import { findSecrets, scrubber } from "./scrub.js";
import { recordingTelemetryEnv, telemetryFileOf, telemetryLines, writeTelemetryFixture } from "./telemetry-fixture.js";

export interface InstalledCli {
  bin: string;
  version: string;
}

export interface ExpectFile {
  cli: string;
  cliVersion: string;
  case: string;
  why: string;
  scenario: string;
  argv: string[];
  envSet: string[];
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  stoppedByRecorder: boolean;
  timedOut: boolean;
  errorLine: string | null;
  /** Where errorLine was found: a row of the final rendered screen, or only in the output text. */
  errorLineSource: "screen" | "output" | null;
  expectLine: string | null;
  windowTitles: string[];
  /**
   * A run the recorder stopped once its steps were done: the cast's time of the last output before
   * that (what the CLI printed after the recorder's signal is not part of the case; a replay stops here).
   */
  stepsDoneAtSeconds?: number | null;
  /** The replay keeps the recording's bursts apart by this much (replay-cast.mjs --burst-gap): see AgentCase. */
  replayBurstGapS?: number;
  /** atSeconds: the cast's time of the last output before the question was read off the screen. */
  /** settled: false when the output never went quiet for 1.5 s before the screen was read. */
  question: { text: string; choices: string[]; atSeconds: number; settled: boolean; screen: string[] } | null;
  limit: { shown: string | null; retryAfterSeconds: number | null; resetsAt: string | null } | null;
  apiRequests: { method: string; path: string; status: number | null }[];
  processes: { beforeStop: { pid: number; ppid: number; args: string }[]; leftovers: { ppid: number; args: string }[] };
  finalScreen: string[];
  /** Output cut from the middle to keep the cast small (a spinner's redraws), or null. */
  trimmed: Trimmed | null;
  conductor: AgentCase["conductor"];
  note?: string;
}

function findLine(re: RegExp | undefined, screen: string[], text: string): string | null {
  if (!re) return null;
  const hit = screen.find((l) => re.test(l)) ?? text.split("\n").find((l) => re.test(l));
  return hit?.trim() ?? null;
}

function sourceOf(line: string | null, screen: string[]): ExpectFile["errorLineSource"] {
  if (line === null) return null;
  return screen.some((l) => l.trim() === line) ? "screen" : "output";
}

/**
 * A menu's entries: numbered lines ("1. Yes, allow once"), or the line with the selection marker
 * ("❯ No, exit") and its siblings, the lines whose text starts in the same column.
 */
export function choicesOf(screen: string[]): string[] {
  const rows = screen.map((l) => l.replace(/[│┃|]/g, " ").trimEnd());
  const numbered = rows.map((l) => l.trim()).filter((l) => /^(?:[❯›>●]\s*)?\d+\.\s+\S/.test(l));
  if (numbered.length > 1) return numbered.map((l) => l.replace(/^[❯›>●]\s*/, ""));
  const at = rows.findIndex((l) => /^\s*[❯›>●]\s+\S/.test(l));
  if (at < 0) return [];
  const col = (l: string) => l.search(/\S/);
  const textCol = rows[at]!.replace(/[❯›>●]/, " ").search(/\S/);
  let first = at;
  while (first > 0 && col(rows[first - 1]!) === textCol) first--;
  let last = at;
  while (last + 1 < rows.length && col(rows[last + 1]!) === textCol) last++;
  return rows.slice(first, last + 1).map((l) => l.replace(/^\s*[❯›>●]?\s*/, ""));
}

/** Casts stay under ~200 KB: a long spinner's redraws are cut from the middle (the start and the end stay). */
const MAX_CAST_BYTES = 150_000;

export function trimEvents(
  events: CastEvent[],
  maxBytes = MAX_CAST_BYTES,
): { kept: CastEvent[]; trimmed: Trimmed | null } {
  const size = (e: CastEvent) => Buffer.byteLength(JSON.stringify(e)) + 1;
  const total = events.reduce((n, e) => n + size(e), 0);
  if (total <= maxBytes) return { kept: events, trimmed: null };
  let head = 0;
  for (let n = 0; head < events.length && n + size(events[head]!) <= maxBytes / 2; head++) n += size(events[head]!);
  let tail = events.length;
  for (let n = 0; tail > head && n + size(events[tail - 1]!) <= maxBytes / 2; tail--) n += size(events[tail - 1]!);
  const dropped = events.slice(head, tail);
  return {
    kept: [...events.slice(0, head), ...events.slice(tail)],
    trimmed: {
      fromSeconds: dropped[0]?.[0] ?? 0,
      toSeconds: dropped.at(-1)?.[0] ?? 0,
      droppedEvents: dropped.length,
      droppedBytes: dropped.reduce((n, e) => n + size(e), 0),
    },
  };
}

export interface Trimmed {
  fromSeconds: number;
  toSeconds: number;
  droppedEvents: number;
  droppedBytes: number;
}

async function renderScreen(events: CastEvent[], upToSeconds = Number.POSITIVE_INFINITY): Promise<string[]> {
  const tail = new ScreenTail({ cols: 120, rows: 40 });
  const data = events.filter((e) => e[1] === "o" && e[0] <= upToSeconds).map((e) => e[2]);
  await tail.write(Buffer.from(data.join(""), "utf8"));
  const lines = tail.lastLines(40);
  tail.dispose();
  return lines;
}

export async function recordCase(k: AgentCase, cli: InstalledCli, api: FakeApi): Promise<ExpectFile> {
  const dirs = { ...RECORD_DIRS };
  freshDirs(dirs);
  const marker = `rec-${k.cli}-${k.name}-${process.pid}-${Date.now()}`;
  const env = prepareCaseRun(k, dirs, api.baseUrl(k.scenario), marker);
  Object.assign(env, recordingTelemetryEnv(k.cli, env, dirs));
  const startedAt = Date.now();
  const firstRequest = api.requests.length;
  const argv = [cli.bin, ...k.args];
  const r: RecordResult = await recordRun({
    argv,
    env,
    cwd: dirs.cwd,
    marker,
    maxMs: k.maxMs,
    ...(k.steps ? { steps: k.steps } : {}),
    ...(k.stopAfterSteps ? { stopAfterSteps: true } : {}),
    ...(k.stopSignal ? { stopSignal: k.stopSignal } : {}),
  });
  const scrub = scrubber([
    { from: dirs.home, to: "<HOME>" },
    { from: dirs.cwd, to: "<CWD>" },
    { from: CACHE_DIR, to: "<AGENT_CACHE>" },
    { from: REPO_ROOT, to: "<REPO>" },
    { from: api.origin.replace("http://", ""), to: "127.0.0.1:<PORT>" },
    { from: api.refusedOrigin.replace("http://", ""), to: "127.0.0.1:<PORT>" },
  ]);
  const { kept: events, trimmed } = trimEvents(r.events.map(([t, kind, data]) => [t, kind, scrub(data)]));
  const output = events
    .filter((e) => e[1] === "o")
    .map((e) => e[2])
    .join("");
  const text = applyCarriageReturns(stripAnsi(output));
  // Screens are rendered from the scrubbed bytes (placeholders change line lengths and wrapping),
  // so they are exactly what a replay of the fixture shows.
  const screen = await renderScreen(events);
  const questionAt = r.stepTimes.at(-1);
  const questionScreen = questionAt === undefined ? screen : await renderScreen(events, questionAt);
  const requests = api.requests.slice(firstRequest);
  // A TUI the recorder stopped may clear its screen on the way out: its line is on the screen of the last step.
  const errorLine = findLine(k.expectLine, screen, text) ?? findLine(k.expectLine, questionScreen, "");
  const limitShown = k.limitText ? (text.match(k.limitText)?.[0]?.trim() ?? null) : null;
  const scenarioSeconds = Number(/-(\d+)$/.exec(k.scenario)?.[1] ?? Number.NaN);
  const expect: ExpectFile = {
    cli: k.cli,
    cliVersion: cli.version,
    case: k.name,
    why: k.why,
    scenario: k.scenario,
    argv: [k.cli, ...k.args],
    envSet: Object.keys(env).sort(),
    exitCode: r.exitCode,
    signal: r.signal,
    durationMs: r.durationMs,
    stoppedByRecorder: r.stoppedByRecorder,
    stepsDoneAtSeconds: r.stoppedByRecorder ? (r.stepTimes.at(-1) ?? null) : null,
    ...(k.replayBurstGapS ? { replayBurstGapS: k.replayBurstGapS } : {}),
    timedOut: r.timedOut,
    errorLine,
    errorLineSource: sourceOf(errorLine, screen),
    expectLine: k.expectLine?.source ?? null,
    windowTitles: windowTitles(output),
    question: k.question
      ? {
          text: findLine(k.question, questionScreen, "") ?? "",
          choices: choicesOf(questionScreen),
          atSeconds: r.stepTimes.at(-1) ?? 0,
          settled: r.stepSettled.at(-1) ?? true,
          screen: questionScreen,
        }
      : null,
    limit:
      k.conductor.failureMode === "rate_limit"
        ? {
            shown: limitShown,
            retryAfterSeconds: k.scenario.startsWith("rate") ? scenarioSeconds : null,
            resetsAt: k.scenario === "usage" ? "one hour after the request, on the minute (fake API)" : null,
          }
        : null,
    apiRequests: requests.map((q) => ({ method: q.method, path: scrub(q.url), status: q.status ?? null })),
    processes: {
      beforeStop: r.treeBeforeStop.map((p) => ({ ...p, args: scrub(p.args) })),
      leftovers: r.leftovers.map((p) => ({ ppid: p.ppid, args: scrub(p.args) })),
    },
    finalScreen: screen,
    trimmed,
    conductor: { ...checkedByHand(k), ...k.conductor },
    ...(r.stepFailed ? { note: r.stepFailed } : {}),
  };
  const castText = formatCast({
    header: { version: 2, width: 120, height: 40, title: `${k.cli} ${k.name}`, env: { TERM: "xterm-256color" } },
    events,
  });
  const expectText = `${JSON.stringify(expect, null, 2)}\n`;
  const telemetry = telemetryLines(telemetryFileOf(dirs), startedAt, scrub);
  const secrets = findSecrets(castText + expectText + JSON.stringify(telemetry));
  if (secrets.length > 0) throw new Error(`${k.cli}/${k.name}: recording holds something that looks like a real key`);
  const dir = join(FIXTURES_DIR, k.cli);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${k.name}.cast`), castText);
  writeFileSync(join(dir, `${k.name}.expect.json`), expectText);
  writeTelemetryFixture(dir, k.name, telemetry);
  return expect;
}

/**
 * What the conductor should report for this recording (`lastError`, `question`, `retryAfterMs`) is
 * written into the expect file by hand, after reading the recording; a new recording keeps it, and
 * the replay test (agents-judgement.replay.test.ts) says when it no longer holds.
 */
function checkedByHand(k: AgentCase): Partial<AgentCase["conductor"]> {
  const path = join(FIXTURES_DIR, k.cli, `${k.name}.expect.json`);
  if (!existsSync(path)) return {};
  const { lastError, question, retryAfterMs } = (JSON.parse(readFileSync(path, "utf8")) as ExpectFile).conductor;
  return {
    ...(lastError !== undefined ? { lastError } : {}),
    ...(question !== undefined ? { question } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  };
}
