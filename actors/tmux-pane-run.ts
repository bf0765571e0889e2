/**
 * `TmuxPaneRun`: one remote run's pane, its state, and what the host's shared control client tells
 * about it (PaneWatcher: output, the shim's marker, pane death, a dropped link). Separate from
 * tmux-pane-transport.ts, which opens the pane and does what the child-run chart asks: this side
 * only listens and reports.
 */
import type { WriteStream } from "node:fs";
import type { ChildExit } from "../machines/child-run.types.js";
import type { PtyProcessInput } from "../machines/session.types.js";
import type { TransportReport } from "./child-run.js";
import { makeNonce, MarkerScanner } from "./pty-shim.js";
import { RemoteOutput } from "./remote-output.js";
import { PaneStream } from "./remote-pane-stream.js";
import { type Pane, parseDeadState } from "./remote-pane.js";
import { attachedEnd } from "./remote-pane-attach.js";
import type { RemoteSessionDeps, RemoteSpec } from "./remote-spec.js";
import { PaneProbe } from "./tmux-pane-probe.js";
import type { PaneWatcher, TmuxControl } from "./tmux-hub.js";

const GONE: ChildExit = { exitCode: null, signal: null, reason: "remote_pane_gone" };
/** An attached pane reported dead without its status: asked again this many times (~100 ms apart). */
const STATUS_WAITS = 30;
export const TOKEN: ChildExit = { exitCode: 0, signal: null, reason: "remote_completion_token" };
/** Someone ran `tmux kill-session` on the agent's session: the agent is ended (its window lived on in the hub). */
const SESSION_KILLED: ChildExit = { exitCode: null, signal: null, reason: "remote_session_killed" };

/** The run's side that tmux talks to; TmuxPaneTransport (tmux-pane-transport.ts) is the rest. */
export abstract class TmuxPaneRun implements PaneWatcher {
  protected readonly log: NonNullable<RemoteSessionDeps["log"]>;
  /** The pane's output: log, screen, coalesced OUTPUT, completion token. */
  protected readonly out: RemoteOutput;
  protected readonly nonce = makeNonce();
  /** Panes we create run the agent behind the exit shim; attached ones have no marker. */
  protected readonly shim: MarkerScanner | undefined;
  /** Asks tmux whether the pane lives, where its once-a-second report would be late. */
  protected readonly probe: PaneProbe;
  protected err: WriteStream | undefined;
  protected ctl: TmuxControl | undefined;
  protected sessionName = "";
  /** The tmux target an attached run watches (`attach: true`); "" for a pane we create. */
  protected target = "";
  /** Our pane; dropped when it is gone, since its ids may then name someone else's. */
  protected pane: Pane | undefined;
  /** A pane we created that vanished: its processes are ended by the reap (remote-lost-group.ts). */
  protected lostPane: Pane | undefined;
  /**
   * The run's end is known (its pane died, or the chart drains it): the pane vanishing after that
   * is the run's own cleanup (or tmux reporting a death it saw), never a lost pane.
   */
  protected exitKnown = false;
  /** When the link to the host dropped, while it is down. */
  protected downSince: number | undefined;
  /** When the pane was reported spawned: a link's drop says how long the run had its host (RUN.LINK_DOWN). */
  protected spawnedAt: number | undefined;
  /** Until SPAWNED is reported, what the pane says waits here (EXIT must never precede SPAWNED). */
  protected early: (() => void)[] | null = [];
  /** The pane's bytes → marker and output; held from a drop until the catch-up. */
  protected readonly stream: PaneStream;
  protected resyncing = false;
  /** Times an attached pane's death came without its status (STATUS_WAITS). */
  private statusWaits = 0;

  constructor(
    protected readonly deps: RemoteSessionDeps,
    protected readonly remote: RemoteSpec | undefined,
    protected readonly input: PtyProcessInput,
    protected readonly report: TransportReport,
    protected readonly hostDownMs: number,
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

  protected diag(line: string) {
    if (this.err && !this.err.writableEnded) this.err.write(`${new Date().toISOString()} ${line}\n`);
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
    if (!this.shim && exit.exitCode === null && !exit.signal && this.statusWaits++ < STATUS_WAITS) {
      // tmux (3.3a with libutempter) collects a dead pane's status only when another child of its
      // server exits: one is made (run-shell -b true), then the pane is asked again. The shim's
      // marker carries the status of the panes we create.
      void this.ctl
        ?.run([["run-shell", "-b", "true"]])
        .catch(() => undefined)
        .then(() => this.probe.soon(100));
      return;
    }
    this.exitKnown = true;
    this.probe.deathSeen();
    // An attached pane's program is not ours to start again: its end is final, and says why.
    this.report({
      type: "RUN.EXITED",
      exit: this.shim ? exit : attachedEnd(exit, this.pane, this.target),
      settle: false,
    });
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
    if (this.exitKnown) {
      // Our own cleanup removed it (the reap's kill-window), or it died first: nothing was lost.
      this.pane = undefined;
      this.probe.deathSeen();
      return;
    }
    this.diag(why);
    const { pane } = this;
    // What is left of it (an agent that ignores SIGHUP) is ended by the reap, which waits for it.
    if (pane && this.shim) this.lostPane = pane;
    this.pane = undefined;
    this.probe.deathSeen();
    this.report({ type: "RUN.EXITED", exit: this.shim ? GONE : attachedEnd(GONE, pane, this.target), settle: false });
  }

  detached(why: string): void {
    this.stream.hold();
    this.downSince ??= Date.now();
    this.log("remote.host_down", { why, waitMs: this.hostDownMs });
    this.diag(`connection to host lost (${why}); waiting up to ${this.hostDownMs} ms`);
    const upMs = this.spawnedAt === undefined ? undefined : this.downSince - this.spawnedAt;
    this.report({ type: "RUN.LINK_DOWN", why, ...(upMs !== undefined ? { upMs } : {}) });
  }

  attached(): void {
    this.downSince = undefined;
    this.resyncing = false;
    this.report({ type: "RUN.LINK_UP" });
    // A chart that did not ask for a resync (a run not yet spawned, or over) gets the output as it is.
    setImmediate(() => this.resyncing || this.stream.release());
  }
}
