/**
 * The spawn helper: a small process (Perl, spawn-helper-perl.ts, or Node where there is no perl,
 * spawn-helper-program.ts), started with the conductor, that forks and execs every session's pty
 * shim, so the conductor's own thread never forks.
 *
 * Why: node-pty forks in forkpty(), synchronously on the JS thread, and starts a waitpid thread per
 * child; one spawn blocked the loop 4–10 ms median, 14–78 ms p99 at load 6 (bench/spawn-cost.mjs,
 * parent RSS 80–250 MB, with and without a CPU hog), and 500 of them queued behind the sessions' work. The conductor opens the pty itself (openpty(), no fork), keeps the master and reads it
 * directly, as node-pty would (no relay hop), and only asks the helper, over a pipe, to start the
 * child on the slave (`/dev/pts/N`). The helper's heap is a few MB, so its forks are cheap, and
 * they cost the conductor's loop nothing: what is left here is 0.4–8 ms median (same runs).
 *
 * The conductor starts it when it is created (src/conductor.ts): its fork is then the cheapest it can
 * be (the conductor's heap is smallest), no pty master of ours exists yet, and it is not in the first
 * spawns' turns (issue 13: ~30 ms there under load). Until it says it is ready (Perl: milliseconds; a
 * Node start: ~50 ms idle, seconds under load), spawns fork with node-pty here as before (pty-spawn.ts),
 * so the first sessions never wait for it. A Perl helper that dies before it is ready gives way to the
 * Node program once; a Node helper that does could not start: `failed` says why, none is started again
 * (each spawn would fork a doomed Node), and node-pty forks here from then on.
 *
 * Orphan-proofing: the helper runs under `setpriv --pdeathsig KILL` tied to the conductor, and each
 * shim under `--pdeathsig KILL` tied to the helper (pty-shim.ts), so the conductor's death still
 * ends every shim, whatever killed it; the watchdog and cgroup stay as they were. If the helper
 * dies, its shims die with it: every session it started gets its exit with the reason, every
 * spawn it had not answered fails with it, and the next spawn starts a new helper.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { CLOSE_FDS_SCRIPT } from "./pty-shim.js";
import { SPAWN_HELPER_PERL } from "./spawn-helper-perl.js";
import { SPAWN_HELPER_PROGRAM } from "./spawn-helper-program.js";
import {
  decodeAnswer,
  encodeRequest,
  type HelperAnswer,
  type HelperExit,
  type HelperSpawn,
} from "./spawn-helper-protocol.js";

export type { HelperExit, HelperSpawn } from "./spawn-helper-protocol.js";

interface Run {
  started: boolean;
  /** Its request, sent again to a Node helper when a Perl one could not start. */
  request: string;
  resolve(pid: number): void;
  reject(e: Error): void;
  onExit(exit: HelperExit): void;
}

export interface SpawnHelperOptions {
  /** util-linux setsid, which gives each child its session and controlling tty (pty-shim.ts). */
  setsid: string;
  /** util-linux setpriv: ties the helper to this process (`--pdeathsig KILL`). */
  setpriv?: string;
  /** bash, to close the pty masters a restarted helper would inherit (CLOSE_FDS_SCRIPT, pty-shim.ts). */
  bash?: string;
  /** perl, to run the helper's Perl program (spawn-helper-perl.ts); without it, or if it cannot start, Node's. */
  perl?: string;
}

export class SpawnHelper {
  private proc: ChildProcess | undefined;
  private nextId = 1;
  private readonly runs = new Map<number, Run>();
  private buf = "";
  /** Started helpers, for tests and the bench. */
  started = 0;
  /** The running helper has said it reads requests (a Node start takes 50 ms idle, seconds under load). */
  ready = false;
  /** Why a helper died before it said it was ready: none will be started again, node-pty forks instead. */
  failed: string | undefined;
  private readyWaiters: { resolve(): void; reject(e: Error): void }[] = [];
  /** The program the next helper runs: Perl while it has not failed to start, else Node. */
  program: "perl" | "node";

  constructor(private readonly opts: SpawnHelperOptions) {
    this.program = opts.perl ? "perl" : "node";
  }

  get setsid(): string {
    return this.opts.setsid;
  }

  /** Starts `req` on its tty; resolves with the child's pid, `onExit` gets its end. */
  spawn(req: HelperSpawn, onExit: (exit: HelperExit) => void): Promise<number> {
    const id = this.nextId++;
    let request: string;
    try {
      request = encodeRequest(id, req);
    } catch (e) {
      return Promise.reject(e);
    }
    const proc = this.start();
    return new Promise<number>((resolve, reject) => {
      this.runs.set(id, { started: false, request, resolve, reject, onExit });
      this.holdLoop();
      proc.stdin?.write(request);
    });
  }

  /** Resolves once a helper is ready (starting one if none runs); rejects with `failed` if it cannot start. */
  whenReady(): Promise<void> {
    if (this.failed) return Promise.reject(new Error(this.failed));
    this.start();
    if (this.ready) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.readyWaiters.push({ resolve, reject });
      this.holdLoop();
    });
  }

  /** The helper's pid while it runs. */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** The running helper, started if it is not. */
  start(): ChildProcess {
    if (this.proc) return this.proc;
    const { setpriv, bash, perl } = this.opts;
    let argv =
      this.program === "perl" && perl
        ? [perl, "-e", SPAWN_HELPER_PERL]
        : [process.execPath, "--max-old-space-size=32", "-e", SPAWN_HELPER_PROGRAM];
    // Node's pty fds are not close-on-exec: without this a restarted helper held every live master.
    if (bash) argv = [bash, "-c", CLOSE_FDS_SCRIPT, "conductor-fds", ...argv];
    if (setpriv) argv = [setpriv, "--pdeathsig", "KILL", "--", ...argv];
    const [file, ...args] = argv;
    // Its own env without NODE_OPTIONS: an embedder's --require/--inspect has no business in it.
    const { NODE_OPTIONS: _, ...env } = process.env;
    // Detached: its own session, so a signal to the conductor's process group never reaches it.
    const proc = spawn(file as string, args, { stdio: ["pipe", "pipe", "inherit"], detached: true, env });
    this.proc = proc;
    this.started++;
    this.buf = "";
    this.ready = false;
    proc.stdout?.setEncoding("utf8");
    proc.stdout?.on("data", (d: string) => this.read(d));
    proc.stdin?.on("error", () => {}); // EPIPE after its death: 'exit' below says what happened
    proc.once("error", (e) => this.lost(proc, `the spawn helper could not run: ${e.message}`));
    proc.once("exit", (code, signal) =>
      this.lost(proc, `the spawn helper (pid ${proc.pid}) died (${signal ? `signal ${signal}` : `exit code ${code}`})`),
    );
    // An idle helper does not keep the conductor alive; an awaited answer does (holdLoop).
    proc.unref();
    (proc.stdin as unknown as { unref?(): void })?.unref?.();
    this.holdLoop();
    return proc;
  }

  /** The helper's stdout keeps the event loop alive while an answer is awaited: a spawn, an exit, ready. */
  private holdLoop(): void {
    const out = this.proc?.stdout as unknown as { ref?(): void; unref?(): void } | undefined;
    if (this.runs.size > 0 || this.readyWaiters.length > 0) out?.ref?.();
    else out?.unref?.();
  }

  private read(data: string): void {
    this.buf += data;
    for (let nl = this.buf.indexOf("\n"); nl >= 0; nl = this.buf.indexOf("\n")) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const answer = decodeAnswer(line);
      if (answer) this.answer(answer);
    }
  }

  private answer(m: HelperAnswer): void {
    if (m.ready) {
      this.ready = true;
      for (const w of this.readyWaiters.splice(0)) w.resolve();
      this.holdLoop();
      return;
    }
    const run = this.runs.get(m.id);
    if (!run) return;
    if (m.pid !== undefined) {
      run.started = true;
      run.resolve(m.pid);
      return;
    }
    this.runs.delete(m.id);
    this.holdLoop();
    if (m.exit) run.onExit(m.exit);
    else run.reject(new Error(m.error ?? "the spawn helper gave no reason"));
  }

  /** The helper is gone: nothing it started survives it (pdeathsig); say so to every run. */
  private lost(proc: ChildProcess, reason: string): void {
    if (this.proc !== proc) return;
    this.proc = undefined;
    // A Perl helper that could not start (no POSIX module, a perl that is not Perl 5): Node's program
    // instead, with the requests it was sent; only if that fails too, no helper at all.
    if (!this.ready && this.program === "perl") {
      this.program = "node";
      const next = this.start();
      for (const run of this.runs.values()) next.stdin?.write(run.request);
      return;
    }
    // Lost before it could serve: it cannot start here (no node, setpriv or bash that works); a retry per
    // spawn would fork a doomed Node per session. Its waiters fall back to node-pty (pty-spawn.ts).
    if (!this.ready) this.failed = `${reason} before it was ready`;
    this.ready = false;
    for (const w of this.readyWaiters.splice(0)) w.reject(new Error(this.failed as string));
    this.holdLoop();
    const runs = [...this.runs.values()];
    this.runs.clear();
    for (const run of runs) {
      if (run.started) run.onExit({ code: null, signal: "SIGKILL", lost: reason });
      else run.reject(new Error(`${reason} before it started the child`));
    }
  }

  /**
   * Ends the helper when nothing waits on it (no run, no ready waiter): the last conductor's shutdown
   * leaves no process behind. The next spawn starts a new one (node-pty forks until it is ready).
   */
  retireIfIdle(): void {
    const proc = this.proc;
    if (!proc || this.runs.size > 0 || this.readyWaiters.length > 0) return;
    // Forgotten first: its exit is not a loss, and a spawn from now on starts a new helper.
    this.proc = undefined;
    this.ready = false;
    proc.stdin?.end();
  }

  /** Ends the helper (tests; a conductor just lets it go with its stdin). */
  stop(): void {
    this.proc?.stdin?.end();
  }
}
