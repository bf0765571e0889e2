/**
 * `ptyTransport`: a child run's I/O in a local pty (node-pty) behind the exit shim. It logs the
 * raw output, renders it on a headless screen, reports coalesced output, the shim's marker and
 * the pty's exit, and does what the child-run chart asks (signals, ack, drain, reap, close).
 * When things happen is the chart's business, not this file's.
 */
import { accessSync, constants as fsc, statSync, type WriteStream } from "node:fs";
import { resolve } from "node:path";
import pty from "node-pty";
import type { ChildExit, ChildRunInput, SignalRequest } from "../machines/child-run.types.js";
import type { PtyProcessInput, ScreenReading } from "../machines/session.types.js";
import { type ChildTransport, type TransportLogic, type TransportReport, transportLogic } from "./child-run.js";
import { COOKIE_VAR, conductorScope, runCookie } from "./env-cookie.js";
import { type SpawnMark, spawnMark } from "./pid-window.js";
import { endStream, openLog } from "./log-file.js";
import { type OrphanGuard, processWatchdog } from "./orphan-watchdog.js";
import { OutputCoalescer } from "./output-coalescer.js";
import type { ProcessReaper } from "./process-reaper.js";
import { makeNonce, MarkerScanner, READY_OSC, shimLaunch, signalName, statusToExit } from "./pty-shim.js";
import { ScreenTail } from "./screen-tail.js";

export interface PtyTransportDeps {
  reaper: ProcessReaper;
  log?: (event: string, data: Record<string, unknown>) => void;
  /** POSIX shell that runs the shim. Default /bin/sh. */
  shell?: string;
  /** Resolves `spec.envRef` (leased credentials kept out of snapshots) to environment variables. */
  envFor?: (ref: string) => Readonly<Record<string, string>> | undefined;
  /** Sees every output byte of a run, in order, before its EXIT (the agent-stream result capture). */
  tap?: (sessionId: string, generation: number, chunk: Buffer) => void;
  /** `<process>.<conductor>.` env-cookie scope of this conductor's children (env-cookie.ts). */
  cookieScope?: string;
  /** Ends the trees if this process dies (default: the process's shared watchdog). */
  orphanGuard?: OrphanGuard;
}

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

export function createPtyTransport(deps: PtyTransportDeps): TransportLogic {
  const scoped = { ...deps, cookieScope: deps.cookieScope ?? conductorScope() };
  return transportLogic(({ child }: ChildRunInput, report) => new PtyTransport(scoped, child, report));
}

interface Spawned {
  out: WriteStream | undefined;
  err: WriteStream | undefined;
  term?: pty.IPty;
  error?: string;
}

/**
 * node-pty does not fail on a bad cwd or program: its forked helper prints "chdir(2) failed" /
 * "execvp(3) failed" and exits 1. Checked first to report a spawn error; returns the cwd.
 */
function checkSpawn(spec: PtyProcessInput["spec"], shell: string): string {
  const cwd = spec.cwd ?? process.cwd();
  const prog = spec.argv[0];
  if (prog === undefined) throw new Error("empty argv");
  if (!statSync(cwd).isDirectory()) throw new Error(`cwd is not a directory: ${cwd}`);
  accessSync(shell, fsc.X_OK);
  if (prog.includes("/")) accessSync(resolve(cwd, prog), fsc.X_OK);
  return cwd;
}

/** Why a spawn would fail, known before it waits for its turn (undefined: it may go ahead). */
function spawnRefused(spec: PtyProcessInput["spec"], shell: string): string | undefined {
  try {
    checkSpawn(spec, shell);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** Open files and the spawned pty (carrying `cookie`), or why the spawn failed. */
function spawnPty(deps: PtyTransportDeps, input: PtyProcessInput, nonce: string, cookie: string): Spawned {
  const { spec } = input;
  const shell = deps.shell ?? "/bin/sh";
  // A failed log write is a line in the event log, never silent (a full disk: issue 12).
  const logError = (path?: string) => (e: Error) =>
    deps.log?.("pty.log_error", { session: input.sessionId, generation: input.generation, path, error: e.message });
  const out = openLog(input.outPath, logError(input.outPath));
  const err = openLog(input.errPath, logError(input.errPath));
  try {
    const cwd = checkSpawn(spec, shell);
    const launch = shimLaunch(shell, nonce, spec.argv);
    const term = pty.spawn(launch.file, launch.args, {
      name: "xterm-256color",
      cols: spec.cols ?? 120,
      rows: spec.rows ?? 40,
      cwd,
      // The cookie goes last: a session's env can never drop it (see env-cookie.ts).
      env: childEnv({
        ...spec.env,
        ...(spec.envRef ? deps.envFor?.(spec.envRef) : undefined),
        [COOKIE_VAR]: cookie,
      }),
      encoding: null, // raw Buffers: exact bytes to the log; xterm decodes UTF-8 itself
    });
    return { out, err, term };
  } catch (e) {
    return { out, err, error: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * Forks one pty per turn of the event loop. node-pty 1.1.0 forks with forkpty() synchronously on the
 * JS thread (PtyFork in src/unix/pty.cc), and a fork copies the parent's page tables: 20 ms a fork
 * with nothing else running on this machine kind, 50–100 ms at 100 sessions under load. A caller
 * that spawned 10 sessions in one turn blocked the loop for seconds (bench/scale.mjs: a 9.5 s block
 * while spawning 500); now every other timer and read runs between two forks.
 */
class SpawnQueue {
  private readonly jobs: (() => void)[] = [];
  private scheduled = false;

  add(job: () => void): void {
    this.jobs.push(job);
    this.kick();
  }

  /** True when the job had not run yet (it never will). */
  remove(job: () => void): boolean {
    const i = this.jobs.indexOf(job);
    if (i < 0) return false;
    this.jobs.splice(i, 1);
    return true;
  }

  private kick(): void {
    if (this.scheduled || this.jobs.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.jobs.shift()?.();
      this.kick();
    });
  }
}

const spawnQueue = new SpawnQueue();

class PtyTransport implements ChildTransport {
  private readonly nonce = makeNonce();
  private readonly scanner = new MarkerScanner(this.nonce);
  /** The shim's second marker: `stty sane -echo` is done, the ack can go (pty-shim.ts). */
  private readonly ready = new MarkerScanner(this.nonce, READY_OSC);
  private ackWanted = false;
  private screenTail: ScreenTail | undefined;
  private readonly output: OutputCoalescer;
  private readonly log: NonNullable<PtyTransportDeps["log"]>;
  private out: WriteStream | undefined;
  private err: WriteStream | undefined;
  private pid = 0;
  /** This run's env cookie: the reaper finds setsid escapees by it. */
  private readonly cookie: string;
  /** Taken right before the spawn: the reaper reads only the processes created since (pid-window.ts). */
  private since: SpawnMark | undefined;
  private readonly disposables: { dispose(): void }[] = [];
  /** The pty while it can be written to; after its exit node-pty's writer logs EIO to stderr. */
  private live: pty.IPty | undefined;
  private lastRender: Promise<void> = Promise.resolve();
  /** The spawn while it waits in the queue; what is written or resized meanwhile waits with it. */
  private queued: (() => void) | undefined;
  private early: string[] = [];
  private size: { cols: number; rows: number };

  constructor(
    private readonly deps: PtyTransportDeps,
    private readonly input: PtyProcessInput,
    private readonly report: TransportReport,
  ) {
    const gen = input.generation;
    // Every line names its session and run, like the conductor's own lines.
    const log = deps.log;
    this.log = log ? (event, data) => log(event, { session: input.sessionId, generation: gen, ...data }) : () => {};
    this.size = { cols: input.spec.cols ?? 120, rows: input.spec.rows ?? 40 };
    this.output = new OutputCoalescer({
      windowMs: input.outputCoalesceMs ?? 100,
      rendered: () => this.lastRender,
      emit: (bytes, lagMs) =>
        report({ type: "RUN.OUTPUT", bytes, lagMs, ...this.screen.reading(input.tailLines ?? 5) }),
    });
    this.cookie = runCookie(deps.cookieScope ?? conductorScope(), input.sessionId);
    // A spawn that cannot work fails now, as it did when every fork was synchronous; the rest queue.
    if (spawnRefused(input.spec, deps.shell ?? "/bin/sh") !== undefined) {
      this.start();
      return;
    }
    this.queued = () => this.start();
    spawnQueue.add(this.queued);
  }

  private get screen(): ScreenTail {
    this.screenTail ??= new ScreenTail(this.size);
    return this.screenTail;
  }

  private start(): void {
    this.queued = undefined;
    const { input } = this;
    this.since = spawnMark();
    let spawned: Spawned;
    try {
      spawned = spawnPty(this.deps, { ...input, spec: { ...input.spec, ...this.size } }, this.nonce, this.cookie);
    } catch (e) {
      spawned = { out: undefined, err: undefined, error: (e as Error).message }; // the log folder
    }
    this.out = spawned.out;
    this.err = spawned.err;
    const term = spawned.term;
    if (!term) {
      const message = spawned.error ?? "spawn failed";
      this.log("pty.spawn_error", { message });
      this.diag(`spawn error: ${message}`);
      this.report({ type: "RUN.SPAWN_FAILED", message });
      return;
    }
    this.live = term;
    this.pid = term.pid;
    this.guard.watch(this.pid);
    this.disposables.push(
      // With `encoding: null` node-pty hands over Buffers, though its types say string.
      term.onData((d: string | Buffer) => this.onData(typeof d === "string" ? Buffer.from(d, "utf8") : d)),
      term.onExit((e) => this.onExit(e)),
      this.screen.onResponse((d) => this.live?.write(d)),
    );
    this.log("pty.spawned", { pid: this.pid });
    this.report({ type: "RUN.SPAWNED", pid: this.pid });
    for (const data of this.early) term.write(data);
    this.early = [];
  }

  private diag(line: string) {
    if (this.err && !this.err.writableEnded) this.err.write(`${new Date().toISOString()} ${line}\n`);
  }

  private get guard(): OrphanGuard {
    return this.deps.orphanGuard ?? processWatchdog();
  }

  private get label() {
    return `${this.input.sessionId}#${this.input.generation}`;
  }

  private onData(chunk: Buffer) {
    // latin1 maps bytes 1:1 to chars, so the scanner never corrupts split UTF-8.
    const text = chunk.toString("latin1");
    if (this.scanner.markerSeen) return this.afterMarker(text);
    const r = this.scanner.push(text);
    if (r.before) this.deliver(r.before);
    if (r.status === undefined) return;
    // Every byte before the marker is here: drain now, the ack and the shim's exit are the tree's business.
    this.report({ type: "RUN.MARKER", exit: statusToExit(r.status), drainNow: true });
    if (r.after) this.afterMarker(r.after);
  }

  private afterMarker(text: string) {
    if (this.ready.markerSeen) return this.deliver(text);
    const r = this.ready.push(text);
    if (r.before) this.deliver(r.before);
    if (r.status === undefined) return;
    if (this.ackWanted) this.live?.write(`${this.nonce}\n`);
    this.ackWanted = false;
    if (r.after) this.deliver(r.after);
  }

  private deliver(latin1: string) {
    const buf = Buffer.from(latin1, "latin1");
    // Until the drain closes the log: bytes after it are not part of the run's output.
    if (!this.out?.writableEnded) {
      this.out?.write(buf);
      this.deps.tap?.(this.input.sessionId, this.input.generation, buf);
    }
    this.lastRender = this.screen.write(buf);
    this.output.arrived(buf.length);
  }

  private onExit(e: { exitCode: number; signal?: number }) {
    this.live = undefined;
    const exit = { exitCode: e.signal ? null : e.exitCode, signal: e.signal ? signalName(e.signal) : null };
    // node-pty may deliver `exit` before the last `data` (microsoft/node-pty#72, #726): settle.
    this.report({ type: "RUN.EXITED", exit, settle: true });
  }

  write(data: string): void {
    this.log("pty.write", { length: data.length }); // never the text
    if (this.queued) this.early.push(data);
    else this.live?.write(data);
  }

  resize(cols: number, rows: number): void {
    if (this.queued) {
      this.size = { cols, rows };
      return;
    }
    try {
      this.live?.resize(cols, rows);
      this.screen.resize(cols, rows);
    } catch {
      /* pty already closed */
    }
  }

  signal(req: SignalRequest): void {
    if (!this.pid) return;
    const { reaper } = this.deps;
    if (req.scope === "root") {
      this.log("pty.ack_timeout", { pid: this.pid });
      try {
        process.kill(this.pid, "SIGKILL"); // the shim only waits for us: nothing else to ask
      } catch {
        /* gone */
      }
    } else if (req.signal === "TERM") {
      this.diag(`terminate requested: ${req.reason} (grace ${req.graceMs} ms)`);
      this.log("pty.terminate", { pid: this.pid, graceMs: req.graceMs, reason: req.reason });
      void reaper
        .signalTree(this.pid, "SIGTERM", { label: this.label, cookie: this.cookie, since: this.since })
        .catch(() => [])
        .then(() => this.report({ type: "RUN.SIGNALLED" }));
    } else {
      void reaper
        .signalTree(this.pid, "SIGKILL", { label: this.label, cookie: this.cookie, since: this.since })
        .then((pids) => pids.length > 0 && this.diag(`forced kill (SIGKILL): ${pids.join(" ")}`));
    }
  }

  ack(): void {
    // Not before the shim says line mode is back (its second marker): a tty still in the agent's mode
    // could echo the ack, or translate its newline away.
    if (this.ready.markerSeen) this.live?.write(`${this.nonce}\n`);
    else this.ackWanted = true;
  }

  resync(): void {}

  cancel(): void {
    // Still queued: nothing was created. Otherwise the chart gets on with RUN.SPAWNED.
    if (this.queued && spawnQueue.remove(this.queued)) {
      this.queued = undefined;
      this.report({ type: "RUN.CANCELLED" });
    }
  }

  async drain(exit: ChildExit): Promise<{ recentOutput: string } & ScreenReading> {
    // Without the marker there is no end-of-output proof: what the scanner held back is output.
    const proven = this.scanner.markerSeen;
    const rest = proven ? "" : this.scanner.flush();
    if (rest) this.deliver(rest);
    // The trailing OUTPUT, then the log closed, so EXIT means "every byte is on disk".
    await this.output.drain();
    await endStream(this.out);
    const { exitCode, signal } = exit;
    this.diag(`exit: code=${exitCode} signal=${signal} marker=${proven}`);
    this.log("pty.exit", { pid: this.pid, exitCode, signal, bytes: this.output.bytes });
    const { screen, title, at } = this.screen.reading();
    return { recentOutput: this.screen.recent(), screen, title, at };
  }

  async reap(graceMs: number): Promise<void> {
    if (!this.pid) return;
    // Orphans (e.g. `sleep 1000 &` left behind) share the shim's session id: reap them.
    const res = await this.deps.reaper
      .reapOrphans(this.pid, { graceMs, label: this.label, cookie: this.cookie, since: this.since })
      .catch(() => undefined);
    if (res?.forced) this.diag(`forced kill (SIGKILL): ${res.signalled.join(" ")}`);
    if (res && res.survivors.length > 0) this.diag(`survivors after SIGKILL: ${res.survivors.join(" ")}`);
    // The watchdog keeps guarding a tree with survivors: they die with us at the latest.
    if (!res || res.survivors.length === 0) this.guard.forget(this.pid);
  }

  async close(): Promise<void> {
    if (this.queued) spawnQueue.remove(this.queued);
    this.queued = undefined;
    for (const d of this.disposables) d.dispose();
    this.output.cancel();
    this.screenTail?.dispose();
    await Promise.all([endStream(this.out), endStream(this.err)]);
  }
}
