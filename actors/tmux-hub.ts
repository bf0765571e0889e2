/**
 * `TmuxControl`: ONE tmux control client (`tmux -C`) per host that every remote session on it
 * shares. What it prints is parsed by tmux-control.ts.
 *
 * A control client only sees the panes of the session it is attached to, so it attaches to a
 * hub session and each agent's window is linked into the hub (`link-window`): one long-lived
 * ssh channel streams every pane's output, and commands go over the same channel's stdin (no
 * ssh exec, no login shell per command). It reattaches by itself after the host reconnects.
 *
 * The chart's side (opening the channel, what happens on attach and on a drop) is
 * TmuxChannelRuntime's (tmux-channel-runtime.ts); this file is what sessions call.
 */
import type { PaneWatcher } from "./tmux-hub.types.js";
import { TmuxChannelRuntime } from "./tmux-channel-runtime.js";

export { TmuxStartError } from "./tmux-channel-runtime.js";
export { ChannelResetError, TmuxCommandError } from "./tmux-commands.js";
export type { ControlHost, PaneWatcher, TmuxControlOptions } from "./tmux-hub.types.js";

const DEFAULT_REATTACH_TIMEOUT_MS = 60_000;

/** A line not sent because its caller gave up while it waited for the channel. */
export class CancelledError extends Error {
  override name = "CancelledError";
}

export class TmuxControl extends TmuxChannelRuntime {
  /**
   * Resolves once attached; rejects when the host refuses us, tmux fails, or the host stays
   * unreachable for `timeoutMs` (extended while an attach is under way: tmux-attach-wait.ts).
   */
  ensure(timeoutMs: number): Promise<void> {
    if (this.attached) return Promise.resolve();
    if (this.closed) return Promise.reject(this.endedError());
    const { host } = this.opts;
    if (host.status() === "rejected")
      return Promise.reject(new Error(host.lastError() ?? `host ${host.name} rejected the connection`));
    const waiting = this.waiters.wait(
      timeoutMs,
      () => this.attaching(),
      () => {
        const why = `${host.status()}${host.lastError() ? `: ${host.lastError()}` : ""}`;
        return new Error(`host ${host.name} not reachable within ${timeoutMs} ms (${why})`);
      },
    );
    this.wake();
    return waiting;
  }

  /**
   * Runs commands as one line (tmux runs it before handling any child exit); resolves with one
   * block of lines per command. `onBlock` runs synchronously as each answer is parsed, so a
   * watcher registered there sees the very next %output (which may come before the next block).
   * Issued while the channel is away (a reset, a reconnect), it waits for the reattach, up to
   * `reattachTimeoutMs`. A line in flight when the channel closes fails with ChannelResetError.
   */
  async run(
    commands: string[][],
    onBlock?: (index: number, lines: string[]) => void,
    cancelled?: AbortSignal,
  ): Promise<string[][]> {
    if (!this.attached) await this.whenBack(commands);
    // Waited for the channel: a line its caller gave up on meanwhile (a spawn killed) is not sent.
    if (cancelled?.aborted) throw new CancelledError(`"${commands[0]?.[0]}" not sent: cancelled while it waited`);
    return this.send(commands, onBlock);
  }

  /** Waits for the channel after a reset or a drop; the error says which command gave up and why. */
  private async whenBack(commands: string[][]): Promise<void> {
    if (this.closed) throw this.endedError();
    const ms = this.opts.reattachTimeoutMs ?? DEFAULT_REATTACH_TIMEOUT_MS;
    this.log("remote.control_wait", {
      host: this.opts.host.name,
      command: commands[0]?.[0],
      state: stateName(this.chart.getSnapshot().value),
    });
    try {
      await this.ensure(ms);
    } catch (e) {
      throw new Error(
        `tmux control channel on ${this.opts.host.name} did not come back within ${ms} ms for "${commands[0]?.[0]}": ${(e as Error).message}`,
      );
    }
  }

  /** Cleanup that must happen even if the host is down now: runs at once, or at the next attach. */
  later(commands: string[][]): void {
    if (this.attached) void this.run(commands).catch(() => undefined);
    else this.deferred.push(commands);
  }

  /** A session that waits this long for a lost host: its agent must not be ended sooner by the hook. */
  coverHostDown(ms: number): void {
    if (this.orphanHook.cover(ms) && this.attached) void this.send(this.orphanHook.commands()).catch(() => undefined);
  }

  watch(pane: string, window: string, w: PaneWatcher): () => void {
    return this.watchers.watch(pane, window, w);
  }

  close(): void {
    this.tell({ type: "CLOSE" });
  }

  /** The host answers and the control client is on its way (its own open timeout bounds it). */
  private attaching(): boolean {
    const snap = this.chart.getSnapshot();
    return this.opts.host.status() === "connected" && (snap.matches("opening") || snap.matches("verifying"));
  }
}

/** The chart's state as one word for the log (`opening.handshake` → `opening`). */
function stateName(value: unknown): string {
  return typeof value === "string" ? value : (Object.keys(value as object)[0] ?? "");
}
