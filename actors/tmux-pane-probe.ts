/**
 * `PaneProbe`: asking the remote tmux server, over the control channel, whether a run's pane still
 * lives. Used where tmux's own once-a-second report would be late or would never come: an attached
 * pane gone quiet, just after a signal or an ack, the session killed from outside, a reap waiting
 * for the death. What to do about an answer is the run's (tmux-pane-run.ts).
 */
import { type Pane, queryPane, sessionGone } from "./remote-pane.js";
import type { TmuxControl } from "./tmux-hub.js";

/** What the probe asks about and whom it tells. */
export interface ProbeTarget {
  /** The pane, while it is ours (undefined once gone: its ids may then name someone else's). */
  pane(): Pane | undefined;
  ctl(): TmuxControl | undefined;
  /** The tmux session the run created (null for an attached pane, which is never ended). */
  createdSession(): string | null;
  /** `#{pane_dead} #{pane_dead_status} #{pane_dead_signal}` of the pane. */
  paneState(value: string): void;
  lost(why: string): void;
  /** The run's own session was killed by someone else (once). */
  sessionKilled(pane: Pane): void;
  diag(line: string): void;
}

export class PaneProbe {
  private timer: NodeJS.Timeout | undefined;
  private killed = false;
  private readonly deathWaiters = new Set<() => void>();

  constructor(private readonly t: ProbeTarget) {}

  /** Checks after `ms` of quiet (each call restarts the wait). */
  arm(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.check(), ms);
  }

  /** Checks in `ms`, whatever else is armed (after a signal or an ack). */
  soon(ms: number): void {
    setTimeout(() => this.check(), ms);
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  /** Asks tmux now: is our pane (same id AND pid) dead? */
  check(): void {
    const pane = this.t.pane();
    const ctl = this.t.ctl();
    if (!pane || !ctl?.attached) return;
    void queryPane(ctl, pane).then(
      (state) =>
        state === null ? this.t.lost("pane gone (or its id now names another process)") : this.t.paneState(state),
      (e: Error) =>
        /can't find/.test(e.message) ? this.t.lost(e.message) : this.t.diag(`pane check failed: ${e.message}`),
    );
  }

  /**
   * A session was created or ended on the server: was it ours? Only a session we created: its
   * window is also linked into the hub, so `tmux kill-session` alone would leave the agent running
   * with no session of its own. The pane is kept, so the reap ends the agent's group and the window.
   */
  sessionsChanged(): void {
    const pane = this.t.pane();
    const ctl = this.t.ctl();
    const name = this.t.createdSession();
    if (name === null || !pane || !ctl?.attached || this.killed) return;
    void sessionGone(ctl, name).then(
      (gone) => {
        if (!gone || this.killed || this.t.pane() !== pane) return;
        this.killed = true;
        this.t.sessionKilled(pane);
      },
      (e: Error) => this.t.diag(`session check failed: ${e.message}`),
    );
  }

  /** The pane's death is known: whoever waits for it (a reap's grace) stops waiting. */
  deathSeen(): void {
    for (const w of this.deathWaiters) w();
  }

  /** Resolves when the death is seen, or after `ms`; a check goes out first (tmux reports once a second). */
  died(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.soon(100);
      const t = setTimeout(resolve, ms);
      this.deathWaiters.add(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
