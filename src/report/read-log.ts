/**
 * Streams an event log line by line (any size, flat memory) and turns each line into what a
 * post-mortem needs, by the line's shape more than its name: the log's event names are being
 * moved from mixed styles (`stateChange`, `tree_gone`, `pty.exit`) to one (`session.state_change`,
 * with a `v` field); both spellings are read (docs/event-log.md has the migration table).
 */
import fs from "node:fs";
import { createInterface } from "node:readline";

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
    }
  | { kind: "kill"; at: number; session: string; reason: string }
  | { kind: "question"; at: number; session: string; pattern: string }
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

/** `session.state_change`, `stateChange`, `state-change` → `statechange`; compares names across styles. */
const flat = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, "");
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

export function toFact(line: Record<string, unknown>): LogFact | null {
  const name = str(line.event) ?? str(line.type);
  if (!name) return null;
  const at = Date.parse(str(line.ts) ?? str(line.time) ?? "");
  if (!Number.isFinite(at)) return null;
  const n = flat(name);
  const session = str(line.session) ?? str(line.sessionId);
  const from = str(line.from);
  const to = str(line.to);
  if (session && from !== null && to !== null && /state/.test(n))
    return { kind: "state", at, session, from, to, reason: str(line.reason) ?? "", restarts: num(line.restarts) };
  if (!session) {
    if (/conductorstart|conductorstarted/.test(n))
      return { kind: "start", at, pid: num(line.pid), logsDir: str(line.logsDir) };
    if (/shutdown/.test(n))
      return { kind: "shutdown", at, reason: str(line.reason) ?? "", complete: /complete/.test(n) };
    return { kind: "other", at, session: null };
  }
  // `spawn` / `session.spawn` / `session.spawned` (the facade's, with the run number), not `pty.spawned`.
  if (/spawn/.test(n) && !/error/.test(n) && (line.attempt !== undefined || line.agent !== undefined))
    return { kind: "spawn", at, session, agent: str(line.agent), attempt: num(line.attempt) };
  if (/exit$|exited$/.test(n) && line.failureMode !== undefined)
    return {
      kind: "exit",
      at,
      session,
      failureMode: str(line.failureMode),
      code: num(line.code) ?? num(line.exitCode),
      signal: str(line.signal),
    };
  if (/kill$|killed$|killrequested/.test(n)) return { kind: "kill", at, session, reason: str(line.reason) ?? "" };
  if ((/health/.test(n) && line.l1 === "input_wait") || /inputwait/.test(n))
    return { kind: "question", at, session, pattern: str(line.pattern) ?? "" };
  if (/accountwait/.test(n)) return { kind: "accountWait", at, session, reason: str(line.reason) ?? "" };
  if (/account|lease/.test(n) && str(line.accountId))
    return { kind: "account", at, session, accountId: str(line.accountId) as string, provider: str(line.provider) };
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
