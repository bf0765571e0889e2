/**
 * The event log's line format: one naming style (`domain.snake_case`), a format version `v` on every
 * line, and the table from the names of format 1 (unversioned lines) to today's, for readers of old logs.
 * docs/event-log.md documents the same table; a test keeps the two equal.
 */
import type { EventLog, EventLogLine } from "./event-log.js";

/** Written as `v` on every line. Lines without `v` are format 1 (the names in `RENAMED_EVENTS`' keys). */
export const EVENT_LOG_VERSION = 2;

/** Every event name: a lower-case domain, a dot, then snake_case words (`session.state_change`). */
export const EVENT_NAME_PATTERN = /^[a-z]+(\.[a-z][a-z0-9_]*)+$/;

/** Format-1 name → format-2 name. Names already in the style (`pty.exit`, `reaper.sigkill`) kept theirs. */
export const RENAMED_EVENTS: Readonly<Record<string, string>> = Object.freeze({
  conductor_start: "conductor.start",
  config_error: "conductor.config_error",
  listener_error: "conductor.listener_error",
  allCompleted: "conductor.all_completed",
  shutdown: "conductor.shutdown",
  shutdown_complete: "conductor.shutdown_complete",
  stateChange: "session.state_change",
  spawn: "session.spawn",
  exit: "session.exit",
  health: "session.input_wait",
  kill: "session.kill",
  stdin: "session.input",
  session_account: "session.account",
  account_wait: "session.account_wait",
  tree_gone: "reaper.tree_gone",
  auth_copy: "credential.auth_copy",
  auth_copy_error: "credential.auth_copy_error",
  "broker.noLease": "broker.no_lease",
  "broker.duplicateRelease": "broker.duplicate_release",
  "broker.circuitOpen": "broker.circuit_open",
  "broker.circuitHalfOpen": "broker.circuit_half_open",
  "broker.circuitClose": "broker.circuit_close",
  "broker.tierFallback": "broker.tier_fallback",
  "broker.leaseExpired": "broker.lease_expired",
});

/** `circuitHalfOpen` → `circuit_half_open`: how a machine's emitted event type becomes part of a log name. */
export const snakeCase = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export type LogFn = (event: string, data?: Record<string, unknown>) => void;

/** The conductor's one way into its log: every line gets `v`, whatever the caller passed. */
export function versionedAppend(log: Pick<EventLog, "append">): LogFn {
  // `v` first after seq/ts/event; a caller's own `v` cannot replace the format's.
  return (event, data) => log.append(event, { v: EVENT_LOG_VERSION, ...withoutV(data) });
}

function withoutV(data: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!data || !Object.hasOwn(data, "v")) return data;
  const { v: callerV, ...rest } = data;
  return { ...rest, callerV };
}

/** A line of any format read as format 2 (old names renamed, `v` set), so one reader handles both. */
export function upgradeEventLogLine(line: EventLogLine): EventLogLine {
  if (typeof line.v === "number" && line.v >= EVENT_LOG_VERSION) return line;
  return { ...line, event: RENAMED_EVENTS[line.event] ?? line.event, v: EVENT_LOG_VERSION };
}
