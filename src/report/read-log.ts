/**
 * Streams an event log line by line (any size, flat memory) and turns each line into what a
 * post-mortem needs. Both formats are read: format 2 (`v: 2`, `session.state_change`) and format 1
 * (no `v`, `stateChange`), through the migration table of docs/event-log.md (`RENAMED_EVENTS`).
 */
import fs from "node:fs";
import { createInterface } from "node:readline";
import { RENAMED_EVENTS } from "../event-log-format.js";

export type LogFact =
  | { kind: "state"; at: number; session: string; from: string; to: string; reason: string; restarts: number | null }
  | { kind: "spawn"; at: number; session: string; agent: string | null; attempt: number | null }
  | {
      kind: "exit";
      at: number;
      session: string;
      failureMode: string | null;
      code: number | null;
      signal: string | null;
      lastError: string | null;
    }
  /** A run failed without an exit that says how (a timeout kills it): its class, from the wait or the death. */
  | { kind: "ended"; at: number; session: string; failureMode: string | null; lastError: string | null; final: boolean }
  /** `restartSession` of a final session: a new actor under the same id. */
  | { kind: "manualRestart"; at: number; session: string }
  | { kind: "kill"; at: number; session: string; reason: string }
  | { kind: "question"; at: number; session: string; pattern: string }
  | { kind: "agentRetry"; at: number; session: string }
  | { kind: "account"; at: number; session: string; accountId: string; provider: string | null }
  | { kind: "accountWait"; at: number; session: string; reason: string }
  | { kind: "start"; at: number; pid: number | null; logsDir: string | null }
  | { kind: "shutdown"; at: number; reason: string; complete: boolean }
  | { kind: "other"; at: number; session: string | null };

export interface ReadStats {
  lines: number;
  bytes: number;
  malformed: number;
  /** The last line was incomplete (a crash mid-write): reported, skipped. */
  torn: boolean;
  firstAt: number | null;
  lastAt: number | null;
}

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** One log line (format 1 or 2) as a fact; null for a line that is not an event. */
export function toFact(line: Record<string, unknown>): LogFact | null {
  const raw = str(line.event);
  if (!raw) return null;
  const at = Date.parse(str(line.ts) ?? "");
  if (!Number.isFinite(at)) return null;
  // Format 1 names (no `v`) read as format 2: `stateChange` → `session.state_change`, and so on.
  const name = line.v === undefined ? (RENAMED_EVENTS[raw] ?? raw) : raw;
  const session = str(line.session);
  switch (name) {
    case "conductor.start":
      return { kind: "start", at, pid: num(line.pid), logsDir: str(line.logsDir) };
    case "conductor.shutdown":
    case "conductor.shutdown_complete":
      return { kind: "shutdown", at, reason: str(line.reason) ?? "", complete: name.endsWith("_complete") };
  }
  if (!session) return { kind: "other", at, session: null };
  switch (name) {
    case "session.state_change": {
      const from = str(line.from);
      const to = str(line.to);
      if (from === null || to === null) return { kind: "other", at, session };
      return { kind: "state", at, session, from, to, reason: str(line.reason) ?? "", restarts: num(line.restarts) };
    }
    case "session.spawn":
      return { kind: "spawn", at, session, agent: str(line.agent), attempt: num(line.attempt) };
    case "session.exit":
      return {
        kind: "exit",
        at,
        session,
        failureMode: str(line.failureMode),
        code: num(line.code),
        signal: str(line.signal),
        lastError: str(line.lastError),
      };
    case "session.restart_wait":
    case "session.dead":
      return {
        kind: "ended",
        at,
        session,
        failureMode: str(line.failureMode),
        lastError: str(line.lastError),
        final: name === "session.dead",
      };
    case "session.restart":
      return line.via === "new_actor" ? { kind: "manualRestart", at, session } : { kind: "other", at, session };
    case "session.kill":
      return { kind: "kill", at, session, reason: str(line.reason) ?? "" };
    case "session.agent_retry":
      return { kind: "agentRetry", at, session };
    case "session.input_wait":
      return { kind: "question", at, session, pattern: str(line.pattern) ?? "" };
    case "session.account_wait":
      return { kind: "accountWait", at, session, reason: str(line.reason) ?? "" };
    case "session.account": {
      const accountId = str(line.accountId);
      return accountId
        ? { kind: "account", at, session, accountId, provider: str(line.provider) }
        : { kind: "other", at, session };
    }
  }
  return { kind: "other", at, session };
}

/** Calls `onFact` for every line, in file order; never holds more than one line. */
export async function readLogFacts(path: string, onFact: (fact: LogFact) => void): Promise<ReadStats> {
  const stats: ReadStats = { lines: 0, bytes: 0, malformed: 0, torn: false, firstAt: null, lastAt: null };
  const size = (await fs.promises.stat(path)).size;
  const endsWithNewline = size === 0 || (await lastByte(path, size)) === 0x0a;
  const input = fs.createReadStream(path, { encoding: "utf8", highWaterMark: 1 << 20 });
  const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let pendingBad: string | null = null;
  for await (const raw of rl) {
    stats.bytes += Buffer.byteLength(raw) + 1;
    if (pendingBad !== null) stats.malformed++;
    pendingBad = null;
    const text = raw.replace(/\0+$/, "");
    if (text.trim() === "") continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      pendingBad = text;
      continue;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      stats.malformed++;
      continue;
    }
    const fact = toFact(parsed as Record<string, unknown>);
    if (!fact) {
      stats.malformed++;
      continue;
    }
    stats.lines++;
    stats.firstAt ??= fact.at;
    stats.lastAt = stats.lastAt === null ? fact.at : Math.max(stats.lastAt, fact.at);
    onFact(fact);
  }
  // Only an unparsable final line without a newline after it is a torn write; anything else is malformed.
  if (pendingBad !== null) {
    if (endsWithNewline) stats.malformed++;
    else stats.torn = true;
  }
  return stats;
}

async function lastByte(path: string, size: number): Promise<number> {
  const fh = await fs.promises.open(path, "r");
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, size - 1);
    return b[0] as number;
  } finally {
    await fh.close();
  }
}
