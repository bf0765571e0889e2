/**
 * The remote child: one run of an agent in a tmux session on another host, speaking exactly
 * the pty actor's ChildEvent/ChildCommand contract, so the session statechart does not know
 * the difference. Output streams through the host's shared tmux control client (no polling);
 * a completion token counts at any point of the stream; a host that drops is waited for
 * (`hostDownTimeoutMs`) before the run is given up.
 */
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { dirname } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { fromCallback } from "xstate";
import type { ChildCommand, ChildEvent, FailureMode, PtyProcessInput } from "../machines/session.types.js";
import { makeNonce, MarkerScanner, shimArgs, signalName, statusToExit } from "./pty-shim.js";
import { ScreenTail, stripAnsi } from "./screen-tail.js";
import { checkSessionName, checkSocketName, checkTarget, exactSession, tmuxLine } from "./shell-quote.js";
import type { SshHost } from "./ssh-host.js";
import { type PaneWatcher, TmuxControl } from "./tmux-control.js";

export const DEFAULT_COMPLETION_TOKEN = "__TRIFLUX_DONE__";

export interface RemoteSpec {
  /** Host alias from the hosts file. */
  host: string;
  /** tmux session to create (default: the session id), or to attach to. */
  sessionName?: string;
  /** With `attach`: the pane to watch (`name:0.1`, `%12`); default the session's active pane. */
  paneTarget?: string;
  /** Watch an existing session instead of creating one; it is never killed. */
  attach?: boolean;
  completionToken?: string;
  hostDownTimeoutMs?: number;
  /** `tmux -L <socket>` (default: deps.socketName, "conductor"). */
  socketName?: string;
}

export type RemoteChildInput = PtyProcessInput & { remote: RemoteSpec };

export interface RemoteSessionDeps {
  hosts: { get(name: string): SshHost };
  log?: (event: string, data: Record<string, unknown>) => void;
  socketName?: string;
  hubSession?: string;
  completionToken?: string;
  hostDownTimeoutMs?: number;
  /** Attached panes (no exit shim): output quiet this long → ask tmux whether the pane died (default 150 ms). */
  exitCheckMs?: number;
  /** Ending a pane we created that still runs: SIGTERM, this long, then SIGKILL and kill-window (default 2 000 ms). */
  stopGraceMs?: number;
  /** For inputs without `remote` (the session machine builds plain PtyProcessInput): the facade knows. */
  resolveRemote?: (input: PtyProcessInput) => RemoteSpec | undefined;
  /** Shutdown waits for background cleanup (like the reaper's `track`). */
  track?: (work: Promise<unknown>) => void;
}

type Runner = (args: {
  input: PtyProcessInput & { remote?: RemoteSpec };
  sendBack: (e: ChildEvent) => void;
  receive: (fn: (cmd: ChildCommand) => void) => void;
}) => () => void;

/** Call `close()` at shutdown, before closing the hosts: detaches, drops a hub only we used. */
export type RemoteChildRunner = Runner & { close(): Promise<void> };

export function createRemoteChildRunner(deps: RemoteSessionDeps): RemoteChildRunner {
  const controls = new Map<string, TmuxControl>();
  const controlFor = (host: SshHost, socketName: string) => {
    const key = `${host.name}\0${socketName}`;
    let ctl = controls.get(key);
    if (!ctl) {
      const program = host.config.multiplexer === "psmux" ? "psmux" : "tmux";
      ctl = new TmuxControl({ host, program, socketName, ...(deps.hubSession ? { hubSession: deps.hubSession } : {}), ...(deps.log ? { log: deps.log } : {}) });
      controls.set(key, ctl);
    }
    return ctl;
  };
  const runner: Runner = ({ input, sendBack, receive }) => {
    const run = new RemoteRun(deps, input, sendBack, controlFor);
    receive((cmd) => run.command(cmd));
    void run.start();
    return () => run.stop();
  };
  const close = async () => {
    await Promise.all(
      [...controls.values()].map(async (ctl) => {
        const hub = exactSession(ctl.hub);
        const [[clients] = []] = ctl.attached ? await ctl.run([["display-message", "-p", "-t", hub, "#{session_attached}"]]).catch(() => [[]]) : [[]];
        if (clients === "1") await ctl.run([["kill-session", "-t", hub]]).catch(() => undefined);
        ctl.close();
      }),
    );
    controls.clear();
  };
  return Object.assign(runner, { close });
}

/**
 * The runner as XState logic. Its input may lack `remote` (the session machine builds plain
 * PtyProcessInput): then `deps.resolveRemote` supplies it, so it drops in as `ptyProcess`.
 */
export function createRemoteSessionLogic(deps: RemoteSessionDeps) {
  const runner = createRemoteChildRunner(deps);
  const logic = fromCallback<ChildCommand, PtyProcessInput & { remote?: RemoteSpec }>(({ input, sendBack, receive }) => runner({ input, sendBack, receive }));
  return Object.assign(logic, { close: runner.close });
}

interface Pane {
  id: string;
  window: string;
  /** The pane's first process; tmux makes it a process group leader. */
  pid: number;
}

/** Finds a token in a stream cut into arbitrary chunks. */
class TokenScanner {
  private carry = "";
  constructor(private readonly token: string) {}
  push(text: string): boolean {
    const hay = this.carry + text;
    this.carry = hay.slice(-(this.token.length + 64));
    // Stripping escapes is the slow part: only when one could be hiding the token.
    return hay.includes(this.token) || (hay.includes("\x1b") && stripAnsi(hay).includes(this.token));
  }
}

/** `#{pane_dead} #{pane_dead_status} #{pane_dead_signal}` → exit, or null while alive. */
export function parseDeadState(value: string): { exitCode: number | null; signal: string | null } | null {
  const [dead, status, sig] = value.replace(/[\r\n]+$/, "").split(" "); // positional: empty fields count
  if (dead !== "1") return null;
  if (sig && /^\d+$/.test(sig) && sig !== "0") return { exitCode: null, signal: signalName(Number(sig)) ?? `SIG${sig}` };
  return { exitCode: status && /^\d+$/.test(status) ? Number(status) : null, signal: null };
}

/**
 * One screen render at a time across all remote sessions. xterm parses in ~12 ms slices; 20
 * terminals fed at once run their slices back to back and hold the event loop for 100+ ms.
 */
let renderChain: Promise<void> = Promise.resolve();

type Exit = { exitCode: number | null; signal: string | null; reason?: string; failureMode?: FailureMode };
const GONE: Exit = { exitCode: null, signal: null, reason: "remote_pane_gone" };

class RemoteRun implements PaneWatcher {
  private readonly gen: number;
  private readonly remote: RemoteSpec | undefined;
  private readonly log: NonNullable<RemoteSessionDeps["log"]>;
  private readonly screen: ScreenTail;
  private readonly decoder = new StringDecoder("utf8");
  /** Sessions we create run the agent behind the pty actor's exit shim (see createPane). */
  private readonly nonce = makeNonce();
  private shim: MarkerScanner | undefined;
  private token: TokenScanner | undefined;
  private ctl: TmuxControl | undefined;
  private pane: Pane | undefined;
  private creating: Promise<Pane> | undefined;
  private created = false;
  private sessionName = "";
  private socket = "";
  private unwatch = () => {};
  private out: WriteStream | undefined;
  private err: WriteStream | undefined;
  private logParts: Buffer[] = [];
  private renderPending: Buffer[] = [];
  private bytes = 0;
  private emittedBytes = 0;
  private lastByteAt = 0;
  private lastEmitAt = -Infinity;
  private lastRender: Promise<void> = Promise.resolve();
  private emitting: Promise<void> | undefined;
  private timers: Partial<Record<"coalesce" | "check" | "down" | "kill", NodeJS.Timeout>> = {};
  /** Until SPAWNED is sent, what the pane reports waits here (EXIT must never precede SPAWNED). */
  private early: (() => void)[] | null = [];
  private exitSent = false;
  private paneDead = false;
  /** The pane no longer exists: its ids may belong to someone else now, never target them. */
  private paneGone = false;
  private deathWaiters = new Set<() => void>();
  private cleanup: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly deps: RemoteSessionDeps,
    private readonly input: PtyProcessInput & { remote?: RemoteSpec },
    private readonly sendBack: (e: ChildEvent) => void,
    private readonly controlFor: (host: SshHost, socket: string) => TmuxControl,
  ) {
    this.gen = input.generation;
    this.remote = input.remote ?? deps.resolveRemote?.(input);
    const log = deps.log;
    this.log = log ? (event, data) => log(event, { session: input.sessionId, host: this.remote?.host, ...data }) : () => {};
    this.screen = new ScreenTail({ cols: input.spec.cols ?? 120, rows: input.spec.rows ?? 40 });
  }

  private send(e: ChildEvent) {
    if (!this.stopped) this.sendBack(e);
  }

  private diag(line: string) {
    if (this.err && !this.err.writableEnded) this.err.write(`${new Date().toISOString()} ${line}\n`);
  }

  private get hostDownMs() {
    return this.remote?.hostDownTimeoutMs ?? this.deps.hostDownTimeoutMs ?? 60_000;
  }

  async start(): Promise<void> {
    const { spec, sessionId } = this.input;
    let host: SshHost;
    let target = "";
    try {
      this.out = openLog(this.input.outPath);
      this.err = openLog(this.input.errPath);
      const r = this.remote;
      if (!r?.host) throw new Error("remote session without a host (expected input.remote.host)");
      this.socket = checkSocketName(r.socketName ?? this.deps.socketName ?? "conductor");
      const token = r.completionToken ?? this.deps.completionToken ?? DEFAULT_COMPLETION_TOKEN;
      if (token) this.token = new TokenScanner(token);
      this.sessionName = checkSessionName(r.sessionName ?? sessionId);
      if (r.attach) target = checkTarget(r.paneTarget ?? exactSession(this.sessionName));
      else if (spec.argv.length === 0) throw new Error("empty argv");
      if (spec.cwd?.includes("#")) throw new Error(`cwd ${JSON.stringify(spec.cwd)} contains '#', which tmux expands as a format`);
      host = this.deps.hosts.get(r.host);
      this.ctl = this.controlFor(host, this.socket);
    } catch (e) {
      return this.spawnError((e as Error).message);
    }
    try {
      await this.ctl.ensure(this.hostDownMs);
    } catch (e) {
      // Connected but tmux failed, or the host refused us (host key, auth): waiting cannot help.
      if (["connected", "rejected"].includes(host.status())) return this.spawnError((e as Error).message);
      return void this.finish({ exitCode: null, signal: null, failureMode: "host_unreachable", reason: "host_unreachable" });
    }
    if (this.stopped || this.exitSent) return; // stop() or an early TERMINATE closed the files
    try {
      this.creating = this.remote!.attach ? this.attachPane(target) : this.createPane();
      this.pane = await this.creating;
    } catch (e) {
      if (!this.stopped && !this.exitSent) this.spawnError((e as Error).message);
      return;
    }
    this.log("remote.spawned", { pane: this.pane.id, pid: this.pane.pid, tmuxSession: this.sessionName, attached: !this.created });
    if (this.stopped) return; // stop() waited for `creating` and cleans up
    if (this.exitSent) return void this.finalCleanup(); // terminated while being created
    this.send({ type: "CHILD.SPAWNED", generation: this.gen, pid: this.pane.pid });
    const early = this.early ?? [];
    this.early = null;
    for (const replay of early) replay();
    if (!this.shim) this.armCheck();
  }

  private async createPane(): Promise<Pane> {
    const { spec } = this.input;
    const ctl = this.ctl!;
    const name = this.sessionName;
    const cmd = ["new-session", "-d", "-s", name, "-x", String(spec.cols ?? 120), "-y", String(spec.rows ?? 40), "-P", "-F", "#{window_id} #{pane_id} #{pane_pid}"];
    if (spec.cwd) cmd.push("-c", spec.cwd);
    for (const [k, v] of Object.entries(spec.env ?? {})) {
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) cmd.push("-e", `${k}=${v}`);
      else this.log("remote.env_skipped", { key: k });
    }
    // The exit shim keeps the pty open after the agent exits and prints its status in-band:
    // without it tmux loses a fast-exiting agent's last output (Linux pty EIO at close, and
    // output still queued for a control client is dropped when the pane closes).
    cmd.push("--", "/bin/sh", ...shimArgs(this.nonce, spec.argv));
    this.shim = new MarkerScanner(this.nonce);
    let pane: Pane | undefined;
    // One line, so tmux runs all three before it handles the child's exit: `false` keeps its pane.
    await ctl
      .run([cmd, ["set-option", "-w", "-t", exactSession(name), "remain-on-exit", "on"], ["link-window", "-d", "-s", exactSession(name), "-t", exactSession(ctl.hub)]], (i, lines) => {
        if (i === 0 && (pane = paneFrom(lines[0]))) this.unwatch = ctl.watch(pane.id, pane.window, this);
      })
      .catch((e: Error) => {
        if (/duplicate session/.test(e.message)) throw new Error(`tmux session "${name}" already exists on ${this.remote!.host} (tmux -L ${this.socket}): watch it with attach: true, or remove it first`);
        ctl.later([["kill-session", "-t", exactSession(name)]]); // half-created: leave nothing behind
        throw new Error(`cannot create tmux session "${name}" on ${this.remote!.host}: ${e.message}`);
      });
    if (!pane) throw new Error("tmux did not report the new pane");
    this.created = true;
    return pane;
  }

  private async attachPane(target: string): Promise<Pane> {
    const ctl = this.ctl!;
    // list-panes fails on a missing target; display-message would quietly fall back to another pane.
    const [, [line = ""] = []] = await ctl
      .run([["list-panes", "-t", target, "-F", "#{pane_id}"], ["display-message", "-p", "-t", target, "#{window_id} #{pane_id} #{pane_pid} #{pane_width} #{pane_height} #{window_linked_sessions_list}"]])
      .catch((e: Error) => {
        throw new Error(`cannot attach to tmux target "${target}" on ${this.remote!.host}: ${e.message}`);
      });
    const pane = paneFrom(line);
    if (!pane) throw new Error(`tmux target "${target}" did not resolve to a pane`);
    const [, , , w, h, ...linked] = line.split(" ");
    this.screen.resize(Number(w) || 120, Number(h) || 40);
    this.unwatch = ctl.watch(pane.id, pane.window, this);
    if (!linked.join(" ").split(",").includes(ctl.hub)) await ctl.run([["link-window", "-d", "-s", pane.window, "-t", exactSession(ctl.hub)]]);
    return pane;
  }

  command(cmd: ChildCommand): void {
    const pane = this.pane;
    if (cmd.type === "CHILD.TERMINATE" && !pane && !this.exitSent) {
      // Still waiting for the host or tmux: nothing runs yet, so the run simply ends here.
      this.diag(`terminate before spawn: ${cmd.reason}`);
      this.exitSent = true;
      return void this.closeFiles().then(() => this.send({ type: "CHILD.GONE", generation: this.gen }));
    }
    if (!pane || this.exitSent) return;
    if (cmd.type === "CHILD.WRITE") {
      this.log("remote.write", { length: cmd.data.length }); // never the text
      // The machine sends text + "\r": text goes literally, each CR/LF as the Enter key.
      const keys = cmd.data.split(/\r\n|\r|\n/).flatMap((part, i) => [
        ...(i > 0 ? [["send-keys", "-t", pane.id, "Enter"]] : []),
        ...(part ? [["send-keys", "-t", pane.id, "-l", part]] : []),
      ]);
      if (keys.length) void this.ctl!.run(keys).catch((e) => this.diag(`send-keys failed: ${e.message}`));
    } else if (cmd.type === "CHILD.RESIZE") {
      this.screen.resize(cmd.cols, cmd.rows);
      if (this.created) void this.ctl!.run([["resize-window", "-t", pane.window, "-x", String(cmd.cols), "-y", String(cmd.rows)]]).catch(() => undefined);
    } else {
      this.diag(`terminate requested: ${cmd.reason} (grace ${cmd.graceMs} ms)`);
      this.log("remote.terminate", { pane: pane.id, graceMs: cmd.graceMs, reason: cmd.reason });
      this.signal("TERM");
      // Host down meanwhile: the down timer ends the run instead.
      this.timers.kill ??= setTimeout(() => (this.log("remote.force_kill", { pane: pane.id }), this.signal("KILL")), cmd.graceMs);
    }
  }

  /**
   * A signal to the pane's process group, sent by the remote tmux server itself (run-shell:
   * no ssh exec). Not C-c as well: a SIGINT would race the SIGTERM and name the wrong signal.
   * `kill -SIG -PGID`, not `kill -SIG -- -PGID`: dash (Debian's sh) rejects the `--`.
   */
  private signal(sig: "TERM" | "KILL") {
    const pane = this.pane;
    if (!pane || this.paneGone || !this.ctl?.attached || !(pane.pid > 1)) return;
    void this.ctl.run([["run-shell", `kill -${sig} -${pane.pid} >/dev/null 2>&1; true`]]).then(
      () => setTimeout(() => this.checkPane(), 100),
      () => undefined,
    );
  }

  // ---- PaneWatcher: what the shared control client tells us --------------------------------
  output(data: Buffer): void {
    if (this.early) return void this.early.push(() => this.output(data));
    if (!this.shim) return this.deliver(data);
    const r = this.shim.push(data.toString("latin1")); // latin1: bytes 1:1
    if (r.before) this.deliver(Buffer.from(r.before, "latin1"));
    if (r.status === undefined) return;
    if (r.after) this.deliver(Buffer.from(r.after, "latin1"));
    // Every byte before the marker has streamed in. The ack lets the shim exit with the same
    // status (so #{pane_dead_status} agrees); cleanup removes the window after EXIT.
    this.ack();
    void this.finish(statusToExit(r.status));
  }

  private ack() {
    const id = this.pane!.id;
    void this.ctl?.run([["send-keys", "-t", id, "-l", this.nonce], ["send-keys", "-t", id, "Enter"]]).then(
      () => setTimeout(() => this.checkPane(), 50), // the shim exits now: learn it without waiting for tmux's 1 s report
      () => undefined,
    );
  }

  private deliver(data: Buffer): void {
    if (this.exitSent) return;
    this.bytes += data.length;
    this.lastByteAt = Date.now();
    this.appendLog(data);
    this.render(data);
    this.schedule();
    if (!this.shim) this.armCheck(); // behind the shim, the marker reports the exit
    if (this.token?.push(this.decoder.write(data))) {
      this.log("remote.completion_token", { pane: this.pane?.id });
      void this.finish({ exitCode: 0, signal: null, reason: "remote_completion_token" });
    }
  }

  paneState(value: string): void {
    if (this.early) return void this.early.push(() => this.paneState(value));
    const exit = parseDeadState(value);
    if (!exit) return;
    this.paneDead = true;
    for (const w of this.deathWaiters) w();
    void this.finish(exit);
  }

  windowChanged(): void {
    if (this.early) return void this.early.push(() => this.windowChanged());
    this.checkPane();
  }

  lost(why: string): void {
    this.diag(why);
    this.paneGone = true;
    void this.finish(GONE);
  }

  detached(why: string): void {
    if (this.exitSent || this.timers.down) return;
    this.log("remote.host_down", { why, waitMs: this.hostDownMs });
    this.diag(`connection to host lost (${why}); waiting up to ${this.hostDownMs} ms`);
    this.timers.down = setTimeout(() => {
      this.log("remote.host_unreachable", { waitedMs: this.hostDownMs });
      void this.finish({ exitCode: null, signal: null, failureMode: "host_unreachable", reason: "host_unreachable" });
    }, this.hostDownMs);
  }

  attached(): void {
    clearTimeout(this.timers.down);
    delete this.timers.down;
    if (!this.exitSent && this.pane) void this.resync();
  }

  /** After a reconnect: what happened while we were away (death, a new screen, the token). */
  private async resync() {
    const pane = this.pane!;
    this.log("remote.resync", { pane: pane.id });
    try {
      const [, lines = []] = await this.ctl!.run([["list-panes", "-t", pane.id, "-F", "#{pane_id}"], ["capture-pane", "-p", "-J", "-S", "-500", "-t", pane.id]]);
      if (this.token?.push(`\n${lines.join("\n")}\n`)) return void this.finish({ exitCode: 0, signal: null, reason: "remote_completion_token" });
      const shown = lines.map((l) => l.trimEnd()).filter(Boolean).slice(-5);
      if (shown.join("\n") !== this.screen.lastLines(5).join("\n")) {
        this.bytes += 1; // activity we could not see byte by byte
        this.lastByteAt = Date.now();
        this.render(`\x1b[H\x1b[2J${lines.slice(-(this.input.spec.rows ?? 40)).join("\r\n")}`);
        this.schedule();
      }
      // The shim's marker went by while we were away? If the agent is gone (the shim has no
      // child left), ack now: the pane then dies with the status, for #{pane_dead_status}.
      // if-shell runs on the remote tmux server (/bin/sh): no ssh exec, no login shell.
      if (this.shim && !this.shim.markerSeen) {
        const ack = tmuxLine([["send-keys", "-t", pane.id, "-l", this.nonce], ["send-keys", "-t", pane.id, "Enter"]]);
        await this.ctl!.run([["if-shell", `command -v pgrep >/dev/null && ! pgrep -P ${pane.pid} >/dev/null`, ack]]);
        setTimeout(() => this.checkPane(), 50);
      }
    } catch (e) {
      this.diag(`resync: ${(e as Error).message}`);
    }
    this.checkPane();
  }

  private armCheck() {
    clearTimeout(this.timers.check);
    this.timers.check = setTimeout(() => this.checkPane(), this.deps.exitCheckMs ?? 150);
  }

  /** Asks tmux over the control channel (no exec): is our pane (same id AND pid) dead? */
  private checkPane() {
    const pane = this.pane;
    if (!pane || this.paneGone || this.paneDead || !this.ctl?.attached) return;
    const mine = `${pane.id} ${pane.pid} `;
    void this.ctl.run([["list-panes", "-t", pane.id, "-F", "#{pane_id} #{pane_pid} #{pane_dead} #{pane_dead_status} #{pane_dead_signal}"]]).then(
      ([lines = []]) => {
        const line = lines.find((l) => l.startsWith(mine));
        if (line) return this.paneState(line.slice(mine.length));
        this.lost("pane gone (or its id now names another process)");
      },
      (e: Error) => (/can't find/.test(e.message) ? this.lost(e.message) : this.diag(`pane check failed: ${e.message}`)),
    );
  }

  // ---- output coalescing and the log, as the pty actor does ----------------------------------
  private schedule() {
    if (this.timers.coalesce || this.emitting || this.exitSent) return;
    const wait = this.lastEmitAt + (this.input.outputCoalesceMs ?? 100) - Date.now();
    if (wait <= 0) this.emitting = this.emitOutput(true);
    else this.timers.coalesce = setTimeout(() => (delete this.timers.coalesce, (this.emitting = this.emitOutput(false))), wait);
  }

  private async emitOutput(leading: boolean) {
    await this.lastRender;
    this.emitting = undefined;
    if (this.bytes === this.emittedBytes) return;
    const now = Date.now();
    this.lastEmitAt = now;
    this.emittedBytes = this.bytes;
    const screenTail = this.screen.lastLines(this.input.tailLines ?? 5);
    this.send({ type: "CHILD.OUTPUT", generation: this.gen, bytes: this.bytes, lagMs: leading ? 0 : now - this.lastByteAt, screenTail });
    if (this.bytes > this.emittedBytes && !this.exitSent) this.schedule();
  }

  /** Queued behind other sessions' renders; what arrives meanwhile joins this session's turn. */
  private render(data: Buffer | string) {
    this.renderPending.push(typeof data === "string" ? Buffer.from(data) : data);
    if (this.renderPending.length > 1) return;
    // A failed render must not break the chain for every other session.
    this.lastRender = renderChain = renderChain
      .then(() => {
        const buf = Buffer.concat(this.renderPending);
        this.renderPending = [];
        return this.screen.write(buf);
      })
      .catch((e) => this.diag(`render failed: ${(e as Error).message}`));
  }

  /** Batched per 50 ms: tmux hands output over in ~100-byte pieces, and each fs write costs. */
  private appendLog(data: Buffer) {
    if (!this.out) return;
    this.logParts.push(data);
    if (this.logParts.length === 1) setTimeout(() => this.flushLog(), 50);
  }

  private flushLog() {
    if (this.logParts.length && this.out && !this.out.writableEnded) this.out.write(Buffer.concat(this.logParts));
    this.logParts = [];
  }

  // ---- the end of a run ---------------------------------------------------------------------
  private async finish(exit: Exit) {
    if (this.exitSent) return;
    this.exitSent = true;
    for (const t of Object.values(this.timers)) clearTimeout(t);
    await this.emitting;
    await this.lastRender;
    if (this.bytes > this.emittedBytes) await this.emitOutput(false); // the trailing OUTPUT comes before EXIT
    this.flushLog();
    await endStream(this.out);
    const reason = exit.reason ?? "pane_dead";
    this.diag(`exit: code=${exit.exitCode} signal=${exit.signal} reason=${reason}`);
    this.log("remote.exit", { pane: this.pane?.id, exitCode: exit.exitCode, signal: exit.signal, reason, bytes: this.bytes });
    this.send({ type: "CHILD.EXIT", generation: this.gen, ...exit, recentOutput: this.screen.recent() });
    await this.finalCleanup();
    this.send({ type: "CHILD.GONE", generation: this.gen });
  }

  private spawnError(message: string) {
    this.log("remote.spawn_error", { message });
    this.diag(`spawn error: ${message}`);
    this.exitSent = true;
    this.send({ type: "CHILD.SPAWN_ERROR", generation: this.gen, message });
    void this.closeFiles();
  }

  /**
   * Once: a pane we created is ended gracefully (SIGTERM, up to stopGraceMs, SIGKILL) and its
   * window and session killed (kill-session alone would leave the window alive in the hub);
   * a pane we only watched is unlinked from the hub and left running. Host down: on return.
   */
  private finalCleanup(): Promise<void> {
    this.cleanup ??= (async () => {
      const { ctl, pane } = this;
      if (ctl && pane && !this.paneGone) {
        if (this.created && !this.paneDead && ctl.attached) {
          this.signal("TERM");
          await new Promise<void>((r) => {
            const t = setTimeout(r, this.deps.stopGraceMs ?? 2000);
            this.deathWaiters.add(() => (clearTimeout(t), r()));
          });
          this.signal("KILL"); // stragglers of the group too
        }
        const cmds = this.created
          ? [["kill-window", "-t", pane.window], ["kill-session", "-t", exactSession(this.sessionName)]]
          : [["unlink-window", "-t", `${exactSession(ctl.hub)}${pane.window}`]];
        if (ctl.attached) for (const c of cmds) await ctl.run([c]).catch(() => undefined);
        else for (const c of cmds) ctl.later([c]);
      }
      this.unwatch();
      await this.closeFiles();
    })();
    return this.cleanup;
  }

  private async closeFiles() {
    this.flushLog();
    this.screen.dispose();
    await Promise.all([endStream(this.out), endStream(this.err)]);
  }

  /** Actor stopped (session final, or restarting): cleanup in the background, tracked. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    const work = (async () => {
      await this.creating?.catch(() => undefined); // a session being created must not escape
      this.exitSent = true;
      for (const t of Object.values(this.timers)) clearTimeout(t);
      await this.finalCleanup();
    })();
    this.deps.track?.(work);
  }
}

function paneFrom(line: string | undefined): Pane | undefined {
  const [window, id, pid] = (line ?? "").split(" ");
  return window?.startsWith("@") && id?.startsWith("%") ? { window, id, pid: Number(pid) } : undefined;
}

function openLog(path: string | undefined): WriteStream | undefined {
  if (!path) return undefined;
  mkdirSync(dirname(path), { recursive: true });
  const s = createWriteStream(path, { flags: "a" });
  s.on("error", () => {}); // a full disk must not crash the conductor
  return s;
}

function endStream(s: WriteStream | undefined): Promise<void> {
  if (!s || s.writableFinished || s.destroyed) return Promise.resolve();
  return new Promise((r) => {
    s.once("error", () => r());
    s.end(() => r());
  });
}
