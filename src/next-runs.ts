/**
 * When each session's next run is due while it waits in `restarting` (a backoff, a rate limit's reset
 * hours away), and when an account is expected to free up while it waits for one. The chart has no
 * clock: its `restartWait` and `accountWait` say how long, and this stamps them with the wall clock
 * when they arrive. A snapshot that said only `restarting` looked hung after hours (a field review),
 * and a duration goes stale as it is read.
 */
import type { SessionEmitted } from "../machines/session.machine.js";

export function createNextRuns() {
  const due = new Map<string, number>();
  const accountDue = new Map<string, number>();
  return {
    /** One session's emitted events: a wait stamps its end; any move out of `restarting` clears it. */
    listener:
      (id: string) =>
      (e: SessionEmitted): void => {
        if (e.type === "restartWait") due.set(id, Date.now() + e.delayMs);
        else if (e.type === "stateChange" && e.to !== "restarting") due.delete(id);
        if (e.type === "accountWait" && e.etaMs !== null) accountDue.set(id, Date.now() + e.etaMs);
        else if (e.type === "accountWait" || e.type === "account") accountDue.delete(id);
        else if (e.type === "stateChange" && (e.to === "dead" || e.to === "completed")) accountDue.delete(id);
      },
    /** ISO time an account is expected to free up for the session's wait, or null when none was said. */
    accountEtaAt(id: string): string | null {
      const at = accountDue.get(id);
      return at === undefined ? null : new Date(at).toISOString();
    },
    /** ISO time the next run is due, or null when the session waits for none. */
    nextRunAt(id: string): string | null {
      const at = due.get(id);
      return at === undefined ? null : new Date(at).toISOString();
    },
  };
}
export type NextRuns = ReturnType<typeof createNextRuns>;
