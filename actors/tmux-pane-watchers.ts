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

  /** `failed`: a watcher threw; the others still hear it (the channel serves every session of the host). */
  constructor(private readonly failed: (pane: string, error: unknown) => void) {}

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

  /** Every %output line of the host comes here: no closure per call (tell's). */
  output(pane: string, data: Buffer): void {
    const x = this.byPane.get(pane);
    if (!x) return;
    try {
      x.w.output(data);
    } catch (e) {
      this.failed(pane, e);
    }
  }

  /** Each watcher, in a copy (a watcher may stop watching while it hears). */
  each(fn: (w: PaneWatcher) => void): void {
    for (const [pane, { w }] of [...this.byPane]) this.tell(pane, () => fn(w));
  }

  /** The server restarted: every pane is gone, and its id may now name another. */
  loseAll(why: string): void {
    const all = [...this.byPane];
    this.byPane.clear();
    for (const [pane, { w }] of all) this.tell(pane, () => w.lost(why));
  }

  /** A notification about panes, windows or sessions to the watchers it concerns. */
  notify(e: Extract<ControlEvent, { kind: "notify" }>): void {
    if (e.name === "%subscription-changed") {
      const s = parseSubscription(e.args);
      const x = s?.name === DEAD_SUBSCRIPTION ? this.byPane.get(s.pane) : undefined;
      if (s && x) this.tell(s.pane, () => x.w.paneState(s.value));
    } else if (/^%(window-close|unlinked-window-close|layout-change)$/.test(e.name)) {
      const window = e.args.split(" ")[0];
      for (const [pane, x] of [...this.byPane]) if (x.window === window) this.tell(pane, () => x.w.windowChanged());
    } else if (e.name === "%sessions-changed") {
      this.each((w) => w.sessionsChanged());
    }
  }

  private tell(pane: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.failed(pane, e);
    }
  }
}
