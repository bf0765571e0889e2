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
import { shQuote, tmuxLine } from "./shell-quote.js";
import { type ControlEvent, ControlParser, parseSubscription, readPaced } from "./tmux-control.js";

export class TmuxCommandError extends Error {
  override name = "TmuxCommandError";
}

/** What a remote session hears from the shared control client. */
export interface PaneWatcher {
  output(data: Buffer): void;
  /** `#{pane_dead} #{pane_dead_status} #{pane_dead_signal}` changed (tmux checks once a second). */
  paneState(value: string): void;
  /** The pane's window closed, left the hub or changed layout (a pane of it may be gone). */
  windowChanged(): void;
  /** The control client (re)attached after a drop: time to resync. */
  attached(): void;
  detached(why: string): void;
  /** The tmux server restarted while we were away: the pane is gone and its ids mean nothing now. */
  lost(why: string): void;
}

export interface ControlHost {
  readonly name: string;
  status(): string;
  lastError(): string | null;
  onStatus(fn: (status: string) => void): () => void;
  openStream(command: string): Promise<SshStream>;
}

export interface TmuxControlOptions {
  host: ControlHost;
  /** `tmux`, or `psmux` (which speaks the same commands). */
  program: string;
  socketName: string;
  hubSession?: string;
  /** A command that gets no answer within this long resets the channel (default 60 000). */
  commandTimeoutMs?: number;
  /** The control client must attach within this long (default 30 000). */
  openTimeoutMs?: number;
  reopenDelayMs?: number;
  log?: (event: string, data: Record<string, unknown>) => void;
}

interface Pending {
  remaining: number;
  blocks: string[][];
  resolve: (blocks: string[][]) => void;
  reject: (e: Error) => void;
  onBlock?: (index: number, lines: string[]) => void;
  timer: NodeJS.Timeout;
}

const SUBSCRIPTION = "conductor-dead";
/**
 * Answers queue behind %output in tmux's FIFO: under a CPU hog a kill-window after a 95 KB flood went
 * unanswered for 15 s (the old default), and resetting the channel then failed the next spawn. This is
 * a detector of a wedged channel, not a latency target.
 */
const DEFAULT_COMMAND_TIMEOUT_MS = 60_000;

export class TmuxControl {
  readonly hub: string;
  private stream: SshStream | undefined;
  /** `verifying`: attached, checking whether the tmux server is the one we knew. */
  private state: "idle" | "opening" | "verifying" | "attached" | "closed" = "idle";
  private pending: Pending[] = [];
  private waiters = new Set<{ resolve: () => void; reject: (e: Error) => void }>();
  private watchers = new Map<string, { window: string; w: PaneWatcher }>();
  private deferred: string[][][] = [];
  private reopenTimer: NodeJS.Timeout | undefined;
  private serverPid: string | undefined;
  private readonly offStatus: () => void;
  private readonly log: NonNullable<TmuxControlOptions["log"]>;

  constructor(private readonly opts: TmuxControlOptions) {
    this.hub = opts.hubSession ?? "conductor-hub";
    this.log = opts.log ?? (() => {});
    this.offStatus = opts.host.onStatus((s) => {
      if (s === "connected") this.wake();
      if (s === "rejected")
        this.failWaiters(new Error(opts.host.lastError() ?? `host ${opts.host.name} rejected the connection`));
    });
  }

  get attached(): boolean {
    return this.state === "attached";
  }

  /**
   * Resolves once attached; rejects when the host refuses us, tmux fails, or the host stays
   * unreachable for `timeoutMs`. Time spent attaching to a host that answers is not "unreachable":
   * the exec runs the user's shell rc files (pyenv/conda init can take seconds), and `openTimeoutMs`
   * already bounds a blocking one.
   */
  ensure(timeoutMs: number): Promise<void> {
    if (this.state === "attached") return Promise.resolve();
    if (this.state === "closed") return Promise.reject(new Error("tmux control client closed"));
    if (this.opts.host.status() === "rejected") {
      return Promise.reject(
        new Error(this.opts.host.lastError() ?? `host ${this.opts.host.name} rejected the connection`),
      );
    }
    return new Promise((resolve, reject) => {
      const w = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const expire = () => {
        if (this.attaching()) {
          timer = setTimeout(expire, timeoutMs);
          return;
        }
        this.waiters.delete(w);
        const { host } = this.opts;
        const why = `${host.status()}${host.lastError() ? `: ${host.lastError()}` : ""}`;
        reject(new Error(`host ${host.name} not reachable within ${timeoutMs} ms (${why})`));
      };
      let timer = setTimeout(expire, timeoutMs);
      this.waiters.add(w);
      this.wake();
    });
  }

  /**
   * Runs commands as one line (tmux runs it before handling any child exit); resolves with one
   * block of lines per command. `onBlock` runs synchronously as each answer is parsed, so a
   * watcher registered there sees the very next %output (which may come before the next block).
   */
  run(commands: string[][], onBlock?: (index: number, lines: string[]) => void): Promise<string[][]> {
    if ((this.state !== "attached" && this.state !== "verifying") || !this.stream)
      return Promise.reject(new Error("tmux control client is not attached"));
    const stream = this.stream;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.log("remote.control_timeout", { host: this.opts.host.name, command: commands[0]?.[0] });
        stream.close(); // the FIFO of answers can no longer be trusted
      }, this.opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS);
      this.pending.push({
        remaining: commands.length,
        blocks: [],
        resolve,
        reject,
        timer,
        ...(onBlock ? { onBlock } : {}),
      });
      stream.write(`${tmuxLine(commands)}\n`);
    });
  }

  /** Cleanup that must happen even if the host is down now: runs at once, or at the next attach. */
  later(commands: string[][]): void {
    if (this.state === "attached") void this.run(commands).catch(() => undefined);
    else this.deferred.push(commands);
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
    this.failWaiters(new Error("tmux control client closed"));
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
    // -f /dev/null: a private server must not pick up the user's ~/.tmux.conf hooks and options.
    // The hub's placeholder is an argv (no shell, so no rc files run for it).
    const cmd = [
      program,
      "-L",
      socketName,
      "-f",
      "/dev/null",
      "-C",
      "new-session",
      "-A",
      "-s",
      this.hub,
      "tail",
      "-f",
      "/dev/null",
    ]
      .map(shQuote)
      .join(" ");
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
    let stderr = "";
    let ready = false;
    // The exec goes through the user's login shell: a blocking rc file (a stale lock, a prompt)
    // would hold the attach forever. Give up, say why, and let the sessions' wait decide.
    const openMs = this.opts.openTimeoutMs ?? 30_000;
    const slow = setTimeout(() => {
      this.log("remote.control_open_slow", {
        host: this.opts.host.name,
        waitedMs: openMs,
        stderr: stderr.trim().slice(-300),
      });
      stderr = `no answer from tmux within ${openMs} ms (a login shell rc file may be blocking)${stderr.trim() ? `: ${stderr.trim().slice(-300)}` : ""}`;
      stream.close();
    }, openMs);
    stream.onStderr((b) => (stderr = (stderr + b.toString("utf8")).slice(-2000)));
    // A chunk holds many small %output lines (tmux splits output between panes): hand each pane
    // its bytes once per chunk, flushed before any other event so the order is kept.
    const outputs = new Map<string, Buffer[]>();
    const flush = () => {
      for (const [pane, parts] of outputs) {
        const [only] = parts;
        this.watchers.get(pane)?.w.output(parts.length === 1 && only ? only : Buffer.concat(parts));
      }
      outputs.clear();
    };
    const parser = new ControlParser(); // per stream: a dropped one may end mid-line
    const handle = (chunk: Buffer) => {
      parser.push(chunk, (e) => {
        if (ready && e.kind === "output") {
          const parts = outputs.get(e.pane);
          if (parts) parts.push(e.data);
          else if (this.watchers.has(e.pane)) outputs.set(e.pane, [e.data]);
          return;
        }
        flush();
        if (!ready && (e.kind === "block" || (e.kind === "notify" && e.name === "%session-changed"))) {
          ready = true;
          clearTimeout(slow);
          void this.onAttached();
        } else if (ready) this.onEvent(e);
      });
      flush();
    };
    const handOverQueued = readPaced(stream, handle);
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
    const [[pid = ""] = []] = await this.run([["display-message", "-p", "#{pid}"]]).catch(() => [[]]);
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
    void this.run([["set-option", "-t", `=${this.hub}:`, "default-shell", "/bin/sh"]]).catch(() => undefined);
    void this.run([
      ["refresh-client", "-B", `${SUBSCRIPTION}:%*:#{pane_dead} #{pane_dead_status} #{pane_dead_signal}`],
    ]).catch((e) => this.log("remote.subscribe_failed", { host: this.opts.host.name, error: String(e.message) }));
    for (const cmds of this.deferred.splice(0)) void this.run(cmds).catch(() => undefined);
    for (const { w } of [...this.watchers.values()]) w.attached();
    for (const w of [...this.waiters]) w.resolve();
    this.waiters.clear();
  }

  private onEvent(e: ControlEvent): void {
    if (e.kind === "block") {
      const p = this.pending[0];
      if (!p) return;
      p.blocks.push(e.lines);
      if (e.ok) p.onBlock?.(p.blocks.length - 1, e.lines);
      if (e.ok && --p.remaining > 0) return;
      this.pending.shift();
      clearTimeout(p.timer);
      if (e.ok) p.resolve(p.blocks);
      else p.reject(new TmuxCommandError(e.lines.join("\n") || "tmux command failed"));
      return;
    }
    if (e.kind === "notify" && e.name === "%subscription-changed") {
      const s = parseSubscription(e.args);
      if (s?.name === SUBSCRIPTION) this.watchers.get(s.pane)?.w.paneState(s.value);
    } else if (e.kind === "notify" && /^%(window-close|unlinked-window-close|layout-change)$/.test(e.name)) {
      const window = e.args.split(" ")[0];
      for (const x of [...this.watchers.values()]) if (x.window === window) x.w.windowChanged();
    } else if (e.kind === "notify" && e.name === "%pane-mode-changed") {
      this.log("remote.pane_mode_changed", { host: this.opts.host.name, pane: e.args });
    }
  }

  private onClosed(stream: SshStream, wasReady: boolean, why: string): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(new Error(`tmux control channel closed (${why})`));
    }
    if (this.state === "closed") return;
    this.state = "idle";
    this.log("remote.control_closed", { host: this.opts.host.name, why, wasAttached: wasReady });
    // Never attached and the host is fine: tmux itself failed (not installed, bad socket): say so.
    if (!wasReady && this.opts.host.status() === "connected")
      this.failWaiters(new Error(`tmux control mode failed on ${this.opts.host.name}: ${why}`));
    for (const { w } of [...this.watchers.values()]) w.detached(why);
    this.scheduleReopen();
  }

  private scheduleReopen(): void {
    clearTimeout(this.reopenTimer);
    if (this.state !== "idle") return;
    this.reopenTimer = setTimeout(() => this.wake(), this.opts.reopenDelayMs ?? 1000);
  }

  private failWaiters(e: Error): void {
    for (const w of [...this.waiters]) w.reject(e);
    this.waiters.clear();
  }
}
