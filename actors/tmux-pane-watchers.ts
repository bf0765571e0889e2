/**
 * The panes a host's control client (tmux-hub.ts) reads for their sessions, and the tmux
 * notifications that concern them: a pane's dead state (the subscription), its window closing or
 * changing layout, a session created or ended on the server.
 */
import { type ControlEvent, parseSubscription } from "./tmux-control.js";
import type { PaneWatcher } from "./tmux-hub.types.js";

/** The subscription that reports `#{pane_dead} #{pane_dead_status} #{pane_dead_signal}` per pane. */
export const DEAD_SUBSCRIPTION = "conductor-dead";

export class PaneWatchers {
  private readonly byPane = new Map<string, { window: string; w: PaneWatcher }>();

  get size(): number {
    return this.byPane.size;
  }

  has(pane: string): boolean {
    return this.byPane.has(pane);
  }

  /** Starts handing `pane`'s output and state to `w`; the function returned stops it. */
  watch(pane: string, window: string, w: PaneWatcher): () => void {
    this.byPane.set(pane, { window, w });
    return () => {
      if (this.byPane.get(pane)?.w === w) this.byPane.delete(pane);
    };
  }

  output(pane: string, data: Buffer): void {
    this.byPane.get(pane)?.w.output(data);
  }

  /** Each watcher, in a copy (a watcher may stop watching while it hears). */
  each(fn: (w: PaneWatcher) => void): void {
    for (const { w } of [...this.byPane.values()]) fn(w);
  }

  /** The server restarted: every pane is gone, and its id may now name another. */
  loseAll(why: string): void {
    const all = [...this.byPane.values()];
    this.byPane.clear();
    for (const { w } of all) w.lost(why);
  }

  /** A notification about panes, windows or sessions to the watchers it concerns. */
  notify(e: Extract<ControlEvent, { kind: "notify" }>): void {
    if (e.name === "%subscription-changed") {
      const s = parseSubscription(e.args);
      if (s?.name === DEAD_SUBSCRIPTION) this.byPane.get(s.pane)?.w.paneState(s.value);
    } else if (/^%(window-close|unlinked-window-close|layout-change)$/.test(e.name)) {
      const window = e.args.split(" ")[0];
      for (const x of [...this.byPane.values()]) if (x.window === window) x.w.windowChanged();
    } else if (e.name === "%sessions-changed") {
      this.each((w) => w.sessionsChanged());
    }
  }
}
