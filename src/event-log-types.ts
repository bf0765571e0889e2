/** The event log's public shapes (src/event-log.ts makes the log, src/event-log-read.ts reads it). */
import type fs from "node:fs";

/** The calls the log makes; injectable so tests can fail them like a full disk does. */
export type EventLogFs = Pick<
  typeof fs,
  "openSync" | "writeSync" | "fstatSync" | "ftruncateSync" | "readSync" | "renameSync" | "fsync" | "close" | "mkdirSync"
>;

export interface EventLogOptions {
  /** Clock, injectable for tests. */
  now?: () => Date;
  /** Where warnings go (append after close, write errors). Defaults to process.stderr. */
  warn?: (message: string) => void;
  /** File mode on creation; the log names hosts, agents and argv, so owner-only by default. */
  mode?: number;
  /** Rotate before a line would take the file past this many bytes (default 64 MiB; 0 = never). */
  maxBytes?: number;
  /** Rotated files kept, `<file>.1` (newest) … `<file>.<keep>` (default 3, at least 1). */
  keep?: number;
  /** A write failed (first failure of a streak), or writing works again (`recovered`). */
  onError?: (e: EventLogError) => void;
  /** Injectable file system (fault tests). */
  fs?: EventLogFs;
  /** The seed's option: every appended line carries `session: <sessionId>` unless its data names one. */
  sessionId?: string;
}

export interface EventLogError {
  /**
   * `removed`: the file was removed under the log (its directory deleted) and could not be made again
   * yet; `recreated`: it was made again with what the open file still held (`rescuedBytes`).
   */
  kind: "write_failed" | "recovered" | "removed" | "recreated";
  filePath: string;
  /** The failure (write_failed) or the last failure of the streak (recovered). */
  error: string;
  /** Lines lost so far in this streak (each spent a seq); `recreated`: lines the copy could not save. */
  lost: number;
  /** Seq of the first lost line of the streak. */
  firstLostSeq: number;
  /** `recreated`: bytes of the removed file copied into the new one. */
  rescuedBytes?: number;
}

export interface EventLog {
  append(event: string, data?: Record<string, unknown>): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  /**
   * One fstat: true when the file had been removed (nlink 0) and was made again, with what the open
   * file held, said in a `log.recreated` line. flush() and close() check first too.
   */
  checkFile(): boolean;
  readonly filePath: string;
  /** Sequence number of the last line appended, written or lost (0 before the first). */
  readonly seq: number;
  /** Always 0: every append is written before it returns (the seed counted buffered writes). */
  readonly pending: number;
  readonly closed: boolean;
  /** Appends refused because the log was closed. */
  readonly dropped: number;
  /** Appends that failed in the kernel (ENOSPC, EIO...) or fsyncs that failed on close. */
  readonly writeErrors: number;
  /** Lines lost to write failures, over the log's life. */
  readonly lost: number;
  /** Rotations done. */
  readonly rotations: number;
}

export interface EventLogLine {
  seq: number;
  ts: string;
  event: string;
  [key: string]: unknown;
}
