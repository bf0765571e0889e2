/**
 * The telemetry probe: reads the OpenTelemetry file a CLI writes about itself while a run lasts, and
 * sends each API error it records to the session (`PROBE.TELEMETRY`), where the agent's profile
 * judges it. gemini's TUI retries a 429 for minutes behind `Thinking… (esc to cancel, 25s)` with
 * nothing else on screen, in its title or its home; its local telemetry (`GEMINI_TELEMETRY_OUTFILE`)
 * records every failed attempt as a `gemini_cli.api_error` log record with `status_code` and the API's
 * error (RetryInfo included) in `error.message`, about a second after it happened (its log batch).
 *
 * The file is a stream of pretty-printed JSON objects (log records, spans, metric batches), each
 * ending with a `}` line of its own. Only log records that name an event and carry `error.message`
 * count (an HTTP span of the same request has a status too, but no event name). Reading starts at the
 * file's size when the run starts, so an earlier run's errors are not this run's. gemini appends with
 * O_APPEND, so the probe may truncate a file grown past `maxBytes` (spans and metrics add ~3 KB/s):
 * gemini's next write then lands at the new end; a record written between the last read and the cut
 * is lost, which costs at most that record.
 */
import { closeSync, openSync, readSync, statSync, truncateSync } from "node:fs";
import { fromCallback } from "xstate";
import type { AgentTelemetryInput, TelemetryErrorEvent } from "../machines/session.types.js";

export interface AgentTelemetryOptions {
  /** How often the file is read (ms). */
  pollMs?: number;
  /** Cut the file back to empty once it is read past this size (bytes). */
  maxBytes?: number;
}

const DEFAULTS = { pollMs: 500, maxBytes: 8 * 1024 * 1024 };

/** A log record's fields that matter here, or null for anything else in the file. */
export function apiErrorOf(record: unknown): Omit<TelemetryErrorEvent, "type" | "generation" | "at"> | null {
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

export function createAgentTelemetryLogic(options: AgentTelemetryOptions = {}) {
  const { pollMs, maxBytes } = { ...DEFAULTS, ...options };
  return fromCallback<TelemetryErrorEvent, AgentTelemetryInput>(({ input, sendBack }) => {
    const sizeOf = () => {
      try {
        return statSync(input.path).size;
      } catch {
        return 0; // not written yet: gemini creates it when its telemetry starts
      }
    };
    let offset = sizeOf();
    let rest = "";
    const decoder = new TextDecoder();
    const read = () => {
      const size = sizeOf();
      if (size < offset) {
        offset = 0; // cut by someone else: start again from the top
        rest = "";
      }
      if (size === offset) return;
      const buf = Buffer.alloc(size - offset);
      const fd = openSync(input.path, "r");
      try {
        readSync(fd, buf, 0, buf.length, offset);
      } finally {
        closeSync(fd);
      }
      offset = size;
      const split = splitRecords(rest + decoder.decode(buf, { stream: true }));
      // Not this format after all (no record ends): keep no more than the cap in memory.
      rest = split.rest.length > maxBytes ? "" : split.rest;
      for (const record of split.records) {
        const error = apiErrorOf(record);
        if (error) sendBack({ type: "PROBE.TELEMETRY", generation: input.generation, ...error, at: Date.now() });
      }
      if (offset > maxBytes) {
        truncateSync(input.path, 0);
        offset = 0;
        rest = "";
      }
    };
    const timer = setInterval(() => {
      try {
        read();
      } catch {
        // An unreadable file is no verdict: the screen and the exit still judge the run.
      }
    }, pollMs);
    return () => clearInterval(timer);
  });
}
