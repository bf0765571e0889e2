/**
 * A child run's I/O in a remote tmux pane, over the host's shared control client. It creates
 * (behind the exit shim) or attaches to the pane and does what the child-run chart asks; what the
 * client tells about the pane (output, the shim's marker, pane death, a dropped link) is
 * TmuxPaneRun's (tmux-pane-run.ts). When things happen (grace, ack timeout, how long a host may be
 * away) is the chart's.
 */
import type { ChildExit, SignalRequest } from "../machines/child-run.types.js";
import type { ChildTransport } from "./child-run.js";
import { endStream, openLog } from "./log-file.js";
import { remoteRunCookie, sweepRun } from "./remote-escapees.js";
import { endLostGroup, endLostGroupLater } from "./remote-lost-group.js";
import { resyncPane } from "./remote-resync.js";
import { ackKeys, endPane, inputKeys, type Pane, pasteKeys, type PaneContext, signalPane } from "./remote-pane.js";
import { attachPane } from "./remote-pane-attach.js";
import { createPane } from "./remote-pane-create.js";
import { type ControlFor, type RunTarget, runTarget } from "./remote-spec.js";
import { openRunPane } from "./tmux-pane-open.js";
import { TmuxPaneRun, TOKEN } from "./tmux-pane-run.js";
import type { SshHost } from "./ssh-host.js";
import type { TmuxControl } from "./tmux-hub.js";

const UNREACHABLE: ChildExit = { exitCode: null, signal: null, failureMode: "host_unreachable" };
/** The host refused the run: `config`, a mode the session never restarts (machines/session.judgement.ts). */
const REFUSED: ChildExit = { exitCode: null, signal: null, failureMode: "config", reason: "host_refused" };
/** An attached pane's run ended by the conductor: the pane itself runs on. */
const LET_GO: ChildExit = { exitCode: null, signal: null, reason: "attached_pane_let_go" };

/** One run's I/O in its pane; remote-session.ts makes one per run (`createTmuxPaneTransport`). */
export class TmuxPaneTransport extends TmuxPaneRun implements ChildTransport {
  private readonly cancelled = new AbortController();
  private creating: Promise<Pane> | undefined;
  private host: SshHost | undefined;
  /** An attached pane the conductor stopped watching (kill, shutdown): its run has ended, the pane runs on. */
  private letGo = false;
  private unwatch = () => {};
  /** The cookie of a pane we created (remote-escapees.ts), and its pid once it ran: swept at the reap. */
  private cookie: string | undefined;
  private createdPid: number | undefined;

  private fail(message: string) {
    this.log("remote.spawn_error", { message });
    this.diag(`spawn error: ${message}`);
    this.report({ type: "RUN.SPAWN_FAILED", message });
  }

  /**
   * The host will not run the agent until the user fixes it (host key, authorized_keys, a key
   * that needs the agent, tmux), or an attach target is gone or dead: an exit the session does not
   * restart (failureMode `config`, a terminal mode), with the refusal as its error. A spawn error
   * was restarted maxRestarts times in a blink against the host's cached refusal (and against a
   * missing attach target). The user's restart tries again.
   */
  private refused(message: string, by: "host" | "attach") {
    // An attach target gone or dead is refused alike (remote-pane-attach.ts): no rerun brings its program back.
    const attach = by === "attach";
    this.log(attach ? "remote.attach_refused" : "remote.host_refused", { message });
    this.diag(`${attach ? "attach" : "host"} refused: ${message}`);
    const exit = attach ? { ...REFUSED, reason: "attach_refused" } : REFUSED;
    this.report({ type: "RUN.EXITED", exit: { ...exit, detail: message }, settle: false });
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
    this.target = target;
    const ctl = controlFor(host, socket);
    this.ctl = ctl;
    // Its agent outlives a drop as long as we wait for it; a watched pane is let go by then.
    ctl.coverHostDown(this.hostDownMs);
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
    const cookie = shim ? remoteRunCookie(ctl.owner) : undefined;
    this.cookie = cookie;
    const opened = await openRunPane({
      ...{ ctl, host, hostDownMs: this.hostDownMs, cancelled: this.cancelled.signal, ctx },
      open: (c) =>
        (this.creating = shim ? createPane(c, sessionName, this.input.spec, nonce, cookie) : attachPane(c, target)),
    });
    if (opened.kind === "cancelled") {
      // Killed while its create waited for the host: the create was never sent (cancel() reported
      // the rest, before any create began).
      if (this.creating) this.report({ type: "RUN.CANCELLED" });
      return;
    }
    if (opened.kind === "failed") return this.fail(opened.message);
    if (opened.kind === "refused") return this.refused(opened.message, opened.by);
    if (opened.kind === "unreachable")
      return this.report({
        type: "RUN.EXITED",
        exit: { ...UNREACHABLE, reason: "host_unreachable", detail: opened.message },
        settle: false,
      });
    const pane = opened.pane;
    this.pane = pane;
    if (shim) this.createdPid = pane.pid;
    this.log("remote.spawned", { pane: pane.id, pid: pane.pid, tmuxSession: this.sessionName, attached: !this.shim });
    this.spawnedAt = Date.now();
    this.report({ type: "RUN.SPAWNED", pid: pane.pid });
    const early = this.early ?? [];
    this.early = null;
    for (const replay of early) replay();
    if (!this.shim) this.probe.arm(this.deps.exitCheckMs ?? 150);
    // Found after a channel reset: what it printed before we watched is in its history.
    if (pane.adopted) this.resync();
  }

  // ---- what the chart asks -----------------------------------------------------------------
  write(data: string, paste?: boolean): void {
    const { pane, ctl } = this;
    if (!pane || !ctl) return;
    this.log("remote.write", { length: data.length }); // never the text
    const keys = paste ? pasteKeys(pane.id, data) : inputKeys(pane.id, data);
    // Written into a link that died unnoticed, the line fails with the channel's reset: tmux may or may
    // not have typed it, and typing it again could answer a prompt twice. Not silent: the event log says so.
    if (keys.length)
      void ctl.run(keys).catch((e: Error) => {
        this.diag(`send-keys failed: ${e.message}`);
        this.log("remote.input_unsure", { pane: pane.id, length: data.length, error: e.message });
        this.report({ type: "RUN.INPUT_UNSURE", length: data.length, error: e.message, at: Date.now() });
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
    this.exitKnown = true;
    this.stream.release();
    this.probe.stop();
    this.out.halt();
    await this.out.finish(); // the trailing OUTPUT comes before EXIT
    const reason = exit.reason ?? "pane_dead";
    // How long it was away (a kill while it is gives up early), else the spawn's wait for it.
    const waitedMs = this.downSince === undefined ? this.hostDownMs : Date.now() - this.downSince;
    if (exit.failureMode === "host_unreachable") this.log("remote.host_unreachable", { waitedMs, upMs: exit.upMs });
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

  /**
   * See endPane: a pane we created is ended and removed, one we watched is only unlinked. Beside it,
   * what left a created pane's group and session is ended by its cookie (remote-escapees.ts).
   */
  async reap(graceMs: number): Promise<void> {
    const { ctl, pane, lostPane, host, cookie, createdPid } = this;
    const escapees =
      ctl && host && cookie && createdPid !== undefined
        ? sweepRun({
            ...{ host, ctl, cookie, spare: createdPid, graceMs, helpers: this.input.spec.sharedHelpers },
            ...{ log: this.log, diag: (l: string) => this.diag(l) },
          })
        : undefined;
    if (ctl && lostPane && host) await this.reapLost(ctl, host, lostPane, graceMs);
    if (ctl && pane) {
      const died = (ms: number) => this.probe.died(ms);
      const failed = (step: string, e: Error) => {
        this.log("remote.reap_step_failed", { pane: pane.id, step, error: e.message });
        this.diag(`reap: ${step} failed: ${e.message}`);
      };
      await endPane(ctl, pane, { createdSession: this.shim ? this.sessionName : null, graceMs, died, failed });
    }
    await escapees;
    this.unwatch();
  }

  /**
   * A pane that vanished under its agent: what is left of its group and session is ended on the
   * host, and the reap ends once none is (remote-lost-group.ts). Host away: a job for its return.
   */
  private async reapLost(ctl: TmuxControl, host: SshHost, pane: Pane, graceMs: number): Promise<void> {
    const base = { pane: pane.id, pid: pane.pid };
    if (host.status() !== "connected") {
      this.log("remote.lost_pane_group", { ...base, deferred: true });
      return endLostGroupLater(ctl, pane.pid, this.nonce, graceMs);
    }
    try {
      const r = await endLostGroup(host, pane.pid, this.nonce, graceMs);
      this.log("remote.lost_pane_group", {
        ...base,
        found: r.found,
        left: r.left,
        ...(r.notOurs ? { notOurs: true } : {}),
      });
      if (r.left.length > 0) this.diag(`lost pane ${pane.id}: processes ${r.left.join(" ")} outlived SIGKILL`);
    } catch (e) {
      this.log("remote.lost_pane_group", { ...base, error: (e as Error).message, deferred: true });
      this.diag(`ending the lost pane's processes: ${(e as Error).message}; left to a job of the tmux server`);
      endLostGroupLater(ctl, pane.pid, this.nonce, graceMs);
    }
  }

  async close(): Promise<void> {
    this.probe.stop();
    await Promise.all([this.out.close(), endStream(this.err)]);
  }
}
