/**
 * When each session's next run is due while it waits in `restarting` (a backoff, a rate limit's reset
 * hours away). The chart has no clock: its `restartWait` says how long, and this stamps it with the
 * wall clock when it arrives. A snapshot that said only `restarting` looked hung after hours (a
 * field review), and a duration goes stale as it is read.
 */
import type { SessionEmitted } from "../machines/session.machine.js";

export function createNextRuns() {
  const due = new Map<string, number>();
  return {
    /** One session's emitted events: a wait stamps its end; any move out of `restarting` clears it. */
    listener:
      (id: string) =>
      (e: SessionEmitted): void => {
        if (e.type === "restartWait") due.set(id, Date.now() + e.delayMs);
        else if (e.type === "stateChange" && e.to !== "restarting") due.delete(id);
      },
    /** ISO time the next run is due, or null when the session waits for none. */
    nextRunAt(id: string): string | null {
      const at = due.get(id);
      return at === undefined ? null : new Date(at).toISOString();
    },
  };
}
export type NextRuns = ReturnType<typeof createNextRuns>;
