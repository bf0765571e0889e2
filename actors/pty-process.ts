/**
 * The pty actor: runs one child of a session in a real pty (node-pty) behind the exit shim,
 * logs its raw output, renders it on a headless screen, and reports coalesced activity, exit
 * and the death of its whole process tree. See pty-shim.ts for why the shim exists.
 */
import { accessSync, constants as fsc, statSync, type WriteStream } from "node:fs";
import { resolve } from "node:path";
import pty from "node-pty";
import { fromCallback } from "xstate";
import { parseRetryHint } from "../machines/retry-hint.js";
import type { ChildCommand, ChildEvent, PtyProcessInput } from "../machines/session.types.js";
import { endStream, openLog } from "./log-file.js";
import type { ProcessReaper } from "./process-reaper.js";
import { COOKIE_VAR, conductorScope, runCookie } from "./env-cookie.js";
import { type OrphanGuard, processWatchdog } from "./orphan-watchdog.js";
import { makeNonce, MarkerScanner, shimLaunch, signalName, statusToExit } from "./pty-shim.js";
import { OutputCoalescer } from "./output-coalescer.js";
import { ScreenTail } from "./screen-tail.js";

export interface PtyProcessDeps {
  reaper: ProcessReaper;
  log?: (event: string, data: Record<string, unknown>) => void;
  /** POSIX shell that runs the shim. Default /bin/sh. */
  shell?: string;
  /** SIGTERM grace for leftovers after a natural exit (default 1000 ms). */
  orphanGraceMs?: number;
  /** Grace when the actor is stopped with the tree still alive (default 2000 ms). */
  stopGraceMs?: number;
  /** Quiet period that ends the drain when the shim died without its marker (default 100 ms). */
  drainMs?: number;
  /** Resolves `spec.envRef` (leased credentials kept out of snapshots) to environment variables. */
  envFor?: (ref: string) => Readonly<Record<string, string>> | undefined;
  /** Sees every output byte of a run, in order, before its EXIT (the agent-stream result capture). */
  tap?: (sessionId: string, generation: number, chunk: Buffer) => void;
  /** `<process>.<conductor>.` env-cookie scope of this conductor's children (env-cookie.ts). */
  cookieScope?: string;
  /** Ends the trees if this process dies (default: the process's shared watchdog). */
  orphanGuard?: OrphanGuard;
}

export type PtyProcessLogic = ReturnType<typeof createPtyProcessLogic>;

// Variables that describe the conductor's own terminal, not the child's pty. node-pty only
// strips some of these when env === process.env, and we always pass a merged copy.
const DROP_ENV = [
  "COLUMNS",
  "LINES",
  "TMUX",
  "TMUX_PANE",
  "STY",
  "WINDOW",
  "WINDOWID",
  "TERMCAP",
  "TERM_PROGRAM",
  "TERM_PROGRAM_VERSION",
  "TERM_SESSION_ID",
  "ITERM_SESSION_ID",
  "VTE_VERSION",
  "KITTY_WINDOW_ID",
  "WT_SESSION",
  "COLORTERM",
];

export function childEnv(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (const k of DROP_ENV) delete env[k];
  return { ...env, ...extra, TERM: "xterm-256color" };
}

/** What a child runner gets: the shape of fromCallback's arguments, so runners can be routed. */
export interface ChildRunnerArgs {
  input: PtyProcessInput;
  sendBack: (e: ChildEvent) => void;
  receive: (fn: (cmd: ChildCommand) => void) => void;
}
export type ChildRunner = (args: ChildRunnerArgs) => () => void;

/** One run of a local child in a pty; returns the cleanup that ends it. */
export function createPtyRunner(deps: PtyProcessDeps): ChildRunner {
  const scoped = { ...deps, cookieScope: deps.cookieScope ?? conductorScope() };
  return ({ input, sendBack, receive }) => {
    const run = new PtyRun(scoped, input, (e) => sendBack(e));
    receive((cmd) => run.command(cmd));
    run.start();
    return () => run.stop();
  };
}

export function createPtyProcessLogic(deps: PtyProcessDeps) {
  // fromCallback's 3rd type parameter is for `emit`ted events, not sendBack; ChildEvent goes
  // through sendBack (typed by PtyRun.send), so it stays EventObject like the session machine.
  const runner = createPtyRunner(deps);
  return fromCallback<ChildCommand, PtyProcessInput>(({ input, sendBack, receive }) =>
    runner({ input, sendBack, receive }),
  );
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class PtyRun {
  private readonly gen: number;
  private readonly nonce = makeNonce();
  private cookie = "";
  private readonly scanner = new MarkerScanner(this.nonce);
  private readonly screen: ScreenTail;
  private readonly log: NonNullable<PtyProcessDeps["log"]>;
  private out: WriteStream | undefined;
  private err: WriteStream | undefined;
  private term: pty.IPty | undefined;
  private pid = 0;
  private disposables: { dispose(): void }[] = [];
  private lastRender: Promise<void> = Promise.resolve();
  private readonly output: OutputCoalescer;
  private ackTimer: NodeJS.Timeout | undefined;
  private status: number | undefined; // from the marker
  private outputClosed = false;
  private exitStarted = false;
  private resolveClosed!: () => void;
  /** Settles once files are closed and the screen disposed. */
  readonly closed = new Promise<void>((r) => (this.resolveClosed = r));
  private terminating: ReturnType<ProcessReaper["terminate"]> | undefined;
  private stopped = false;

  constructor(
    private readonly deps: PtyProcessDeps,
    private readonly input: PtyProcessInput,
    private readonly sendBack: (e: ChildEvent) => void,
  ) {
    this.gen = input.generation;
    // Every line names its session, like the conductor's own lines.
    const log = deps.log;
    this.log = log ? (event, data) => log(event, { session: input.sessionId, ...data }) : () => {};
    this.screen = new ScreenTail({ cols: input.spec.cols ?? 120, rows: input.spec.rows ?? 40 });
    this.output = new OutputCoalescer({
      windowMs: input.outputCoalesceMs ?? 100,
      rendered: () => this.lastRender,
      emit: (bytes, lagMs) =>
        this.send({
          type: "CHILD.OUTPUT",
          generation: this.gen,
          bytes,
          lagMs,
          ...this.screen.reading(input.tailLines ?? 5),
        }),
      ended: () => this.exitStarted,
      muted: () => this.outputClosed,
    });
  }

  private guard(): OrphanGuard {
    return this.deps.orphanGuard ?? processWatchdog();
  }

  private send(e: ChildEvent) {
    if (!this.stopped) this.sendBack(e);
  }

  private diag(line: string) {
    if (this.err && !this.err.writableEnded) this.err.write(`${new Date().toISOString()} ${line}\n`);
  }

  start() {
    const { spec, sessionId } = this.input;
    const shell = this.deps.shell ?? "/bin/sh";
    try {
      // A failed log write is a line in the event log, never silent (a full disk: issue 12).
      const logError = (path?: string) => (err: Error) =>
        this.log("pty.log_error", { generation: this.gen, path, error: err.message });
      this.out = openLog(this.input.outPath, logError(this.input.outPath));
      this.err = openLog(this.input.errPath, logError(this.input.errPath));
      // node-pty does not fail on a bad cwd or program: its forked helper prints
      // "chdir(2) failed" / "execvp(3) failed" and exits 1. Check first to report SPAWN_ERROR.
      const cwd = spec.cwd ?? process.cwd();
      if (spec.argv.length === 0) throw new Error("empty argv");
      if (!statSync(cwd).isDirectory()) throw new Error(`cwd is not a directory: ${cwd}`);
      accessSync(shell, fsc.X_OK);
      const prog = spec.argv[0]!;
      if (prog.includes("/")) accessSync(resolve(cwd, prog), fsc.X_OK);
      // The cookie goes last: a session's env can never drop it (see env-cookie.ts).
      this.cookie = runCookie(this.deps.cookieScope ?? conductorScope(), sessionId);
      const launch = shimLaunch(shell, this.nonce, spec.argv);
      this.term = pty.spawn(launch.file, launch.args, {
        name: "xterm-256color",
        cols: spec.cols ?? 120,
        rows: spec.rows ?? 40,
        cwd,
        env: childEnv({
          ...spec.env,
          ...(spec.envRef ? this.deps.envFor?.(spec.envRef) : undefined),
          [COOKIE_VAR]: this.cookie,
        }),
        encoding: null, // raw Buffers: exact bytes to the log; xterm decodes UTF-8 itself
      });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.log("pty.spawn_error", { generation: this.gen, message });
      this.diag(`spawn error: ${message}`);
      this.send({ type: "CHILD.SPAWN_ERROR", generation: this.gen, message });
      void this.closeAll();
      return;
    }
    const term = this.term;
    this.pid = term.pid;
    this.guard().watch(this.pid);
    this.disposables.push(
      term.onData((d) => this.onData(d as unknown as Buffer)),
      term.onExit((e) => void this.onExit(e)),
      this.screen.onResponse((d) => this.writePty(d)),
    );
    this.log("pty.spawned", { generation: this.gen, pid: this.pid });
    this.send({ type: "CHILD.SPAWNED", generation: this.gen, pid: this.pid });
  }

  command(cmd: ChildCommand) {
    switch (cmd.type) {
      case "CHILD.WRITE":
        this.log("pty.write", { generation: this.gen, length: cmd.data.length }); // never the text
        this.writePty(cmd.data);
        break;
      case "CHILD.RESIZE":
        try {
          this.term?.resize(cmd.cols, cmd.rows);
          this.screen.resize(cmd.cols, cmd.rows);
        } catch {
          /* pty already closed */
        }
        break;
      case "CHILD.TERMINATE":
        this.diag(`terminate requested: ${cmd.reason} (grace ${cmd.graceMs} ms)`);
        this.beginTerminate(cmd.graceMs, cmd.reason);
        break;
    }
  }

  private writePty(data: string | Buffer) {
    // After exit node-pty's writer logs EIO to stderr; don't write into a dead pty.
    if (this.term && !this.exitStarted) this.term.write(data);
  }

  private beginTerminate(graceMs: number, reason: string) {
    // After a natural exit the orphan reap is already ending the tree.
    if (!this.term || this.exitStarted || this.terminating) return;
    this.log("pty.terminate", { generation: this.gen, pid: this.pid, graceMs, reason });
    this.terminating = this.deps.reaper.terminate(this.pid, {
      graceMs,
      label: `${this.input.sessionId}#${this.gen}`,
      cookie: this.cookie,
    });
  }

  private onData(chunk: Buffer) {
    // latin1 maps bytes 1:1 to chars, so the scanner never corrupts split UTF-8.
    const r = this.scanner.push(chunk.toString("latin1"));
    if (r.before) this.deliver(r.before);
    if (r.status !== undefined) {
      this.status = r.status;
      this.writePty(`${this.nonce}\n`); // the ack: the shim may exit now
      // If the ack is lost, the shim would wait forever: it only waits for us, so kill it.
      this.ackTimer = setTimeout(() => {
        this.log("pty.ack_timeout", { generation: this.gen, pid: this.pid });
        try {
          process.kill(this.pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }, 2000);
      if (r.after) this.deliver(r.after);
    }
  }

  private deliver(latin1: string) {
    const buf = Buffer.from(latin1, "latin1");
    if (!this.outputClosed) {
      this.out?.write(buf);
      this.deps.tap?.(this.input.sessionId, this.gen, buf);
    }
    this.lastRender = this.screen.write(buf);
    this.output.arrived(buf.length);
  }

  private async onExit(e: { exitCode: number; signal?: number }) {
    this.exitStarted = true;
    clearTimeout(this.ackTimer);
    if (!this.scanner.markerSeen) {
      // Shim killed before its marker: no end-of-output proof, so wait for a quiet drain.
      const started = Date.now();
      const drain = this.deps.drainMs ?? 100;
      while (Date.now() - Math.max(this.output.lastByteAt, started) < drain && Date.now() - started < 1000) {
        await sleep(drain);
      }
      const rest = this.scanner.flush();
      if (rest) this.deliver(rest);
    }
    // Final trailing OUTPUT, then close the log so EXIT means "every byte is on disk".
    await this.output.drain();
    this.outputClosed = true;
    await endStream(this.out);

    const { exitCode, signal } =
      this.status !== undefined
        ? statusToExit(this.status)
        : { exitCode: e.signal ? null : e.exitCode, signal: e.signal ? signalName(e.signal) : null };
    this.diag(`exit: code=${exitCode} signal=${signal} marker=${this.status !== undefined}`);
    this.log("pty.exit", { generation: this.gen, pid: this.pid, exitCode, signal, bytes: this.output.bytes });
    const recentOutput = this.screen.recent();
    // Wall-clock hints ("resets at 14:00") need the time of the exit; the chart has no clock.
    const retryAfterMs = exitCode === 0 ? null : parseRetryHint(recentOutput, Date.now());
    const { screen, title, at } = this.screen.reading();
    this.send({
      type: "CHILD.EXIT",
      generation: this.gen,
      exitCode,
      signal,
      recentOutput,
      screen,
      title,
      at,
      ...(retryAfterMs !== null ? { retryAfterMs } : {}),
    });

    // Orphans (e.g. `sleep 1000 &` left behind) share the shim's session id: reap them.
    const label = `${this.input.sessionId}#${this.gen}`;
    const reap =
      this.terminating ??
      this.deps.reaper.reapOrphans(this.pid, { graceMs: this.deps.orphanGraceMs ?? 1000, label, cookie: this.cookie });
    const res = await reap.catch(() => undefined);
    if (res?.forced) this.diag(`forced kill (SIGKILL): ${res.signalled.join(" ")}`);
    if (res && res.survivors.length > 0) this.diag(`survivors after SIGKILL: ${res.survivors.join(" ")}`);
    if (!res || res.survivors.length === 0) this.guard().forget(this.pid);
    await this.closeAll();
    this.send({ type: "CHILD.GONE", generation: this.gen });
  }

  private async closeAll() {
    clearTimeout(this.ackTimer);
    for (const d of this.disposables) d.dispose();
    this.disposables = [];
    this.outputClosed = true;
    this.screen.dispose();
    await Promise.all([endStream(this.out), endStream(this.err)]);
    this.resolveClosed();
  }

  /** Actor stopped (session final / restarting): end the tree, keep draining, then close. */
  stop() {
    if (this.stopped) return;
    this.stopped = true;
    if (!this.term) return; // spawn failed; closeAll already running
    if (!this.exitStarted) this.beginTerminate(this.deps.stopGraceMs ?? 2000, "actor_stopped");
    // Let shutdown's reaper.whenIdle() also cover the drain and file close that follow.
    this.deps.reaper.track?.(this.closed);
  }
}
