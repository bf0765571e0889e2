/**
 * A child run's I/O in a remote tmux pane, over the host's shared control
 * client. It creates (behind the exit shim) or attaches to the pane, reports what the client
 * tells it (output, the shim's marker, pane death, a dropped link) and does what the child-run
 * chart asks. When things happen (grace, ack timeout, how long a host may be away) is the chart's.
 */
import type { WriteStream } from "node:fs";
import type { ChildExit, SignalRequest } from "../machines/child-run.types.js";
import type { PtyProcessInput } from "../machines/session.types.js";
import type { ChildTransport, TransportReport } from "./child-run.js";
import { endStream, openLog } from "./log-file.js";
import { makeNonce, MarkerScanner } from "./pty-shim.js";
import { RemoteOutput } from "./remote-output.js";
import { PaneStream } from "./remote-pane-stream.js";
import { resyncPane } from "./remote-resync.js";
import {
  ackKeys,
  endLostPaneGroup,
  endPane,
  inputKeys,
  type Pane,
  type PaneContext,
  parseDeadState,
  signalPane,
} from "./remote-pane.js";
import { attachPane, createPane } from "./remote-pane-create.js";
import { type ControlFor, type RemoteSessionDeps, type RemoteSpec, type RunTarget, runTarget } from "./remote-spec.js";
import { openRunPane } from "./tmux-pane-open.js";
import { PaneProbe } from "./tmux-pane-probe.js";
import type { PaneWatcher, TmuxControl } from "./tmux-hub.js";
import type { SshHost } from "./ssh-host.js";

const GONE: ChildExit = { exitCode: null, signal: null, reason: "remote_pane_gone" };
const UNREACHABLE: ChildExit = { exitCode: null, signal: null, failureMode: "host_unreachable" };
const TOKEN: ChildExit = { exitCode: 0, signal: null, reason: "remote_completion_token" };
/** An attached pane's run ended by the conductor: the pane itself runs on. */
const LET_GO: ChildExit = { exitCode: null, signal: null, reason: "attached_pane_let_go" };
/** Someone ran `tmux kill-session` on the agent's session: the agent is ended (its window lived on in the hub). */
const SESSION_KILLED: ChildExit = { exitCode: null, signal: null, reason: "remote_session_killed" };

/** One run's I/O in its pane; remote-session.ts makes one per run (`createTmuxPaneTransport`). */
export class TmuxPaneTransport implements ChildTransport, PaneWatcher {
  private readonly log: NonNullable<RemoteSessionDeps["log"]>;
  /** The pane's output: log, screen, coalesced OUTPUT, completion token. */
  private readonly out: RemoteOutput;
  private readonly nonce = makeNonce();
  /** Panes we create run the agent behind the exit shim; attached ones have no marker. */
  private readonly shim: MarkerScanner | undefined;
  private readonly cancelled = new AbortController();
  /** Asks tmux whether the pane lives, where its once-a-second report would be late. */
  private readonly probe: PaneProbe;
  private err: WriteStream | undefined;
  private ctl: TmuxControl | undefined;
  private sessionName = "";
  /** Our pane; dropped when it is gone, since its ids may then name someone else's. */
  private pane: Pane | undefined;
  private creating: Promise<Pane> | undefined;
  private host: SshHost | undefined;
  /** When the link to the host dropped, while it is down. */
  private downSince: number | undefined;
  /** An attached pane the conductor stopped watching (kill, shutdown): its run has ended, the pane runs on. */
  private letGo = false;
  private unwatch = () => {};
  /** Until SPAWNED is reported, what the pane says waits here (EXIT must never precede SPAWNED). */
  private early: (() => void)[] | null = [];
  /** The pane's bytes → marker and output; held from a drop until the catch-up. */
  private readonly stream: PaneStream;
  private resyncing = false;

  constructor(
    private readonly deps: RemoteSessionDeps,
    private readonly remote: RemoteSpec | undefined,
    private readonly input: PtyProcessInput,
    private readonly report: TransportReport,
    private readonly hostDownMs: number,
  ) {
    const log = deps.log;
    this.log = log ? (event, data) => log(event, { session: input.sessionId, host: remote?.host, ...data }) : () => {};
    this.shim = remote?.attach ? undefined : new MarkerScanner(this.nonce);
    this.stream = new PaneStream(this.shim, {
      deliver: (data) => this.deliver(data),
      // Every byte before the marker has streamed in; the chart acks, the shim then exits.
      marker: (exit) => this.report({ type: "RUN.MARKER", exit }),
    });
    this.out = new RemoteOutput(input, {
      output: (bytes, lagMs, reading) => report({ type: "RUN.OUTPUT", bytes, lagMs, ...reading }),
      diag: (line) => this.diag(line),
    });
    this.probe = new PaneProbe({
      pane: () => this.pane,
      ctl: () => this.ctl,
      createdSession: () => (this.shim ? this.sessionName : null),
      paneState: (value) => this.paneState(value),
      lost: (why) => this.lost(why),
      sessionKilled: (pane) => {
        this.log("remote.session_killed", { pane: pane.id, tmuxSession: this.sessionName });
        this.diag(`tmux session "${this.sessionName}" was killed from outside: ending its agent`);
        this.report({ type: "RUN.EXITED", exit: SESSION_KILLED, settle: false });
      },
      diag: (line) => this.diag(line),
    });
  }

  private diag(line: string) {
    if (this.err && !this.err.writableEnded) this.err.write(`${new Date().toISOString()} ${line}\n`);
  }

  private fail(message: string) {
    this.log("remote.spawn_error", { message });
    this.diag(`spawn error: ${message}`);
    this.report({ type: "RUN.SPAWN_FAILED", message });
  }

  async start(controlFor: ControlFor): Promise<void> {
    let where: RunTarget;
    try {
      // A failed log write is a line in the event log, never silent (a full disk: issue 12).
      const logError = (path?: string) => (err: Error) => this.log("remote.log_error", { path, error: err.message });
      this.out.openLog(logError(this.input.outPath));
      this.err = openLog(this.input.errPath, logError(this.input.errPath));
      where = runTarget(this.deps, this.remote, this.input);
    } catch (e) {
      return this.fail((e as Error).message);
    }
    const { host, socket, target } = where;
    this.host = host;
    this.out.watchFor(where.token);
    this.sessionName = where.sessionName;
    const ctl = controlFor(host, socket);
    this.ctl = ctl;
    if (this.shim) ctl.coverHostDown(this.hostDownMs); // its agent outlives a drop as long as we wait for it
    const ctx: PaneContext = {
      ctl,
      host: this.remote?.host ?? "",
      socket,
      watch: (pane) => (this.unwatch = ctl.watch(pane.id, pane.window, this)),
      resize: (cols, rows) => this.out.screen.resize(cols, rows),
      log: this.log,
      cancelled: this.cancelled.signal,
    };
    const { shim, sessionName, nonce } = this;
    const opened = await openRunPane({
      ...{ ctl, host, hostDownMs: this.hostDownMs, cancelled: this.cancelled.signal, ctx },
      open: (c) => (this.creating = shim ? createPane(c, sessionName, this.input.spec, nonce) : attachPane(c, target)),
    });
    if (opened.kind === "cancelled") {
      // Killed while its create waited for the host: the create was never sent (cancel() reported
      // the rest, before any create began).
      if (this.creating) this.report({ type: "RUN.CANCELLED" });
      return;
    }
    if (opened.kind === "failed") return this.fail(opened.message);
    if (opened.kind === "unreachable")
      return this.report({
        type: "RUN.EXITED",
        exit: { ...UNREACHABLE, reason: "host_unreachable", detail: opened.message },
        settle: false,
      });
    const pane = opened.pane;
    this.pane = pane;
    this.log("remote.spawned", { pane: pane.id, pid: pane.pid, tmuxSession: this.sessionName, attached: !this.shim });
    this.report({ type: "RUN.SPAWNED", pid: pane.pid });
    const early = this.early ?? [];
    this.early = null;
    for (const replay of early) replay();
    if (!this.shim) this.probe.arm(this.deps.exitCheckMs ?? 150);
    // Found after a channel reset: what it printed before we watched is in its history.
    if (pane.adopted) this.resync();
  }

  // ---- PaneWatcher: what the shared control client tells us --------------------------------
  output(data: Buffer): void {
    if (this.early) return void this.early.push(() => this.output(data));
    this.stream.push(data);
  }

  private deliver(data: Buffer): void {
    const sawToken = this.out.push(data);
    // Attached panes have no marker: quiet output → ask tmux whether the pane died.
    if (!this.shim) this.probe.arm(this.deps.exitCheckMs ?? 150);
    if (!sawToken) return;
    this.log("remote.completion_token", { pane: this.pane?.id });
    this.report({ type: "RUN.EXITED", exit: TOKEN, settle: false });
  }

  paneState(value: string): void {
    if (this.early) return void this.early.push(() => this.paneState(value));
    const exit = parseDeadState(value);
    if (!exit) return;
    this.probe.deathSeen();
    this.report({ type: "RUN.EXITED", exit, settle: false });
  }

  windowChanged(): void {
    if (this.early) return void this.early.push(() => this.windowChanged());
    this.probe.check();
  }

  sessionsChanged(): void {
    if (this.early) return void this.early.push(() => this.sessionsChanged());
    this.probe.sessionsChanged();
  }

  lost(why: string): void {
    this.diag(why);
    const { pane, ctl } = this;
    if (pane && ctl && this.shim) {
      this.log("remote.lost_pane_group", { pane: pane.id, pid: pane.pid });
      endLostPaneGroup(ctl, pane, this.nonce).catch((e: Error) =>
        this.diag(`ending the lost pane's group: ${e.message}`),
      );
    }
    this.pane = undefined;
    this.probe.deathSeen();
    this.report({ type: "RUN.EXITED", exit: GONE, settle: false });
  }

  detached(why: string): void {
    this.stream.hold();
    this.downSince ??= Date.now();
    this.log("remote.host_down", { why, waitMs: this.hostDownMs });
    this.diag(`connection to host lost (${why}); waiting up to ${this.hostDownMs} ms`);
    this.report({ type: "RUN.LINK_DOWN", why });
  }

  attached(): void {
    this.downSince = undefined;
    this.resyncing = false;
    this.report({ type: "RUN.LINK_UP" });
    // A chart that did not ask for a resync (a run not yet spawned, or over) gets the output as it is.
    setImmediate(() => this.resyncing || this.stream.release());
  }

  // ---- what the chart asks -----------------------------------------------------------------
  write(data: string): void {
    const { pane, ctl } = this;
    if (!pane || !ctl) return;
    this.log("remote.write", { length: data.length }); // never the text
    const keys = inputKeys(pane.id, data);
    // Written into a link that died unnoticed, the line fails with the channel's reset: tmux may or may
    // not have typed it, and typing it again could answer a prompt twice. Not silent: the event log says so.
    if (keys.length)
      void ctl.run(keys).catch((e: Error) => {
        this.diag(`send-keys failed: ${e.message}`);
        this.log("remote.input_unsure", { pane: pane.id, length: data.length, error: e.message });
      });
  }

  resize(cols: number, rows: number): void {
    this.out.screen.resize(cols, rows);
    const { pane, ctl } = this;
    if (this.shim && pane && ctl?.attached)
      void ctl.run([["resize-window", "-t", pane.window, "-x", String(cols), "-y", String(rows)]]).catch(() => {});
  }

  signal(req: SignalRequest): void {
    const pane = this.pane;
    if (!this.shim) {
      // A watched pane (attach: true) is the user's, never signalled (docs/remote.md): a kill or shutdown
      // ends the run by letting go of it; the reap only unlinks its window from the hub.
      if (this.letGo) return;
      this.letGo = true;
      this.log("remote.let_go", { pane: pane?.id, reason: req.reason });
      this.diag(`${req.reason}: the attached pane is left running, only unwatched`);
      if (req.signal === "TERM") this.report({ type: "RUN.SIGNALLED" });
      this.report({ type: "RUN.EXITED", exit: LET_GO, settle: false });
      return;
    }
    if (req.signal === "TERM") {
      this.diag(`terminate requested: ${req.reason} (grace ${req.graceMs} ms)`);
      this.log("remote.terminate", { pane: pane?.id, graceMs: req.graceMs, reason: req.reason });
    } else this.log(req.scope === "root" ? "remote.ack_timeout" : "remote.force_kill", { pane: pane?.id });
    const sent = this.kill(req.signal);
    if (req.signal === "TERM") void sent.then(() => this.report({ type: "RUN.SIGNALLED" }));
  }

  /** Resolves once the signal is sent (or cannot be: no pane, host away). */
  private async kill(sig: "TERM" | "KILL"): Promise<void> {
    const { pane, ctl } = this;
    if (!pane || !ctl) return;
    await signalPane(ctl, pane, sig);
    this.probe.soon(100);
  }

  ack(): void {
    const { pane, ctl } = this;
    if (!pane || !ctl) return;
    // The shim exits now: learn it without waiting for tmux's once-a-second report.
    void ctl.run(ackKeys(pane.id, this.nonce)).then(
      () => this.probe.soon(50),
      () => undefined,
    );
  }

  /** After a reconnect: what happened while we were away (death, a new screen, the token). */
  resync(): void {
    const { pane, ctl } = this;
    if (!pane || !ctl) return;
    this.log("remote.resync", { pane: pane.id });
    this.resyncing = true;
    const shim = this.shim ? { scanner: this.shim, nonce: this.nonce } : undefined;
    const held = { captured: () => this.stream.captured(), caughtUp: () => this.stream.release() };
    void resyncPane({ ctl, pane, out: this.out, shim, log: this.log, diag: (l) => this.diag(l), ...held }).then(
      ({ token, acked }) => {
        if (token) return this.report({ type: "RUN.EXITED", exit: TOKEN, settle: false });
        if (acked) this.probe.soon(50);
        this.probe.check();
      },
      (e: Error) => {
        this.diag(`resync: ${e.message}`);
        if (ctl.attached) this.stream.release(); // dropped again: held until the next resync
        this.probe.check();
      },
    );
  }

  cancel(): void {
    this.cancelled.abort();
    // A create under way: one still waiting for the host is not sent (CancelledError, reported then);
    // one sent already lands, and the chart ends the pane once it is reported.
    if (this.creating) return;
    this.diag("terminated before spawn");
    this.report({ type: "RUN.CANCELLED" });
  }

  async drain(exit: ChildExit): Promise<{ recentOutput: string; detail?: string }> {
    this.stream.release();
    this.probe.stop();
    this.out.halt();
    await this.out.finish(); // the trailing OUTPUT comes before EXIT
    const reason = exit.reason ?? "pane_dead";
    // How long it was away (a kill while it is gives up early), else the spawn's wait for it.
    const waitedMs = this.downSince === undefined ? this.hostDownMs : Date.now() - this.downSince;
    if (exit.failureMode === "host_unreachable") this.log("remote.host_unreachable", { waitedMs });
    this.diag(`exit: code=${exit.exitCode} signal=${exit.signal} reason=${reason}`);
    const { exitCode, signal } = exit;
    this.log("remote.exit", { pane: this.pane?.id, exitCode, signal, reason, bytes: this.out.bytes });
    // Given up on the host mid-run: why, as its connection saw it last (the session's lastError).
    const host = this.host;
    const detail =
      exit.failureMode === "host_unreachable" && !exit.detail && host
        ? `host ${host.name} not reachable for ${waitedMs} ms (${host.status()}${host.lastError() ? `: ${host.lastError()}` : ""})`
        : undefined;
    return { recentOutput: this.out.screen.recent(), ...(detail ? { detail } : {}) };
  }

  /** See endPane: a pane we created is ended and removed, one we watched is only unlinked. */
  async reap(graceMs: number): Promise<void> {
    const { ctl, pane } = this;
    if (ctl && pane) {
      const died = (ms: number) => this.probe.died(ms);
      const failed = (step: string, e: Error) => {
        this.log("remote.reap_step_failed", { pane: pane.id, step, error: e.message });
        this.diag(`reap: ${step} failed: ${e.message}`);
      };
      await endPane(ctl, pane, { createdSession: this.shim ? this.sessionName : null, graceMs, died, failed });
    }
    this.unwatch();
  }

  async close(): Promise<void> {
    this.probe.stop();
    await Promise.all([this.out.close(), endStream(this.err)]);
  }
}
