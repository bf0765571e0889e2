/**
 * The control protocol (docs/control.md): JSON lines over a Unix socket (and, for the viewer, the
 * same request objects over same-origin HTTP). One request per line, answered by one response
 * with the same `id`; `follow` requests also stream messages tagged with that `id` until `unfollow`.
 */
import type { SessionSnapshot } from "../session-view.js";

export const PROTOCOL_VERSION = 1;
/** A request line longer than this is refused (and the connection closed): nothing legitimate is. */
export const MAX_LINE_BYTES = 1 << 20;

export type ControlRequest =
  | { id: RequestId; op: "hello" }
  | { id: RequestId; op: "sessions" }
  | { id: RequestId; op: "history"; session: string; lines?: number }
  | { id: RequestId; op: "screen"; session: string }
  | { id: RequestId; op: "follow"; sessions?: string[]; events?: boolean; output?: boolean; backlog?: number }
  | { id: RequestId; op: "unfollow"; follow: RequestId }
  | { id: RequestId; op: "send"; session: string; text: string }
  | { id: RequestId; op: "keys"; session: string; keys: string[] }
  | { id: RequestId; op: "kill"; session: string; reason?: string }
  | { id: RequestId; op: "restart"; session: string }
  | { id: RequestId; op: "shutdown"; reason?: string };

export type RequestId = number | string;
export type ControlOp = ControlRequest["op"];
export const CONTROL_OPS: readonly ControlOp[] = [
  "hello",
  "sessions",
  "history",
  "screen",
  "follow",
  "unfollow",
  "send",
  "keys",
  "kill",
  "restart",
  "shutdown",
];

export type ErrorCode = "bad_request" | "unknown_op" | "unknown_session" | "not_running" | "unsupported" | "failed";

export type ControlResponse =
  | { id: RequestId | null; ok: true; result: unknown }
  | { id: RequestId | null; ok: false; error: { code: ErrorCode; message: string } };

/** A streamed message of a `follow`: a lifecycle event, a chunk of output, or the end of the run. */
export type StreamMessage =
  | { id: RequestId; stream: "event"; data: LifecycleEvent }
  | { id: RequestId; stream: "output"; data: OutputChunk }
  | { id: RequestId; stream: "end"; data: { reason: string } };

export interface LifecycleEvent {
  ts: string;
  /** The facade's event name: stateChange, inputWait, completed, dead, account, accountWait, kill, … */
  type: string;
  session: string | null;
  [key: string]: unknown;
}

export interface OutputChunk {
  /** When the conductor saw these bytes land in `<id>.out.log`. */
  ts: string;
  session: string;
  /** UTF-8 text, ANSI escapes included (a split multi-byte character waits for its next chunk). */
  text: string;
  /** Where the text's bytes are in the session's whole output (across rotated files): [start, end). */
  start?: number;
  end?: number;
}

/** What `history` returns: recent events and output in time order, and where that output ends. */
export interface History {
  session: string;
  entries: Array<{ ts: string; type: string; session: string | null; [key: string]: unknown }>;
  /** Position in the whole output after the last output entry: live output from there on is new. */
  outputEnd?: number;
  /** Position in the whole output of the first output entry: the bytes before it are not in `entries`. */
  outputStart?: number;
  /** The session's output log, where all of it is (older bytes in its rotated files). */
  outputPath?: string;
}

/**
 * The text of a live chunk that a history ending at `outputEnd` does not already hold (a follower
 * started before the history was read sees some output twice): "" when it is all there, null when
 * positions are missing (a conductor from before them) and the caller must judge by arrival.
 */
export function unseenText(chunk: OutputChunk, outputEnd: number | undefined): string | null {
  if (outputEnd === undefined || chunk.start === undefined || chunk.end === undefined) return null;
  if (chunk.end <= outputEnd) return "";
  if (chunk.start >= outputEnd) return chunk.text;
  return Buffer.from(chunk.text, "utf8")
    .subarray(outputEnd - chunk.start)
    .toString("utf8");
}

/** What `sessions` returns per session: the facade's snapshot plus what an operator asks first. */
export type ControlSession = SessionSnapshot & {
  /** When the current (or last) run started, ISO; null before the first. */
  runStartedAt: string | null;
  /** When output last reached `<id>.out.log`, ISO; null before the first byte. */
  lastOutputAt: string | null;
};

export interface Hello {
  protocol: number;
  name: string;
  pid: number;
  version: string;
  logsDir: string;
  eventLogPath: string;
  startedAt: string;
  ended: boolean;
  /** Ops this conductor serves (`keys` and `restart` need the facade's sendKeys/restartSession). */
  ops: ControlOp[];
}

export class ControlError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "ControlError";
  }
}

/** Splits a byte stream into lines; refuses a line longer than `max` bytes. */
export function lineSplitter(onLine: (line: string) => void, onTooLong: () => void, max = MAX_LINE_BYTES) {
  let pending = "";
  return (chunk: string) => {
    pending += chunk;
    let nl = pending.indexOf("\n");
    while (nl >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.trim() !== "") onLine(line);
      nl = pending.indexOf("\n");
    }
    if (pending.length > max) {
      pending = "";
      onTooLong();
    }
  };
}
