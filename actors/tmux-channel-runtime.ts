/**
 * `TmuxChannelRuntime`: the runtime of a host's tmux control channel chart
 * (machines/tmux-channel.machine.ts). It runs the chart, opens the ssh channel running `tmux -C`
 * when the chart asks, checks the server's pid, announces the attach and tells the watchers of a
 * drop. Separate from tmux-hub.ts, whose `TmuxControl` (built on this) is what sessions call:
 * waiting for the channel, running commands, watching panes.
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
import type { TmuxControlOptions } from "./tmux-hub.types.js";

/**
 * tmux never attached while the host answered: not installed, a bad socket, no control mode.
 * `slow`: only given up for taking too long (a blocking rc file), which a later try may not.
 */
export class TmuxStartError extends Error {
  override name = "TmuxStartError";
  constructor(
    message: string,
    readonly slow: boolean,
  ) {
    super(message);
  }
}

/**
 * Answers queue behind %output in tmux's FIFO: under a CPU hog a kill-window after a 95 KB flood went
 * unanswered for 15 s (the old default), and resetting the channel then failed the next spawn. This is
 * a detector of a wedged channel, not a latency target.
 */
const DEFAULT_COMMAND_TIMEOUT_MS = 60_000;
const DEFAULT_OPEN_TIMEOUT_MS = 30_000;
const DEFAULT_REOPEN_DELAY_MS = 1_000;

/** The chart and the handles it drives; TmuxControl (tmux-hub.ts) adds what sessions call. */
export abstract class TmuxChannelRuntime {
  readonly hub: string;
  /** Marks the sessions this client creates: they end if it is gone for good (remote-orphan-watch.ts). */
  readonly owner: string;
  protected readonly orphanHook: OrphanHook;
  /** The channel's lifecycle (machines/tmux-channel.machine.ts); the handles below are this runtime's. */
  protected readonly chart: Actor<TmuxChannelMachine>;
  /** The open channel (from `opening.handshake` until it closes): answers belong to one channel. */
  private channel: ControlChannel | undefined;
  protected readonly waiters = new AttachWaiters();
  protected readonly watchers: PaneWatchers;
  protected deferred: string[][][] = [];
  /** This open was given up for tmux's slowness (a blocking rc file), not refused by tmux. */
  private abandoned = false;
  private readonly offStatus: () => void;
  protected readonly log: NonNullable<TmuxControlOptions["log"]>;

  constructor(protected readonly opts: TmuxControlOptions) {
    this.hub = opts.hubSession ?? "conductor-hub";
    this.orphanHook = new OrphanHook(opts.program, this.hub);
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
            this.abandoned = true;
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
          failAttach: (_, { why }) =>
            this.waiters.rejectAll(new TmuxStartError(`tmux control mode failed on ${host}: ${why}`, this.abandoned)),
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
  protected get closed(): boolean {
    return this.chart.getSnapshot().status !== "active";
  }

  protected endedError(): Error {
    const snap = this.chart.getSnapshot();
    return new Error(
      snap.status === "error"
        ? `tmux control client on ${this.opts.host.name} failed: ${String(snap.error)}`
        : "tmux control client closed",
    );
  }

  protected send(commands: string[][], onBlock?: (index: number, lines: string[]) => void): Promise<string[][]> {
    // The channel is open (the chart is verifying or attached: run() waits for attached). Not read
    // from the chart's snapshot: its entry actions send, and run before the snapshot changes.
    if (!this.channel) return Promise.reject(new Error("tmux control client is not attached"));
    return this.channel.send(commands, onBlock);
  }

  /** An event for the chart while it runs: a channel's late news after close() reaches nobody. */
  protected tell(e: TmuxChannelEvent): void {
    if (!this.closed) this.chart.send(e);
  }

  /** Anything that needs the channel: the chart opens it if the host is up and it is not open. */
  protected wake(): void {
    if (this.watchers.size > 0 || this.waiters.size > 0 || this.deferred.length > 0) this.tell({ type: "WAKE" });
  }

  /** The chart's `openChannel`: the ssh channel running `tmux -C`. */
  private async open(): Promise<void> {
    this.abandoned = false;
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
