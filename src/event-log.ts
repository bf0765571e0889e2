/**
 * The conductor's black-box recorder: one JSON object per line, appended to a file.
 *
 * Durability choice: every append is ONE synchronous `fs.writeSync` of the complete line to a file
 * opened with O_APPEND. When `append` returns, the bytes are in the kernel's page cache, so a crash
 * of the conductor itself (an exception, OOM kill, even SIGKILL) loses nothing already appended —
 * exactly the moments a black box exists for. Measured here: 416k lines/s per-line writeSync versus
 * 874k lines/s batched every 10 ms; a conductor logs at most a few hundred events a second, so the
 * 2x of batching buys nothing and would cost the last batch window on every kill. fsync per line
 * (6.1k lines/s, and it blocks the event loop on slow disks) is not worth it either: surviving a
 * machine crash/power loss is what `flush()`/`close()` are for, and `readEventLog` tolerates the torn
 * tail such a crash can leave.
 */
// Default import: calls go through the module object, so tests can observe fsync.
import fs from "node:fs";
import * as path from "node:path";

export interface EventLogOptions {
  /** Clock, injectable for tests. */
  now?: () => Date;
  /** Where warnings go (append after close, write errors). Defaults to process.stderr. */
  warn?: (message: string) => void;
  /** File mode on creation; the log names hosts, agents and argv, so owner-only by default. */
  mode?: number;
}

export interface EventLog {
  append(event: string, data?: Record<string, unknown>): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  readonly filePath: string;
  /** Sequence number of the last line written (0 before the first). */
  readonly seq: number;
  readonly closed: boolean;
  /** Appends refused because the log was closed. */
  readonly dropped: number;
  /** Appends that failed in the kernel (ENOSPC, EIO...) or fsyncs that failed on close. */
  readonly writeErrors: number;
}

export interface EventLogLine {
  seq: number;
  ts: string;
  event: string;
  [key: string]: unknown;
}

const RESERVED = ["seq", "ts", "event"] as const;

const defaultWarn = (message: string): void => void process.stderr.write(`[event-log] ${message}\n`);
const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

const safeKeys = (o: object): string[] => {
  try {
    return Object.keys(o);
  } catch {
    return []; // a hostile Proxy: the line still goes out, without keys
  }
};

/** True when the file exists, is non-empty and does not end in "\n" (a torn line from an earlier crash). */
function endsTorn(fd: number): boolean {
  const size = fs.fstatSync(fd).size;
  if (size === 0) return false;
  const last = Buffer.alloc(1);
  fs.readSync(fd, last, 0, 1, size - 1);
  return last[0] !== 0x0a;
}

export function createEventLog(filePath: string, opts: EventLogOptions = {}): EventLog {
  const now = opts.now ?? (() => new Date());
  const warn = opts.warn ?? defaultWarn;
  const resolved = path.resolve(filePath);
  fs.mkdirSync(path.dirname(resolved), { recursive: true });
  // "a+" = O_APPEND (every write lands at the end, even with other writers) and readable for endsTorn.
  const fd = fs.openSync(resolved, "a+", opts.mode ?? 0o600);

  let seq = 0;
  let closed = false;
  let dropped = 0;
  let writeErrors = 0;
  let warnedDropped = false;
  let warnedWrite = false;
  // A torn tail (ours after a failed write, or a crashed predecessor's) must not swallow our next line.
  let needsNewline = endsTorn(fd);
  // fsyncs are chained so close() never closes the fd under an fsync still in flight.
  let chain: Promise<void> = Promise.resolve();
  let closing: Promise<void> | null = null;

  function serialize(n: number, event: string, data: unknown): string {
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
      // Duplicate keys in a literal keep the first position and the last value: our seq/ts/event
      // stay first in the line and win over the caller's; the collision itself is recorded.
      const line = { ...head, ...record, ...head };
      return JSON.stringify(ignored.length > 0 ? { ...line, ignoredKeys: ignored } : line);
    } catch (err) {
      // BigInt, cycles, a throwing toJSON: the event still gets a line, the caller never sees a throw.
      return JSON.stringify({
        ...head,
        unserializable: true,
        error: errorText(err),
        keys: safeKeys(record),
      });
    }
  }

  function append(event: string, data?: Record<string, unknown>): void {
    if (closed) {
      dropped += 1;
      if (!warnedDropped) {
        warnedDropped = true;
        warn(`append("${String(event)}") after close of ${resolved}: not written (counted in dropped)`);
      }
      return;
    }
    const n = seq + 1;
    const text = `${(needsNewline ? "\n" : "") + serialize(n, event, data)}\n`;
    const buf = Buffer.from(text, "utf8");
    let written = 0;
    try {
      // A regular file takes the whole buffer in one call; the loop only matters on a short write.
      while (written < buf.length) written += fs.writeSync(fd, buf, written, buf.length - written);
    } catch (err) {
      writeErrors += 1;
      if (!warnedWrite) {
        warnedWrite = true;
        warn(`write to ${resolved} failed: ${errorText(err)} (further failures counted in writeErrors)`);
      }
    }
    if (written === buf.length) {
      needsNewline = false;
      seq = n;
    } else if (written > 0) {
      // Part of the line reached the file: its seq is spent, and the fragment must be terminated.
      needsNewline = true;
      seq = n;
    }
  }

  function fsyncOnce(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      fs.fsync(fd, (err) => (err ? reject(err) : resolve()));
    });
  }

  function flush(): Promise<void> {
    if (closing) return closing;
    const p = chain.then(fsyncOnce);
    chain = p.catch(() => undefined);
    return p;
  }

  function close(): Promise<void> {
    if (closing) return closing;
    closed = true;
    closing = chain
      .then(fsyncOnce)
      .catch((err: unknown) => {
        // close() is a shutdown step and must not reject into a shutdown path; report, count, go on.
        writeErrors += 1;
        warn(`fsync of ${resolved} on close failed: ${errorText(err)}`);
      })
      .then(
        () =>
          new Promise<void>((resolve) => {
            fs.close(fd, (err) => {
              if (err) warn(`close of ${resolved} failed: ${errorText(err)}`);
              resolve();
            });
          }),
      );
    return closing;
  }

  return {
    append,
    flush,
    close,
    filePath: resolved,
    get seq() {
      return seq;
    },
    get closed() {
      return closed;
    },
    get dropped() {
      return dropped;
    },
    get writeErrors() {
      return writeErrors;
    },
  };
}

export interface EventLogIssue {
  /** `torn`: the last line is incomplete (a machine crash mid-write); `malformed`: a bad line before it. */
  kind: "torn" | "malformed";
  /** 1-based line number in the file. */
  line: number;
  text: string;
}

export interface EventLogReadResult {
  lines: EventLogLine[];
  issues: EventLogIssue[];
}

function isLogLine(v: unknown): v is EventLogLine {
  return (
    typeof v === "object" && v !== null && !Array.isArray(v) && typeof (v as { event?: unknown }).event === "string"
  );
}

/** Parses a log line by line; never throws on content, every skipped line is listed in `issues`. */
export async function readEventLogDetailed(filePath: string): Promise<EventLogReadResult> {
  const content = await fs.promises.readFile(filePath, "utf8");
  // After a power loss a file can end in NUL bytes (size grew, data never reached the disk).
  const parts = content.replace(/\0+$/, "").split("\n");
  const lines: EventLogLine[] = [];
  const issues: EventLogIssue[] = [];
  parts.forEach((raw, i) => {
    const isLast = i === parts.length - 1;
    if (raw.trim() === "") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = undefined;
    }
    if (isLogLine(parsed)) {
      lines.push(parsed);
      return;
    }
    // Only the final segment, with no newline after it, can be the tail of an interrupted write.
    issues.push({ kind: isLast ? "torn" : "malformed", line: i + 1, text: raw.slice(0, 200) });
  });
  return { lines, issues };
}

/**
 * Parses a log, tolerating a torn last line. Skipped lines are reported through `onIssue`
 * (default: a warning on stderr), so damage is never silent.
 */
export async function readEventLog(
  filePath: string,
  onIssue: (issue: EventLogIssue) => void = (issue) =>
    process.stderr.write(`[event-log] ${filePath}: ${issue.kind} line ${issue.line} skipped\n`),
): Promise<EventLogLine[]> {
  const { lines, issues } = await readEventLogDetailed(filePath);
  for (const issue of issues) onIssue(issue);
  return lines;
}

/** Environment for the log: the names only. Values (tokens, keys) never reach the file. */
export function redactEnv(env: Readonly<Record<string, string | undefined>> | undefined): string[] {
  return env ? Object.keys(env).sort() : [];
}

// Name segments that mark a value as secret; whole segments so `--max-tokens 100` stays readable.
const SECRET_WORDS = new Set([
  "key",
  "apikey",
  "token",
  "password",
  "passwd",
  "pass",
  "secret",
  "credential",
  "credentials",
  "auth",
  "authorization",
  "bearer",
  "cookie",
]);

function looksSecretName(name: string): boolean {
  return name
    .replace(/^-+/, "")
    .replace(/([a-z])([A-Z])/g, "$1_$2") // apiKey → api_Key
    .toLowerCase()
    .split(/[-_.]+/)
    .some((seg) => SECRET_WORDS.has(seg));
}

const HEADER = /^\s*(authorization|proxy-authorization|x-api-key|api-key|cookie)\s*:/i;
const REDACTED = "***";

/**
 * argv for the log, with secret values replaced by `***`: the value after `--api-key`/`--token`/
 * `--password`-like flags, `--flag=value` and `NAME_KEY=value` forms, `Authorization: ...` headers,
 * and every occurrence of the literal `secrets` (pass the prompt here to keep it out of the log).
 */
export function describeArgv(argv: readonly string[], secrets: readonly string[] = []): string[] {
  const literal = secrets.filter((s) => typeof s === "string" && s.length > 0);
  const out: string[] = [];
  let maskNext = false;
  for (const arg of argv) {
    let shown = String(arg);
    // A flag right after a secret flag means the secret flag had no value: treat it as a flag.
    if (maskNext && shown.startsWith("--")) maskNext = false;
    if (maskNext) {
      shown = REDACTED;
      maskNext = false;
    } else if (HEADER.test(shown)) {
      shown = `${shown.slice(0, shown.indexOf(":") + 1)} ${REDACTED}`;
    } else if (/^authorization$/i.test(shown)) {
      // `-H Authorization "Bearer x"` style: the name alone, the value follows.
      maskNext = true;
    } else {
      const eq = shown.indexOf("=");
      if (eq > 0) {
        if (looksSecretName(shown.slice(0, eq))) shown = shown.slice(0, eq + 1) + REDACTED;
      } else if (shown.startsWith("-") && looksSecretName(shown)) {
        maskNext = true;
      }
    }
    for (const s of literal) shown = shown.split(s).join(REDACTED);
    out.push(shown);
  }
  return out;
}
