/**
 * `TmuxControl`: ONE tmux control client (`tmux -C`) per host that every remote session on it
 * shares. What it prints is parsed by tmux-control.ts.
 *
 * A control client only sees the panes of the session it is attached to, so it attaches to a
 * hub session and each agent's window is linked into the hub (`link-window`): one long-lived
 * ssh channel streams every pane's output, and commands go over the same channel's stdin (no
 * ssh exec, no login shell per command). It reattaches by itself after the host reconnects.
 */
import type { SshStream } from "./ssh-host.js";
import { DEFAULT_ORPHAN_GRACE_MS, newOwner, thisConductor, watchCommands } from "./remote-orphan-watch.js";
import { AttachWaiters } from "./tmux-attach-wait.js";
import { CommandFifo } from "./tmux-commands.js";
import { type ControlEvent, controlClientCommand, parseSubscription, readControl } from "./tmux-control.js";
import type { PaneWatcher, TmuxControlOptions } from "./tmux-hub.types.js";

export { ChannelResetError, TmuxCommandError } from "./tmux-commands.js";
export type { ControlHost, PaneWatcher, TmuxControlOptions } from "./tmux-hub.types.js";

const SUBSCRIPTION = "conductor-dead";
/**
 * Answers queue behind %output in tmux's FIFO: under a CPU hog a kill-window after a 95 KB flood went
 * unanswered for 15 s (the old default), and resetting the channel then failed the next spawn. This is
 * a detector of a wedged channel, not a latency target.
 */
const DEFAULT_COMMAND_TIMEOUT_MS = 60_000;
const DEFAULT_REATTACH_TIMEOUT_MS = 60_000;

/** A line not sent because its caller gave up while it waited for the channel. */
export class CancelledError extends Error {
  override name = "CancelledError";
}

export class TmuxControl {
  readonly hub: string;
  /** Marks the sessions this client creates: they end if it is gone for good (remote-orphan-watch.ts). */
  readonly owner = newOwner();
  /** The longest `hostDownTimeoutMs` of the sessions it created: the remote side waits as long for us. */
  private orphanGraceMs: number | undefined;
  private stream: SshStream | undefined;
  /** `verifying`: attached, checking whether the tmux server is the one we knew. */
  private state: "idle" | "opening" | "verifying" | "attached" | "closed" = "idle";
  /** The current channel's commands in flight (answers belong to one channel). */
  private fifo: CommandFifo | undefined;
  private readonly waiters = new AttachWaiters();
  private watchers = new Map<string, { window: string; w: PaneWatcher }>();
  private deferred: string[][][] = [];
  private reopenTimer: NodeJS.Timeout | undefined;
  private serverPid: string | undefined;
  /** A block of flags 1 was seen: this tmux marks its answers to our lines (ControlParser `fromClient`). */
  private clientFlagSeen = false;
  private readonly offStatus: () => void;
  private readonly log: NonNullable<TmuxControlOptions["log"]>;

  constructor(private readonly opts: TmuxControlOptions) {
    this.hub = opts.hubSession ?? "conductor-hub";
    this.log = opts.log ?? (() => {});
    this.offStatus = opts.host.onStatus((s) => {
      if (s === "connected") this.wake();
      if (s === "rejected")
        this.waiters.rejectAll(new Error(opts.host.lastError() ?? `host ${opts.host.name} rejected the connection`));
    });
  }

  get attached(): boolean {
    return this.state === "attached";
  }

  /**
   * Resolves once attached; rejects when the host refuses us, tmux fails, or the host stays
   * unreachable for `timeoutMs` (extended while an attach is under way: tmux-attach-wait.ts).
   */
  ensure(timeoutMs: number): Promise<void> {
    if (this.state === "attached") return Promise.resolve();
    if (this.state === "closed") return Promise.reject(new Error("tmux control client closed"));
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
    if (this.state !== "attached") await this.whenBack(commands);
    // Waited for the channel: a line its caller gave up on meanwhile (a spawn killed) is not sent.
    if (cancelled?.aborted) throw new CancelledError(`"${commands[0]?.[0]}" not sent: cancelled while it waited`);
    return this.send(commands, onBlock);
  }

  /** Waits for the channel after a reset or a drop; the error says which command gave up and why. */
  private async whenBack(commands: string[][]): Promise<void> {
    if (this.state === "closed") throw new Error("tmux control client closed");
    const ms = this.opts.reattachTimeoutMs ?? DEFAULT_REATTACH_TIMEOUT_MS;
    this.log("remote.control_wait", { host: this.opts.host.name, command: commands[0]?.[0], state: this.state });
    try {
      await this.ensure(ms);
    } catch (e) {
      throw new Error(
        `tmux control channel on ${this.opts.host.name} did not come back within ${ms} ms for "${commands[0]?.[0]}": ${(e as Error).message}`,
      );
    }
  }

  private send(commands: string[][], onBlock?: (index: number, lines: string[]) => void): Promise<string[][]> {
    const { stream, fifo } = this;
    if ((this.state !== "attached" && this.state !== "verifying") || !stream || !fifo)
      return Promise.reject(new Error("tmux control client is not attached"));
    return fifo.send((line) => stream.write(line), commands, onBlock);
  }

  /** Cleanup that must happen even if the host is down now: runs at once, or at the next attach. */
  later(commands: string[][]): void {
    if (this.state === "attached") void this.run(commands).catch(() => undefined);
    else this.deferred.push(commands);
  }

  /** A session that waits this long for a lost host: its agent must not be ended sooner by the hook. */
  coverHostDown(ms: number): void {
    if (this.orphanGraceMs !== undefined && ms <= this.orphanGraceMs) return;
    this.orphanGraceMs = ms;
    if (this.state === "attached") void this.send(this.orphanWatch()).catch(() => undefined);
  }

  private orphanWatch(): string[][] {
    return watchCommands({
      owner: this.owner,
      proc: thisConductor(),
      program: this.opts.program,
      graceMs: this.orphanGraceMs ?? DEFAULT_ORPHAN_GRACE_MS,
    });
  }

  watch(pane: string, window: string, w: PaneWatcher): () => void {
    this.watchers.set(pane, { window, w });
    return () => {
      if (this.watchers.get(pane)?.w === w) this.watchers.delete(pane);
    };
  }

  close(): void {
    this.state = "closed";
    clearTimeout(this.reopenTimer);
    this.offStatus();
    this.waiters.rejectAll(new Error("tmux control client closed"));
    this.stream?.close();
  }

  /** The host answers and the control client is on its way (its own open timeout bounds it). */
  private attaching(): boolean {
    return this.opts.host.status() === "connected" && (this.state === "opening" || this.state === "verifying");
  }

  private wake(): void {
    const wanted = this.watchers.size > 0 || this.waiters.size > 0 || this.deferred.length > 0;
    if (this.state === "idle" && wanted && this.opts.host.status() === "connected") void this.open();
  }

  private async open(): Promise<void> {
    this.state = "opening";
    const { program, socketName } = this.opts;
    const cmd = controlClientCommand(program, socketName, this.hub);
    let stream: SshStream;
    try {
      stream = await this.opts.host.openStream(cmd);
    } catch (e) {
      this.state = "idle";
      this.log("remote.control_open_failed", { host: this.opts.host.name, error: String((e as Error).message) });
      this.scheduleReopen();
      return;
    }
    if ((this.state as string) === "closed") return stream.close();
    this.stream = stream;
    const host = this.opts.host.name;
    this.fifo = new CommandFifo(this.opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS, {
      // Said before the timeout, so a wedged channel is visible while it is wedged.
      slow: (r) => this.log("remote.control_slow", { host, ...r }),
      timedOut: (r) => {
        this.log("remote.control_timeout", { host, ...r });
        // The FIFO of answers can no longer be trusted: whatever this channel still says is ignored,
        // the commands in flight fail now (ChannelResetError), and a new channel is opened.
        drop(`no answer to "${r.command}" from ${host} within ${r.waitedMs} ms`);
      },
    });
    let stderr = "";
    let ready = false;
    // Given up on from our side: closed now, whatever it still says is ignored. sshd confirms the
    // close only once the remote client exits, which a wedged tmux server may never let it do.
    const drop = (why: string) => {
      clearTimeout(slow);
      this.onClosed(stream, ready, why);
      stream.close();
    };
    // The exec goes through the user's login shell: a blocking rc file (a stale lock, a prompt)
    // would hold the attach forever. Give up, say why, and let the sessions' wait decide.
    const openMs = this.opts.openTimeoutMs ?? 30_000;
    const slow = setTimeout(() => {
      this.log("remote.control_open_slow", {
        host: this.opts.host.name,
        waitedMs: openMs,
        stderr: stderr.trim().slice(-300),
      });
      drop(
        `no answer from tmux within ${openMs} ms (a login shell rc file may be blocking)${stderr.trim() ? `: ${stderr.trim().slice(-300)}` : ""}`,
      );
    }, openMs);
    stream.onStderr((b) => {
      stderr = (stderr + b.toString("utf8")).slice(-2000);
    });
    const current = () => this.stream === stream;
    const handOverQueued = readControl(stream, {
      wants: (pane) => ready && current() && this.watchers.has(pane),
      output: (pane, data) => this.watchers.get(pane)?.w.output(data),
      event: (e) => {
        if (!current()) return;
        if (!ready && (e.kind === "block" || (e.kind === "notify" && e.name === "%session-changed"))) {
          ready = true;
          clearTimeout(slow);
          void this.onAttached();
        } else if (ready) this.onEvent(e);
      },
    });
    stream.onClose((info) => {
      clearTimeout(slow);
      handOverQueued(); // what arrived still counts
      this.onClosed(stream, ready, stderr.trim() || `exit ${info.code ?? info.signal}`);
    });
  }

  private async onAttached(): Promise<void> {
    this.state = "verifying";
    this.log("remote.stream_mode", {
      host: this.opts.host.name,
      mode: "control",
      hub: this.hub,
      socket: this.opts.socketName,
    });
    // A restarted server reuses pane and window ids: old watchers and deferred kills must not
    // touch whatever now carries their ids.
    const [[pid = ""] = []] = await this.send([["display-message", "-p", "#{pid}"]]).catch(() => [[]]);
    if (this.serverPid !== undefined && pid !== this.serverPid) {
      this.log("remote.tmux_server_restarted", { host: this.opts.host.name, was: this.serverPid, now: pid });
      this.deferred = [];
      for (const [pane, { w }] of [...this.watchers]) {
        this.watchers.delete(pane);
        w.lost("the remote tmux server restarted");
      }
    }
    this.serverPid = pid;
    if (this.state !== "verifying") return; // closed meanwhile
    this.state = "attached";
    // run-shell/if-shell from this client use the hub's default-shell: /bin/sh, not the user's
    // shell, whose rc files (conda, pyenv, nvm) would run for every signal we send.
    void this.send([["set-option", "-t", `=${this.hub}:`, "default-shell", "/bin/sh"]]).catch(() => undefined);
    void this.send([
      ["refresh-client", "-B", `${SUBSCRIPTION}:%*:#{pane_dead} #{pane_dead_status} #{pane_dead_signal}`],
    ]).catch((e) => this.log("remote.subscribe_failed", { host: this.opts.host.name, error: String(e.message) }));
    // Before any create: who we are now, and what the server does once we are gone for good.
    void this.send(this.orphanWatch()).catch((e) =>
      this.log("remote.orphan_watch_failed", { host: this.opts.host.name, error: String(e.message) }),
    );
    for (const cmds of this.deferred.splice(0)) void this.send(cmds).catch(() => undefined);
    for (const { w } of [...this.watchers.values()]) w.attached();
    this.waiters.resolveAll();
  }

  private onEvent(e: ControlEvent): void {
    // Only our own lines' answers: a deferred `if-shell -b` command (the resync's ack) answers too, and
    // taken as the oldest line's answer it shifted every later answer by one (agents' panes killed).
    // A tmux that never sets the flag (none seen) is answered as before.
    if (e.kind === "block") {
      this.clientFlagSeen ||= e.fromClient;
      if (e.fromClient || !this.clientFlagSeen) this.fifo?.answer(e.ok, e.lines);
    } else if (e.kind === "notify" && e.name === "%subscription-changed") {
      const s = parseSubscription(e.args);
      if (s?.name === SUBSCRIPTION) this.watchers.get(s.pane)?.w.paneState(s.value);
    } else if (e.kind === "notify" && /^%(window-close|unlinked-window-close|layout-change)$/.test(e.name)) {
      const window = e.args.split(" ")[0];
      for (const x of [...this.watchers.values()]) if (x.window === window) x.w.windowChanged();
    } else if (e.kind === "notify" && e.name === "%sessions-changed") {
      for (const { w } of [...this.watchers.values()]) w.sessionsChanged();
    } else if (e.kind === "notify" && e.name === "%pane-mode-changed") {
      this.log("remote.pane_mode_changed", { host: this.opts.host.name, pane: e.args });
    }
  }

  private onClosed(stream: SshStream, wasReady: boolean, why: string): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    this.fifo?.reset(why);
    this.fifo = undefined;
    if (this.state === "closed") return;
    this.state = "idle";
    this.log("remote.control_closed", { host: this.opts.host.name, why, wasAttached: wasReady });
    // Never attached and the host is fine: tmux itself failed (not installed, bad socket): say so.
    if (!wasReady && this.opts.host.status() === "connected")
      this.waiters.rejectAll(new Error(`tmux control mode failed on ${this.opts.host.name}: ${why}`));
    for (const { w } of [...this.watchers.values()]) w.detached(why);
    this.scheduleReopen();
  }

  private scheduleReopen(): void {
    clearTimeout(this.reopenTimer);
    if (this.state !== "idle") return;
    this.reopenTimer = setTimeout(() => this.wake(), this.opts.reopenDelayMs ?? 1000);
  }
}
