/**
 * `TmuxControl`: ONE tmux control client (`tmux -C`) per host that every remote session on it
 * shares. What it prints is parsed by tmux-control.ts.
 *
 * A control client only sees the panes of the session it is attached to, so it attaches to a
 * hub session and each agent's window is linked into the hub (`link-window`): one long-lived
 * ssh channel streams every pane's output, and commands go over the same channel's stdin (no
 * ssh exec, no login shell per command). It reattaches by itself after the host reconnects.
 */
import { type Actor, createActor } from "xstate";
import {
  type TmuxChannelEvent,
  type TmuxChannelMachine,
  tmuxChannelMachine,
} from "../machines/tmux-channel.machine.js";
import type { SshStream } from "./ssh-host.js";
import { OrphanHook } from "./remote-orphan-watch.js";
import { AttachWaiters } from "./tmux-attach-wait.js";
import { controlClientCommand } from "./tmux-control.js";
import { ControlChannel } from "./tmux-control-channel.js";
import { DEAD_SUBSCRIPTION, PaneWatchers } from "./tmux-pane-watchers.js";
import type { PaneWatcher, TmuxControlOptions } from "./tmux-hub.types.js";

export { ChannelResetError, TmuxCommandError } from "./tmux-commands.js";
export type { ControlHost, PaneWatcher, TmuxControlOptions } from "./tmux-hub.types.js";

/**
 * Answers queue behind %output in tmux's FIFO: under a CPU hog a kill-window after a 95 KB flood went
 * unanswered for 15 s (the old default), and resetting the channel then failed the next spawn. This is
 * a detector of a wedged channel, not a latency target.
 */
const DEFAULT_COMMAND_TIMEOUT_MS = 60_000;
const DEFAULT_REATTACH_TIMEOUT_MS = 60_000;
const DEFAULT_OPEN_TIMEOUT_MS = 30_000;
const DEFAULT_REOPEN_DELAY_MS = 1_000;

/** A line not sent because its caller gave up while it waited for the channel. */
export class CancelledError extends Error {
  override name = "CancelledError";
}

export class TmuxControl {
  readonly hub: string;
  /** Marks the sessions this client creates: they end if it is gone for good (remote-orphan-watch.ts). */
  readonly owner: string;
  private readonly orphanHook: OrphanHook;
  /** The channel's lifecycle (machines/tmux-channel.machine.ts); the handles below are this runtime's. */
  private readonly chart: Actor<TmuxChannelMachine>;
  /** The open channel (from `opening.handshake` until it closes): answers belong to one channel. */
  private channel: ControlChannel | undefined;
  private readonly waiters = new AttachWaiters();
  private readonly watchers: PaneWatchers;
  private deferred: string[][][] = [];
  private readonly offStatus: () => void;
  private readonly log: NonNullable<TmuxControlOptions["log"]>;

  constructor(private readonly opts: TmuxControlOptions) {
    this.hub = opts.hubSession ?? "conductor-hub";
    this.orphanHook = new OrphanHook(opts.program);
    this.owner = this.orphanHook.owner;
    this.log = opts.log ?? (() => {});
    const host = opts.host.name;
    // One session's watcher that throws must not stop the host's channel for every other session.
    this.watchers = new PaneWatchers((pane, e) => this.log("remote.watcher_error", { host, pane, error: String(e) }));
    this.chart = createActor(
      tmuxChannelMachine.provide({
        actions: {
          openChannel: () => void this.open(),
          noteOpenFailed: (_, { error }) => this.log("remote.control_open_failed", { host, error }),
          abandonChannel: (_, { waitedMs }) => {
            const stderr = this.channel?.stderrTail(300) ?? "";
            this.log("remote.control_open_slow", { host, waitedMs, stderr });
            this.channel?.drop(
              `no answer from tmux within ${waitedMs} ms (a login shell rc file may be blocking)${stderr ? `: ${stderr}` : ""}`,
            );
          },
          askServerPid: () => this.askServerPid(),
          forgetPanes: (_, { was, now }) => {
            this.log("remote.tmux_server_restarted", { host, was, now });
            this.deferred = [];
            this.watchers.loseAll("the remote tmux server restarted");
          },
          announceAttached: () => this.onAttached(),
          noteClosed: (_, { why, attached }) => {
            this.log("remote.control_closed", { host, why, wasAttached: attached });
            this.watchers.each((w) => w.detached(why));
          },
          failAttach: (_, { why }) => this.waiters.rejectAll(new Error(`tmux control mode failed on ${host}: ${why}`)),
          refuseWaiters: () =>
            this.waiters.rejectAll(new Error(opts.host.lastError() ?? `host ${host} rejected the connection`)),
          wakeIfWanted: () => this.wake(),
          shutDown: () => this.end(),
        },
      }),
      {
        input: {
          host,
          openTimeoutMs: opts.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS,
          reopenDelayMs: opts.reopenDelayMs ?? DEFAULT_REOPEN_DELAY_MS,
        },
      },
    );
    // An effect that throws stops the chart (XState): say so, fail whoever waits, let go of the
    // channel. Without an error observer XState rethrows it into the embedder's process.
    this.chart.subscribe({
      error: (e) => {
        try {
          this.log("remote.control_failed", { host, error: String(e) });
        } finally {
          this.end();
        }
      },
    });
    this.chart.start();
    this.chart.send({ type: "HOST.STATUS", status: opts.host.status() });
    this.offStatus = opts.host.onStatus((status) => {
      this.tell({ type: "HOST.STATUS", status });
      if (status === "connected") this.wake();
    });
  }

  /**
   * The chart is attached and its channel still open. The channel is part of it: the chart's actions
   * run before its snapshot changes, so while `noteClosed` tells the watchers of a drop the snapshot
   * still says attached, but the channel is gone already (a watcher's run() then waits for the reattach).
   */
  get attached(): boolean {
    return this.channel !== undefined && this.chart.getSnapshot().matches("attached");
  }

  /** For good (closed, or failed): no more host news, the waiters refused, the channel let go. */
  private end(): void {
    this.offStatus();
    const why = this.endedError();
    this.waiters.rejectAll(why);
    const { channel } = this;
    this.channel = undefined; // its close is no news for a chart that has ended
    channel?.drop(why.message);
  }

  /** Closed, or stopped by an effect that threw: nothing will open again. */
  private get closed(): boolean {
    return this.chart.getSnapshot().status !== "active";
  }

  private endedError(): Error {
    const snap = this.chart.getSnapshot();
    return new Error(
      snap.status === "error"
        ? `tmux control client on ${this.opts.host.name} failed: ${String(snap.error)}`
        : "tmux control client closed",
    );
  }

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

  private send(commands: string[][], onBlock?: (index: number, lines: string[]) => void): Promise<string[][]> {
    // The channel is open (the chart is verifying or attached: run() waits for attached). Not read
    // from the chart's snapshot: its entry actions send, and run before the snapshot changes.
    if (!this.channel) return Promise.reject(new Error("tmux control client is not attached"));
    return this.channel.send(commands, onBlock);
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

  /** An event for the chart while it runs: a channel's late news after close() reaches nobody. */
  private tell(e: TmuxChannelEvent): void {
    if (!this.closed) this.chart.send(e);
  }

  /** The host answers and the control client is on its way (its own open timeout bounds it). */
  private attaching(): boolean {
    const snap = this.chart.getSnapshot();
    return this.opts.host.status() === "connected" && (snap.matches("opening") || snap.matches("verifying"));
  }

  /** Anything that needs the channel: the chart opens it if the host is up and it is not open. */
  private wake(): void {
    if (this.watchers.size > 0 || this.waiters.size > 0 || this.deferred.length > 0) this.tell({ type: "WAKE" });
  }

  /** The chart's `openChannel`: the ssh channel running `tmux -C`. */
  private async open(): Promise<void> {
    const { program, socketName } = this.opts;
    let stream: SshStream;
    try {
      stream = await this.opts.host.openStream(controlClientCommand(program, socketName, this.hub));
    } catch (e) {
      this.tell({ type: "CHANNEL.OPEN_FAILED", error: String((e as Error).message) });
      return;
    }
    if (this.closed) return stream.close();
    const opts = {
      host: this.opts.host.name,
      commandTimeoutMs: this.opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      log: this.log,
    };
    const channel: ControlChannel = new ControlChannel(stream, opts, {
      ready: () => this.tell({ type: "CHANNEL.READY" }),
      notify: (e) =>
        e.name === "%pane-mode-changed"
          ? this.log("remote.pane_mode_changed", { host: this.opts.host.name, pane: e.args })
          : this.watchers.notify(e),
      wants: (pane) => this.watchers.has(pane),
      output: (pane, data) => this.watchers.output(pane, data),
      closed: (why) => {
        if (this.channel !== channel) return;
        this.channel = undefined;
        this.tell({ type: "CHANNEL.CLOSED", why });
      },
    });
    this.channel = channel;
    this.tell({ type: "CHANNEL.OPENED" });
  }

  /** The chart's `askServerPid`: a restarted server reuses pane and window ids (the chart compares). */
  private askServerPid(): void {
    this.log("remote.stream_mode", {
      host: this.opts.host.name,
      mode: "control",
      hub: this.hub,
      socket: this.opts.socketName,
    });
    void this.send([["display-message", "-p", "#{pid}"]])
      .catch(() => [[]])
      .then(([[pid = ""] = []]) => this.tell({ type: "SERVER.PID", pid }));
  }

  /** The chart's `announceAttached`. */
  private onAttached(): void {
    const host = this.opts.host.name;
    // run-shell/if-shell from this client use the hub's default-shell: /bin/sh, not the user's
    // shell, whose rc files (conda, pyenv, nvm) would run for every signal we send.
    void this.send([["set-option", "-t", `=${this.hub}:`, "default-shell", "/bin/sh"]]).catch(() => undefined);
    void this.send([
      ["refresh-client", "-B", `${DEAD_SUBSCRIPTION}:%*:#{pane_dead} #{pane_dead_status} #{pane_dead_signal}`],
    ]).catch((e) => this.log("remote.subscribe_failed", { host, error: String(e.message) }));
    // Before any create: who we are now, and what the server does once we are gone for good.
    void this.send(this.orphanHook.commands()).catch((e) =>
      this.log("remote.orphan_watch_failed", { host, error: String(e.message) }),
    );
    for (const cmds of this.deferred.splice(0)) void this.send(cmds).catch(() => undefined);
    // Once the chart's snapshot says attached (entry actions run before it changes): a watcher's
    // resync sends at once instead of waiting for an attach that has already happened.
    queueMicrotask(() => {
      if (this.attached) this.watchers.each((w) => w.attached());
    });
    this.waiters.resolveAll();
  }
}

/** The chart's state as one word for the log (`opening.handshake` → `opening`). */
function stateName(value: unknown): string {
  return typeof value === "string" ? value : (Object.keys(value as object)[0] ?? "");
}
