/**
 * One event-log line as JSON: `seq`, `ts` and `event` first, then the caller's data. Never throws: a
 * line whose data cannot be serialised still goes out, marked `unserializable`. Env and argv go in
 * redacted (redactEnv, describeArgv).
 */
import { redactArgv } from "./redact.js";

const RESERVED = ["seq", "ts", "event"] as const;

export const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

const safeKeys = (o: object): string[] => {
  try {
    return Object.keys(o);
  } catch {
    return []; // a hostile Proxy: the line still goes out, without keys
  }
};

/** `now` is the log's clock; a broken injected clock falls back to the wall clock. */
export function serializeLine(now: () => Date, n: number, event: string, data: unknown): string {
  let ts: string;
  try {
    ts = now().toISOString();
  } catch {
    ts = new Date().toISOString(); // a broken injected clock must not cost the line
  }
  const head = { seq: n, ts, event: String(event) };
  if (data === undefined || data === null) return JSON.stringify(head);
  if (typeof data !== "object" || Array.isArray(data)) {
    return JSON.stringify({ ...head, data });
  }
  const record = data as Record<string, unknown>;
  try {
    const ignored = RESERVED.filter((k) => Object.hasOwn(record, k));
    // The usual line: no collision. Literal keys, then one spread: spreading an object (`head`)
    // into a fresh one takes V8's slow path, ~10× the serialize time, which was most of an append.
    if (ignored.length === 0) return JSON.stringify({ seq: head.seq, ts: head.ts, event: head.event, ...record });
    // Duplicate keys in a literal keep the first position and the last value: our seq/ts/event
    // stay first in the line and win over the caller's; the collision itself is recorded.
    return JSON.stringify({ ...head, ...record, ...head, ignoredKeys: ignored });
  } catch (err) {
    // BigInt, cycles, a throwing toJSON: the event still gets a line, the caller never sees a throw.
    return JSON.stringify({ ...head, unserializable: true, error: errorText(err), keys: safeKeys(record) });
  }
}

/** Environment for the log: the names only. Values (tokens, keys) never reach the file. */
export function redactEnv(env: Readonly<Record<string, string | undefined>> | undefined): string[] {
  return env ? Object.keys(env).sort() : [];
}

/**
 * argv for the log, through the one redactor (src/redact.ts): secret flag values, `NAME_KEY=v`,
 * URL credentials, headers, JSON secrets, MCP env; `secrets` are literals such as the prompt.
 */
export function describeArgv(argv: readonly string[], secrets: readonly string[] = []): string[] {
  return redactArgv(argv, { literals: secrets });
}
