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
 *
 * The conductor's own file is made private (0600) when the probe starts, just before the run's CLI
 * is spawned: gemini opens it with flags "a", so a file it made was 0644 under the usual umask (a
 * field review) beside 0600 output logs. Its records say what the run did (models, tools, errors,
 * the system instructions): its user's to read, as the output logs are.
 */
import {
  closeSync,
  constants as fsc,
  fchmodSync,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  statSync,
  truncateSync,
  unlinkSync,
} from "node:fs";
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

/**
 * Makes the conductor's file at `path` 0600, or leaves one of an earlier run there (its records
 * kept, its mode made 0600). Anything but a regular file at the name (a link gemini would append
 * through, a fifo) is removed and a file made in its place: the name is the conductor's own.
 */
export function makePrivateTelemetryFile(path: string): void {
  try {
    if (!lstatSync(path).isFile()) unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  // Not through a link (one planted since fails it: ELOOP); never blocks on a fifo.
  const fd = openSync(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_NOFOLLOW | fsc.O_NONBLOCK, 0o600);
  try {
    if ((fstatSync(fd).mode & 0o777) !== 0o600) fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
}

/** A local file, polled every `pollMs`. */
export function localTelemetryWatch(options: AgentTelemetryOptions = {}): TelemetryWatch {
  const { pollMs, maxBytes } = { ...DEFAULTS, ...options };
  return (input, found) => {
    if (input.owned) {
      try {
        makePrivateTelemetryFile(input.path);
      } catch {
        // Not made (a directory in the way, no permission): gemini makes it, or records nothing.
      }
    }
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
