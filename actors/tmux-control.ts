/**
 * tmux control mode (`tmux -C`): the parser for what a control client prints, and
 * `TmuxControl`, ONE control client per host that every remote session on it shares.
 *
 * A control client only sees the panes of the session it is attached to, so it attaches to a
 * hub session and each agent's window is linked into the hub (`link-window`): one long-lived
 * ssh channel streams every pane's output, and commands go over the same channel's stdin (no
 * ssh exec, no login shell per command). It reattaches by itself after the host reconnects.
 */
import type { SshStream } from "./ssh-host.js";
import { shQuote, tmuxLine } from "./shell-quote.js";

export type ControlEvent =
  | { kind: "output"; pane: string; data: Buffer }
  | { kind: "block"; ok: boolean; lines: string[] }
  | { kind: "exit"; reason: string }
  | { kind: "notify"; name: string; args: string };

/** `%output` escapes bytes below 32 and `\` as `\ooo`; every other byte is sent as is. */
export function decodeOctal(latin1: string): Buffer {
  const out = Buffer.allocUnsafe(latin1.length);
  let n = 0;
  let from = 0;
  // Runs between escapes are copied natively; this is the hot path of every byte of output.
  for (let at = latin1.indexOf("\\"); at >= 0; at = latin1.indexOf("\\", from)) {
    const oct = latin1.slice(at + 1, at + 4);
    if (!/^[0-7]{3}$/.test(oct)) {
      n += out.write(latin1.slice(from, at + 1), n, "latin1");
      from = at + 1;
      continue;
    }
    n += out.write(latin1.slice(from, at), n, "latin1");
    out[n++] = parseInt(oct, 8) & 0xff;
    from = at + 4;
  }
  n += out.write(latin1.slice(from), n, "latin1");
  return out.subarray(0, n);
}

/** Splits the byte stream into lines and lines into events. Notifications never occur inside a block. */
export class ControlParser {
  private rest = Buffer.alloc(0);
  private block: { tag: string; lines: string[] } | null = null;

  push(chunk: Buffer, emit: (e: ControlEvent) => void): void {
    let buf = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    let nl: number;
    while ((nl = buf.indexOf(10)) >= 0) {
      this.line(buf.toString("latin1", 0, nl), emit); // latin1: bytes 1:1, decoded per kind below
      buf = buf.subarray(nl + 1);
    }
    this.rest = Buffer.from(buf);
  }

  private line(line: string, emit: (e: ControlEvent) => void): void {
    if (this.block) {
      const m = /^%(end|error) (\S+ \S+ \S+)$/.exec(line);
      if (m && m[2] === this.block.tag) {
        emit({ kind: "block", ok: m[1] === "end", lines: this.block.lines });
        this.block = null;
      } else this.block.lines.push(Buffer.from(line, "latin1").toString("utf8"));
      return;
    }
    if (line.startsWith("%output ")) {
      const sp = line.indexOf(" ", 8);
      const pane = sp < 0 ? line.slice(8) : line.slice(8, sp);
      emit({ kind: "output", pane, data: sp < 0 ? Buffer.alloc(0) : decodeOctal(line.slice(sp + 1)) });
      return;
    }
    const begin = /^%begin (\S+ \S+ \S+)$/.exec(line);
    if (begin) {
      this.block = { tag: begin[1]!, lines: [] };
      return;
    }
    const text = Buffer.from(line, "latin1").toString("utf8");
    if (text === "%exit" || text.startsWith("%exit ")) emit({ kind: "exit", reason: text.slice(6) });
    else if (text.startsWith("%")) {
      const sp = text.indexOf(" ");
      emit({ kind: "notify", name: sp < 0 ? text : text.slice(0, sp), args: sp < 0 ? "" : text.slice(sp + 1) });
    }
  }
}

/** `%subscription-changed name $s @w idx %pane [future args] : value`. */
export function parseSubscription(args: string): { name: string; window: string; pane: string; value: string } | null {
  const m = /^(\S+) (\S+) (\S+) (\S+) (\S+)(?: (?!:)\S+)* :(?: (.*))?$/.exec(args);
  return m ? { name: m[1]!, window: m[3]!, pane: m[5]!, value: m[6] ?? "" } : null;
}

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
  /** A command that gets no answer within this long resets the channel (default 15 000). */
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
/** Parse at most this long per event-loop turn; pause the channel past INBOX_HIGH bytes queued. */
const SLICE_MS = 4;
const INBOX_HIGH = 1 << 20;

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
      if (s === "rejected") this.failWaiters(new Error(opts.host.lastError() ?? `host ${opts.host.name} rejected the connection`));
    });
  }

  get attached(): boolean {
    return this.state === "attached";
  }

  /** Resolves once attached; rejects when the host refuses us or `timeoutMs` passes. */
  ensure(timeoutMs: number): Promise<void> {
    if (this.state === "attached") return Promise.resolve();
    if (this.state === "closed") return Promise.reject(new Error("tmux control client closed"));
    if (this.opts.host.status() === "rejected") {
      return Promise.reject(new Error(this.opts.host.lastError() ?? `host ${this.opts.host.name} rejected the connection`));
    }
    return new Promise((resolve, reject) => {
      const w = {
        resolve: () => (clearTimeout(timer), resolve()),
        reject: (e: Error) => (clearTimeout(timer), reject(e)),
      };
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`host ${this.opts.host.name} not reachable within ${timeoutMs} ms (${this.opts.host.status()}${this.opts.host.lastError() ? `: ${this.opts.host.lastError()}` : ""})`));
      }, timeoutMs);
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
    if ((this.state !== "attached" && this.state !== "verifying") || !this.stream) return Promise.reject(new Error("tmux control client is not attached"));
    const stream = this.stream;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.log("remote.control_timeout", { host: this.opts.host.name, command: commands[0]?.[0] });
        stream.close(); // the FIFO of answers can no longer be trusted
      }, this.opts.commandTimeoutMs ?? 15_000);
      this.pending.push({ remaining: commands.length, blocks: [], resolve, reject, timer, ...(onBlock ? { onBlock } : {}) });
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

  private wake(): void {
    const wanted = this.watchers.size > 0 || this.waiters.size > 0 || this.deferred.length > 0;
    if (this.state === "idle" && wanted && this.opts.host.status() === "connected") void this.open();
  }

  private async open(): Promise<void> {
    this.state = "opening";
    const { program, socketName } = this.opts;
    // -f /dev/null: a private server must not pick up the user's ~/.tmux.conf hooks and options.
    // The hub's placeholder is an argv (no shell, so no rc files run for it).
    const cmd = [program, "-L", socketName, "-f", "/dev/null", "-C", "new-session", "-A", "-s", this.hub, "tail", "-f", "/dev/null"].map(shQuote).join(" ");
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
      this.log("remote.control_open_slow", { host: this.opts.host.name, waitedMs: openMs, stderr: stderr.trim().slice(-300) });
      stderr = `no answer from tmux within ${openMs} ms (a login shell rc file may be blocking)${stderr.trim() ? `: ${stderr.trim().slice(-300)}` : ""}`;
      stream.close();
    }, openMs);
    stream.onStderr((b) => (stderr = (stderr + b.toString("utf8")).slice(-2000)));
    // A chunk holds many small %output lines (tmux splits output between panes): hand each pane
    // its bytes once per chunk, flushed before any other event so the order is kept.
    const outputs = new Map<string, Buffer[]>();
    const flush = () => {
      for (const [pane, parts] of outputs) this.watchers.get(pane)?.w.output(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
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
    // Work per event-loop turn is bounded: libuv may hand over megabytes in one turn when 20
    // panes print flat out. Past INBOX_HIGH the channel pauses, so ssh flow control slows
    // tmux down instead of the conductor's event loop absorbing it.
    const inbox: Buffer[] = [];
    let queued = 0;
    let paused = false;
    let draining = false;
    const drain = () => {
      const until = performance.now() + SLICE_MS;
      while (inbox.length && performance.now() < until) {
        const chunk = inbox.shift()!;
        queued -= chunk.length;
        handle(chunk);
      }
      if (paused && queued < INBOX_HIGH / 4) (paused = false), stream.resume();
      if (inbox.length) setImmediate(drain);
      else draining = false;
    };
    stream.onData((chunk) => {
      inbox.push(chunk);
      queued += chunk.length;
      if (!paused && queued > INBOX_HIGH) (paused = true), stream.pause();
      if (!draining) (draining = true), setImmediate(drain);
    });
    stream.onClose((info) => {
      clearTimeout(slow);
      for (const chunk of inbox.splice(0)) handle(chunk); // what arrived still counts
      this.onClosed(stream, ready, stderr.trim() || `exit ${info.code ?? info.signal}`);
    });
  }

  private async onAttached(): Promise<void> {
    this.state = "verifying";
    this.log("remote.stream_mode", { host: this.opts.host.name, mode: "control", hub: this.hub, socket: this.opts.socketName });
    // A restarted server reuses pane and window ids: old watchers and deferred kills must not
    // touch whatever now carries their ids.
    const [[pid = ""] = []] = await this.run([["display-message", "-p", "#{pid}"]]).catch(() => [[]]);
    if (this.serverPid !== undefined && pid !== this.serverPid) {
      this.log("remote.tmux_server_restarted", { host: this.opts.host.name, was: this.serverPid, now: pid });
      this.deferred = [];
      for (const [pane, { w }] of [...this.watchers]) (this.watchers.delete(pane), w.lost("the remote tmux server restarted"));
    }
    this.serverPid = pid;
    if (this.state !== "verifying") return; // closed meanwhile
    this.state = "attached";
    // run-shell/if-shell from this client use the hub's default-shell: /bin/sh, not the user's
    // shell, whose rc files (conda, pyenv, nvm) would run for every signal we send.
    void this.run([["set-option", "-t", `=${this.hub}:`, "default-shell", "/bin/sh"]]).catch(() => undefined);
    void this.run([["refresh-client", "-B", `${SUBSCRIPTION}:%*:#{pane_dead} #{pane_dead_status} #{pane_dead_signal}`]]).catch((e) =>
      this.log("remote.subscribe_failed", { host: this.opts.host.name, error: String(e.message) }),
    );
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
      if (!e.ok) return p.reject(new TmuxCommandError(e.lines.join("\n") || "tmux command failed"));
      p.resolve(p.blocks);
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
    if (!wasReady && this.opts.host.status() === "connected") this.failWaiters(new Error(`tmux control mode failed on ${this.opts.host.name}: ${why}`));
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
