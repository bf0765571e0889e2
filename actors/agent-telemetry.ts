/**
 * The telemetry probe: reads the OpenTelemetry file a CLI writes about itself while a run lasts, and
 * sends each API error it records to the session (`PROBE.TELEMETRY`), where the agent's profile
 * judges it. gemini's TUI retries a 429 for minutes behind `Thinking… (esc to cancel, 25s)` with
 * nothing else on screen, in its title or its home; its telemetry (`GEMINI_TELEMETRY_OUTFILE`)
 * records every failed attempt as a `gemini_cli.api_error` log record with `status_code` and the API's
 * error (RetryInfo included) in `error.message`, about a second after it happened (its log batch).
 *
 * Reading starts at the file's size when the run starts, so an earlier run's errors are not this
 * run's. gemini appends with O_APPEND, so the probe empties the conductor's own file (`owned`) once
 * it is read past `maxBytes` (spans and metrics add ~3 KB/s): gemini's next write then lands at the
 * new end; a record written between the last read and the cut is lost, which costs at most that
 * record. A user's own outfile is only read, however big it grows: it is theirs. A remote session's
 * file is on its host: `remote` reads it there (remote-telemetry.ts).
 */
import { closeSync, openSync, readSync, statSync, truncateSync } from "node:fs";
import { fromCallback } from "xstate";
import type { AgentTelemetryInput, TelemetryErrorEvent } from "../machines/session.types.js";
import { type TelemetryApiError, TelemetryText } from "./telemetry-records.js";

export { apiErrorOf, splitRecords } from "./telemetry-records.js";

export interface AgentTelemetryOptions {
  /** How often the file is read (ms). */
  pollMs?: number;
  /** Cut the conductor's own file back to empty once it is read past this size (bytes). */
  maxBytes?: number;
}

const DEFAULTS = { pollMs: 500, maxBytes: 8 * 1024 * 1024 };

/** Starts reading a run's telemetry where it is written; returns the stop. */
export type TelemetryWatch = (input: AgentTelemetryInput, found: (errors: TelemetryApiError[]) => void) => () => void;

/**
 * The probe the session chart spawns as `agentTelemetry`. `remote` answers for a session that runs
 * on a host (its watch), or undefined for a local one.
 */
export function createAgentTelemetryLogic(
  options: AgentTelemetryOptions = {},
  remote?: (input: AgentTelemetryInput) => TelemetryWatch | undefined,
) {
  const local = localTelemetryWatch(options);
  return fromCallback<TelemetryErrorEvent, AgentTelemetryInput>(({ input, sendBack }) =>
    (remote?.(input) ?? local)(input, (errors) => {
      for (const error of errors)
        sendBack({ type: "PROBE.TELEMETRY", generation: input.generation, ...error, at: Date.now() });
    }),
  );
}

/** A local file, polled every `pollMs`. */
export function localTelemetryWatch(options: AgentTelemetryOptions = {}): TelemetryWatch {
  const { pollMs, maxBytes } = { ...DEFAULTS, ...options };
  return (input, found) => {
    const sizeOf = () => {
      try {
        return statSync(input.path).size;
      } catch {
        return 0; // not written yet: gemini creates it when its telemetry starts
      }
    };
    let offset = sizeOf();
    const text = new TelemetryText(maxBytes);
    const decoder = new TextDecoder();
    const read = () => {
      const size = sizeOf();
      if (size < offset) {
        offset = 0; // cut by someone else: start again from the top
        text.reset();
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
      const errors = text.feed(decoder.decode(buf, { stream: true }));
      if (errors.length > 0) found(errors);
      if (input.owned && offset > maxBytes) {
        truncateSync(input.path, 0);
        offset = 0;
        text.reset();
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
  };
}
