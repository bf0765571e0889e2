/**
 * The post-mortem of one run, accumulated fact by fact: per session the spans of each state,
 * markers (restarts, rate limits, kills, questions), time per state, failure classes and the
 * accounts used. Totals are exact at any log size; the drawn spans and markers are capped per
 * session (adjacent spans are merged, the longer state wins), so memory stays flat.
 */
import type { LogFact, ReadStats } from "./read-log.js";

export interface Span {
  from: number;
  to: number;
  state: string;
  /** Why the session entered this state. */
  reason: string;
}

export type MarkerKind = "restart" | "rate_limit" | "kill" | "question";
export interface Marker {
  at: number;
  kind: MarkerKind;
  text: string;
}

export interface SessionReport {
  id: string;
  agent: string | null;
  finalState: string;
  finalReason: string;
  /** The CLI's own error line of the last run that had one (the `session.exit`/`session.dead` lines). */
  lastError: string | null;
  restarts: number;
  runs: number;
  timeInState: Record<string, number>;
  failures: Record<string, number>;
  accounts: string[];
  questions: number;
  /** Failed calls the CLI said it retries by itself (`session.agent_retry`): a run can look fine meanwhile. */
  agentRetries: number;
  kills: number;
  rateLimits: number;
  spans: Span[];
  markers: Marker[];
  /** Spans merged to stay under the cap (0: every move is drawn). */
  mergedSpans: number;
  droppedMarkers: number;
  firstAt: number;
  lastAt: number;
}

export interface RunReport {
  source: string;
  startedAt: number | null;
  endedAt: number | null;
  shutdownReason: string | null;
  /** The log ends with the conductor's last line (`shutdown_complete`); false: it crashed or still runs. */
  complete: boolean;
  /**
   * Conductors before the one reported, in the same log (a logsDir used again): the report is the
   * last one's, since each `conductor.start`; `earlierUnfinished` of them ended without their
   * `shutdown_complete` (killed or crashed). Before, their lines were read as one run: a killed run
   * followed by a clean one read as all completed.
   */
  earlierRuns: number;
  earlierUnfinished: number;
  sessions: SessionReport[];
  stats: ReadStats;
}

const MAX_SPANS = 256; // a lane is ~900 px wide: more spans than this cannot be seen
const MAX_MARKERS = 120;

interface Acc extends SessionReport {
  open: { at: number; state: string; reason: string } | null;
  rateLimitedRun: number;
  /** The run whose failure is counted already (its exit said how; a timeout's says nothing). */
  countedRun: number;
}

export function createReportBuilder(source: string) {
  const sessions = new Map<string, Acc>();
  let startedAt: number | null = null;
  let shutdownReason: string | null = null;
  let complete = false;
  let starts = 0;
  let earlierUnfinished = 0;

  const get = (id: string, at: number): Acc => {
    let s = sessions.get(id);
    if (!s) {
      s = {
        id,
        agent: null,
        finalState: "init",
        finalReason: "",
        lastError: null,
        restarts: 0,
        runs: 0,
        timeInState: {},
        failures: {},
        accounts: [],
        questions: 0,
        agentRetries: 0,
        kills: 0,
        rateLimits: 0,
        spans: [],
        markers: [],
        mergedSpans: 0,
        droppedMarkers: 0,
        firstAt: at,
        lastAt: at,
        open: null,
        rateLimitedRun: -1,
        countedRun: -1,
      };
      sessions.set(id, s);
    }
    s.lastAt = Math.max(s.lastAt, at);
    return s;
  };

  const mark = (s: Acc, at: number, kind: MarkerKind, text: string) => {
    if (s.markers.length < MAX_MARKERS) s.markers.push({ at, kind, text });
    else s.droppedMarkers++;
  };

  /** One rate limit per run, whether the screen said it first or the exit did. */
  const rateLimited = (s: Acc, at: number, why: string) => {
    if (s.rateLimitedRun === s.runs) return;
    s.rateLimitedRun = s.runs;
    s.rateLimits++;
    s.failures.rate_limited = (s.failures.rate_limited ?? 0) + 1;
    mark(s, at, "rate_limit", `rate limited: ${why}`);
  };

  const closeSpan = (s: Acc, to: number) => {
    if (!s.open) return;
    const span: Span = { from: s.open.at, to: Math.max(to, s.open.at), state: s.open.state, reason: s.open.reason };
    // A final state lasts until the log ends: that is not time the session spent, so it is not counted.
    if (span.state !== "completed" && span.state !== "dead")
      s.timeInState[span.state] = (s.timeInState[span.state] ?? 0) + (span.to - span.from);
    s.spans.push(span);
    if (s.spans.length > MAX_SPANS) s.mergedSpans += halve(s.spans);
    s.open = null;
  };

  function add(f: LogFact): void {
    switch (f.kind) {
      case "start":
        // Another conductor on this log: what came before is an earlier run's, not this one's.
        if (starts > 0) {
          if (!complete) earlierUnfinished++;
          sessions.clear();
          shutdownReason = null;
          complete = false;
          startedAt = f.at;
        }
        starts++;
        startedAt ??= f.at;
        return;
      case "shutdown":
        shutdownReason ??= f.reason || null;
        if (f.complete) complete = true;
        return;
      case "other":
        if (f.session) get(f.session, f.at);
        return;
      case "state": {
        const s = get(f.session, f.at);
        closeSpan(s, f.at);
        s.open = { at: f.at, state: f.to, reason: f.reason };
        s.finalState = f.to;
        s.finalReason = f.reason;
        // Every move to restarting is one, as the snapshot counts them (the line's `restarts` is the
        // restart window's count, which a manual restart sets back to 0: a field review saw 2 for 5).
        if (f.to === "restarting") {
          s.restarts++;
          mark(s, f.at, "restart", `restart: ${f.reason}`);
        }
        if (f.to === "input_wait") {
          s.questions++;
          mark(s, f.at, "question", `question: ${f.reason}`);
        }
        if (/rate.?limit/i.test(f.reason) && f.to === "failed") rateLimited(s, f.at, f.reason);
        return;
      }
      case "spawn": {
        const s = get(f.session, f.at);
        s.runs++;
        s.lastError = null; // the last run's words, not an earlier run's
        s.agent ??= f.agent;
        return;
      }
      case "exit":
      case "ended": {
        const s = get(f.session, f.at);
        if (f.lastError) s.lastError = f.lastError;
        // One failure per run: its exit's class, else (a timeout kills without one) its wait's or death's.
        if (!f.failureMode || s.countedRun === s.runs) return;
        s.countedRun = s.runs;
        if (/rate.?limit/i.test(f.failureMode)) rateLimited(s, f.at, f.failureMode);
        else s.failures[f.failureMode] = (s.failures[f.failureMode] ?? 0) + 1;
        return;
      }
      case "manualRestart": {
        const s = get(f.session, f.at);
        s.restarts++;
        mark(s, f.at, "restart", "restart: restartSession");
        return;
      }
      case "kill": {
        const s = get(f.session, f.at);
        s.kills++;
        mark(s, f.at, "kill", `killed: ${f.reason}`);
        return;
      }
      case "question":
        get(f.session, f.at);
        return;
      case "agentRetry":
        get(f.session, f.at).agentRetries++;
        return;
      case "account": {
        const s = get(f.session, f.at);
        const name = f.provider ? `${f.accountId} (${f.provider})` : f.accountId;
        if (!s.accounts.includes(name) && s.accounts.length < 20) s.accounts.push(name);
        return;
      }
      case "accountWait":
        get(f.session, f.at);
        return;
    }
  }

  function finish(stats: ReadStats): RunReport {
    const end = stats.lastAt ?? startedAt ?? 0;
    const out: SessionReport[] = [];
    for (const s of sessions.values()) {
      closeSpan(s, end);
      const { open: _open, rateLimitedRun: _run, countedRun: _counted, ...rest } = s;
      out.push(rest);
    }
    return {
      source,
      startedAt: startedAt ?? stats.firstAt,
      endedAt: stats.lastAt,
      shutdownReason,
      complete,
      earlierRuns: Math.max(0, starts - 1),
      earlierUnfinished,
      sessions: out,
      stats,
    };
  }

  return { add, finish };
}

/** Merges neighbours pairwise (the longer state names the pair); returns how many spans went. */
function halve(spans: Span[]): number {
  const before = spans.length;
  const merged: Span[] = [];
  for (let i = 0; i < spans.length; i += 2) {
    const a = spans[i] as Span;
    const b = spans[i + 1];
    if (!b) merged.push(a);
    else {
      const longer = b.to - b.from > a.to - a.from ? b : a;
      merged.push({ from: a.from, to: b.to, state: longer.state, reason: `${longer.reason} (merged)` });
    }
  }
  spans.splice(0, spans.length, ...merged);
  return before - merged.length;
}
