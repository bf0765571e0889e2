/**
 * gemini's telemetry file as text: a stream of pretty-printed JSON objects (log records, spans,
 * metric batches), each ending with a `}` line of its own. Only log records that name an event and
 * carry `error.message` count as API errors (an HTTP span of the same request has a status too, but
 * no event name). Shared by the local probe (agent-telemetry.ts) and the remote one (remote-telemetry.ts).
 */
import type { TelemetryErrorEvent } from "../machines/session.types.js";

export type TelemetryApiError = Omit<TelemetryErrorEvent, "type" | "generation" | "at">;

/** A log record's fields that matter here, or null for anything else in the file. */
export function apiErrorOf(record: unknown): TelemetryApiError | null {
  const attrs = (record as { attributes?: unknown } | null)?.attributes;
  if (typeof attrs !== "object" || attrs === null) return null;
  const a = attrs as Record<string, unknown>;
  const event = a["event.name"];
  const message = a["error.message"] ?? a.error;
  if (typeof event !== "string" || typeof message !== "string") return null;
  const status = [a.status_code, a["http.status_code"]].find((v) => typeof v === "number");
  return { event, status: (status as number | undefined) ?? null, message };
}

/**
 * Splits the text read so far into whole top-level objects and the unfinished rest. `JSON.stringify`
 * with indentation closes a top-level object with `}` at the start of a line; nested ones are indented,
 * and strings never hold a raw newline.
 */
export function splitRecords(text: string): { records: unknown[]; rest: string } {
  const records: unknown[] = [];
  let start = 0;
  for (;;) {
    const end = text.indexOf("\n}\n", start);
    if (end < 0) break;
    const chunk = text.slice(start, end + 2);
    start = end + 3;
    try {
      records.push(JSON.parse(chunk));
    } catch {
      // A record cut by a truncation: skip it, the next one starts on its own line.
    }
  }
  return { records, rest: text.slice(start) };
}

/** One telemetry file read as it grows: each feed returns the API errors of the records it completed. */
export class TelemetryText {
  private rest = "";

  /** `maxHeld`: a rest longer than this is no record of this format: dropped, not kept in memory. */
  constructor(private readonly maxHeld: number) {}

  feed(text: string): TelemetryApiError[] {
    const split = splitRecords(this.rest + text);
    this.rest = split.rest.length > this.maxHeld ? "" : split.rest;
    return split.records.map(apiErrorOf).filter((e): e is TelemetryApiError => e !== null);
  }

  /** The file was cut (by the probe or someone else): what was held back belongs to no record now. */
  reset(): void {
    this.rest = "";
  }
}
