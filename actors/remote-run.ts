/**
 * One run of an agent in a remote tmux pane: creates or attaches to the pane, turns what the
 * shared control client reports (output, pane death, drops) into the pty actor's ChildEvents,
 * sends the machine's commands to the pane, and cleans up once, whatever ends the run.
 */
import type { WriteStream } from "node:fs";
import type { ChildCommand, ChildEvent, FailureMode, PtyProcessInput } from "../machines/session.types.js";
import { endStream, openLog } from "./log-file.js";
import { makeNonce, MarkerScanner, statusToExit } from "./pty-shim.js";
import { RemoteOutput } from "./remote-output.js";
import { attachPane, createPane, type Pane, type PaneContext, parseDeadState } from "./remote-pane.js";
import { DEFAULT_COMPLETION_TOKEN, type RemoteSessionDeps, type RemoteSpec } from "./remote-spec.js";
import { checkSessionName, checkSocketName, checkTarget, exactSession, tmuxLine } from "./shell-quote.js";
import type { SshHost } from "./ssh-host.js";
import type { PaneWatcher, TmuxControl } from "./tmux-hub.js";

type Exit = { exitCode: number | null; signal: string | null; reason?: string; failureMode?: FailureMode };
const GONE: Exit = { exitCode: null, signal: null, reason: "remote_pane_gone" };

export class RemoteRun implements PaneWatcher {
  private readonly gen: number;
  private readonly remote: RemoteSpec | undefined;
  private readonly log: NonNullable<RemoteSessionDeps["log"]>;
  /** The pane's output: log, screen, coalesced OUTPUT, completion token. */
  private readonly out: RemoteOutput;
  /** Sessions we create run the agent behind the pty actor's exit shim (see createPane). */
  private readonly nonce = makeNonce();
  private shim: MarkerScanner | undefined;
  private ctl: TmuxControl | undefined;
  private pane: Pane | undefined;
  private creating: Promise<Pane> | undefined;
  private created = false;
  private sessionName = "";
  private socket = "";
  private unwatch = () => {};
  private err: WriteStream | undefined;
  private timers: Partial<Record<"check" | "down" | "kill", NodeJS.Timeout>> = {};
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
    this.log = log
      ? (event, data) => log(event, { session: input.sessionId, host: this.remote?.host, ...data })
      : () => {};
    this.out = new RemoteOutput(input, {
      send: (e) => this.send(e),
      ended: () => this.exitSent,
      diag: (line) => this.diag(line),
    });
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
      this.out.openLog();
      this.err = openLog(this.input.errPath, (err) =>
        this.log("remote.log_error", { path: this.input.errPath, error: err.message }),
      );
      const r = this.remote;
      if (!r?.host) throw new Error("remote session without a host (expected input.remote.host)");
      this.socket = checkSocketName(r.socketName ?? this.deps.socketName ?? "conductor");
      const token = r.completionToken ?? this.deps.completionToken ?? DEFAULT_COMPLETION_TOKEN;
      this.out.watchFor(token);
      this.sessionName = checkSessionName(r.sessionName ?? sessionId);
      if (r.attach) target = checkTarget(r.paneTarget ?? exactSession(this.sessionName));
      else if (spec.argv.length === 0) throw new Error("empty argv");
      if (spec.cwd?.includes("#"))
        throw new Error(`cwd ${JSON.stringify(spec.cwd)} contains '#', which tmux expands as a format`);
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
      return void this.finish({
        exitCode: null,
        signal: null,
        failureMode: "host_unreachable",
        reason: "host_unreachable",
      });
    }
    if (this.stopped || this.exitSent) return; // stop() or an early TERMINATE closed the files
    try {
      this.creating = this.remote!.attach ? attachPane(this.paneContext(), target) : this.createPane();
      this.pane = await this.creating;
    } catch (e) {
      if (!this.stopped && !this.exitSent) this.spawnError((e as Error).message);
      return;
    }
    this.log("remote.spawned", {
      pane: this.pane.id,
      pid: this.pane.pid,
      tmuxSession: this.sessionName,
      attached: !this.created,
    });
    if (this.stopped) return; // stop() waited for `creating` and cleans up
    if (this.exitSent) return void this.finalCleanup(); // terminated while being created
    this.send({ type: "CHILD.SPAWNED", generation: this.gen, pid: this.pane.pid });
    const early = this.early ?? [];
    this.early = null;
    for (const replay of early) replay();
    if (!this.shim) this.armCheck();
  }

  private paneContext(): PaneContext {
    const ctl = this.ctl!;
    return {
      ctl,
      host: this.remote!.host,
      socket: this.socket,
      watch: (pane) => (this.unwatch = ctl.watch(pane.id, pane.window, this)),
      resize: (cols, rows) => this.out.screen.resize(cols, rows),
      log: this.log,
    };
  }

  private async createPane(): Promise<Pane> {
    this.shim = new MarkerScanner(this.nonce);
    const pane = await createPane(this.paneContext(), this.sessionName, this.input.spec, this.nonce);
    this.created = true;
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
      const keys = cmd.data
        .split(/\r\n|\r|\n/)
        .flatMap((part, i) => [
          ...(i > 0 ? [["send-keys", "-t", pane.id, "Enter"]] : []),
          ...(part ? [["send-keys", "-t", pane.id, "-l", part]] : []),
        ]);
      if (keys.length) void this.ctl!.run(keys).catch((e) => this.diag(`send-keys failed: ${e.message}`));
    } else if (cmd.type === "CHILD.RESIZE") {
      this.out.screen.resize(cmd.cols, cmd.rows);
      if (this.created)
        void this.ctl!.run([
          ["resize-window", "-t", pane.window, "-x", String(cmd.cols), "-y", String(cmd.rows)],
        ]).catch(() => undefined);
    } else {
      this.diag(`terminate requested: ${cmd.reason} (grace ${cmd.graceMs} ms)`);
      this.log("remote.terminate", { pane: pane.id, graceMs: cmd.graceMs, reason: cmd.reason });
      this.signal("TERM");
      // Host down meanwhile: the down timer ends the run instead.
      this.timers.kill ??= setTimeout(
        () => (this.log("remote.force_kill", { pane: pane.id }), this.signal("KILL")),
        cmd.graceMs,
      );
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
    void this.ctl
      ?.run([
        ["send-keys", "-t", id, "-l", this.nonce],
        ["send-keys", "-t", id, "Enter"],
      ])
      .then(
        () => setTimeout(() => this.checkPane(), 50), // the shim exits now: learn it without waiting for tmux's 1 s report
        () => undefined,
      );
  }

  private deliver(data: Buffer): void {
    if (this.exitSent) return;
    const sawToken = this.out.push(data);
    if (!this.shim) this.armCheck(); // behind the shim, the marker reports the exit
    if (sawToken) {
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
      const [, lines = []] = await this.ctl!.run([
        ["list-panes", "-t", pane.id, "-F", "#{pane_id}"],
        ["capture-pane", "-p", "-J", "-S", "-500", "-t", pane.id],
      ]);
      if (this.out.catchUp(lines))
        return void this.finish({ exitCode: 0, signal: null, reason: "remote_completion_token" });
      // The shim's marker went by while we were away? If the agent is gone (the shim has no
      // child left), ack now: the pane then dies with the status, for #{pane_dead_status}.
      // if-shell runs on the remote tmux server (/bin/sh): no ssh exec, no login shell.
      if (this.shim && !this.shim.markerSeen) {
        const ack = tmuxLine([
          ["send-keys", "-t", pane.id, "-l", this.nonce],
          ["send-keys", "-t", pane.id, "Enter"],
        ]);
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
    void this.ctl
      .run([
        [
          "list-panes",
          "-t",
          pane.id,
          "-F",
          "#{pane_id} #{pane_pid} #{pane_dead} #{pane_dead_status} #{pane_dead_signal}",
        ],
      ])
      .then(
        ([lines = []]) => {
          const line = lines.find((l) => l.startsWith(mine));
          if (line) return this.paneState(line.slice(mine.length));
          this.lost("pane gone (or its id now names another process)");
        },
        (e: Error) =>
          /can't find/.test(e.message) ? this.lost(e.message) : this.diag(`pane check failed: ${e.message}`),
      );
  }

  // ---- the end of a run ---------------------------------------------------------------------
  private async finish(exit: Exit) {
    if (this.exitSent) return;
    this.exitSent = true;
    for (const t of Object.values(this.timers)) clearTimeout(t);
    this.out.halt();
    await this.out.finish(); // the trailing OUTPUT comes before EXIT
    const reason = exit.reason ?? "pane_dead";
    this.diag(`exit: code=${exit.exitCode} signal=${exit.signal} reason=${reason}`);
    this.log("remote.exit", {
      pane: this.pane?.id,
      exitCode: exit.exitCode,
      signal: exit.signal,
      reason,
      bytes: this.out.bytes,
    });
    this.send({ type: "CHILD.EXIT", generation: this.gen, ...exit, recentOutput: this.out.screen.recent() });
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
          ? [
              ["kill-window", "-t", pane.window],
              ["kill-session", "-t", exactSession(this.sessionName)],
            ]
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
    await Promise.all([this.out.close(), endStream(this.err)]);
  }

  /** Actor stopped (session final, or restarting): cleanup in the background, tracked. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    const work = (async () => {
      await this.creating?.catch(() => undefined); // a session being created must not escape
      this.exitSent = true;
      for (const t of Object.values(this.timers)) clearTimeout(t);
      this.out.halt();
      await this.finalCleanup();
    })();
    this.deps.track?.(work);
  }
}
