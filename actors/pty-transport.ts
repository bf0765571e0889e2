/**
 * `ptyTransport`: a child run's I/O in a local pty (node-pty) behind the exit shim. It logs the
 * raw output, renders it on a headless screen, reports coalesced output, the shim's marker and
 * the pty's exit, and does what the child-run chart asks (signals, ack, drain, reap, close).
 * When things happen is the chart's business, not this file's.
 */
import type { WriteStream } from "node:fs";
import type { ChildExit, ChildRunInput, SignalRequest } from "../machines/child-run.types.js";
import type { PtyProcessInput, ScreenReading } from "../machines/session.types.js";
import { type ChildTransport, type TransportLogic, type TransportReport, transportLogic } from "./child-run.js";
import { conductorScope, runCookie } from "./env-cookie.js";
import { type SpawnMark, spawnMark } from "./pid-window.js";
import { endStream, writeBatched } from "./log-file.js";
import { type OrphanGuard, processWatchdog } from "./orphan-watchdog.js";
import { OutputCoalescer } from "./output-coalescer.js";
import type { ProcessReaper } from "./process-reaper.js";
import { removeCgroup } from "./process-cgroup.js";
import { shimChildless, signalName } from "./pty-shim.js";
import { ShimChannel } from "./pty-shim-channel.js";
import { abandonSpawn, type SpawnDeps, type Spawned, spawnPty, spawnRefused } from "./pty-spawn.js";
import { spawnQueue } from "./spawn-queue.js";
import type { PtyTerm } from "./spawn-pty-term.js";
import { ScreenTail } from "./screen-tail.js";

export interface PtyTransportDeps extends SpawnDeps {
  reaper: ProcessReaper;
  /** Sees every output byte of a run, in order, before its EXIT (the agent-stream result capture). */
  tap?: (sessionId: string, generation: number, chunk: Buffer) => void;
  /** `<process>.<conductor>.` env-cookie scope of this conductor's children (env-cookie.ts). */
  cookieScope?: string;
  /** Ends the trees if this process dies (default: the process's shared watchdog). */
  orphanGuard?: OrphanGuard;
}

export { childEnv } from "./pty-spawn.js";

export function createPtyTransport(deps: PtyTransportDeps): TransportLogic {
  const scoped = { ...deps, cookieScope: deps.cookieScope ?? conductorScope() };
  return transportLogic(({ child }: ChildRunInput, report) => new PtyTransport(scoped, child, report));
}

class PtyTransport implements ChildTransport {
  private readonly shim = new ShimChannel({
    output: (buf) => this.deliver(buf),
    marker: (exit) => this.onMarker(exit),
    write: (data) => this.live?.write(data),
    genuine: () => shimChildless(this.pid),
    forged: () => this.log("pty.marker_forged", { pid: this.pid }),
  });
  /** The run's one drain: begun at the marker, or when the chart asks (DRAIN), whichever is first. */
  private drained: Promise<{ recentOutput: string } & ScreenReading> | undefined;
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
  /** The run's cgroup, where one was made: the reaper finds cookie-less escapees in it. */
  private cgroup: string | undefined;
  private readonly disposables: { dispose(): void }[] = [];
  /** The pty while it can be written to; after its exit node-pty's writer logs EIO to stderr. */
  private live: PtyTerm | undefined;
  /** The spawn while it waits in the queue; what is written or resized meanwhile waits with it. */
  private queued: (() => void) | undefined;
  /** Out of the queue, waiting for the spawn helper's answer (pty-spawn.ts): writes still wait. */
  private starting = false;
  private closed = false;
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
      rendered: () => this.screen.settle(),
      emit: (bytes, lagMs) =>
        report({ type: "RUN.OUTPUT", bytes, lagMs, ...this.screen.reading(input.tailLines ?? 5) }),
    });
    this.cookie = runCookie(deps.cookieScope ?? conductorScope(), input.sessionId, input.spec.instance);
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
    this.starting = true;
    const size = this.size;
    spawnPty(this.deps, { ...input, spec: { ...input.spec, ...size } }, this.shim.nonce, this.cookie)
      // A throw here is the log folder's (openLog): nothing was started.
      .catch((e: Error): Spawned => ({ out: undefined, err: undefined, error: e.message }))
      // In the same turn as the spawn's answer: node-pty drops data that finds no listener.
      .then((spawned) => this.started(spawned, size));
  }

  private started(spawned: Spawned, size: { cols: number; rows: number }): void {
    this.starting = false;
    if (this.closed) {
      abandonSpawn(spawned);
      return;
    }
    this.out = spawned.out;
    this.err = spawned.err;
    this.cgroup = spawned.cgroup;
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
      term.onData((d: string | Buffer) => this.shim.push(typeof d === "string" ? Buffer.from(d, "utf8") : d)),
      term.onExit((e) => this.onExit(e)),
      this.screen.onResponse((d) => this.live?.write(d)),
    );
    this.log("pty.spawned", { pid: this.pid });
    this.report({ type: "RUN.SPAWNED", pid: this.pid });
    if (this.size !== size) this.resize(this.size.cols, this.size.rows);
    for (const data of this.early) term.write(data);
    this.early = [];
  }

  /** The exit's line waits in `exitLine` until after the exit is reported; any later line writes it first. */
  private exitLine: string | undefined;
  private diag(line?: string) {
    const lines = [this.exitLine, line].filter((l) => l !== undefined);
    this.exitLine = undefined;
    const at = new Date().toISOString();
    if (this.err && !this.err.writableEnded) for (const l of lines) this.err.write(`${at} ${l}\n`);
  }

  private get guard(): OrphanGuard {
    return this.deps.orphanGuard ?? processWatchdog();
  }

  /** How the reaper finds this run's processes beyond its tree. */
  private get family() {
    return {
      label: this.label,
      cookie: this.cookie,
      since: this.since,
      ...(this.cgroup ? { cgroup: this.cgroup } : {}),
    };
  }

  private get label() {
    return `${this.input.sessionId}#${this.input.generation}`;
  }

  /**
   * Every byte before the marker is here: the drain begins now, before the chart hears of it, so the
   * log's last write (a thread-pool round trip) runs while the chart takes the marker and asks for
   * the drain, which then finds it under way. The ack and the shim's exit are the tree's business.
   */
  private onMarker(exit: ChildExit) {
    void this.drain(exit);
    this.report({ type: "RUN.MARKER", exit, drainNow: true });
  }

  private deliver(buf: Buffer) {
    // Until the drain closes the log: bytes after it are not part of the run's output.
    if (!this.out?.writableEnded) {
      if (this.out) writeBatched(this.out, buf);
      this.deps.tap?.(this.input.sessionId, this.input.generation, buf);
    }
    this.screen.append(buf); // parsed when a reading needs it (screen-tail.ts)
    this.output.arrived(buf.length);
  }

  private onExit(e: { exitCode: number; signal?: number; lost?: string }) {
    this.live = undefined;
    if (e.lost) {
      this.log("pty.helper_lost", { pid: this.pid, reason: e.lost });
      this.diag(`killed with the spawn helper: ${e.lost}`);
    }
    const exit = { exitCode: e.signal ? null : e.exitCode, signal: e.signal ? signalName(e.signal) : null };
    // node-pty may deliver `exit` before the last `data` (microsoft/node-pty#72, #726): settle.
    this.report({ type: "RUN.EXITED", exit, settle: true });
  }

  write(data: string): void {
    this.log("pty.write", { length: data.length }); // never the text
    if (this.queued || this.starting) this.early.push(data);
    else this.live?.write(data);
  }

  resize(cols: number, rows: number): void {
    if (this.queued || this.starting) {
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
    // A SIGKILLed shim no longer reads: an ack written now would hit node-pty's closed fd (EBADF on stderr).
    if (req.signal === "KILL") this.shim.shimKilled();
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
        .signalTree(this.pid, "SIGTERM", this.family)
        .catch(() => [])
        .then(() => this.report({ type: "RUN.SIGNALLED" }));
    } else {
      void reaper
        .signalTree(this.pid, "SIGKILL", this.family)
        .then((pids) => pids.length > 0 && this.diag(`forced kill (SIGKILL): ${pids.join(" ")}`));
    }
  }

  ack(): void {
    // Not before the shim says line mode is back (its second marker): a tty still in the agent's mode
    // could echo the ack, or translate its newline away.
    this.shim.ack();
  }

  resync(): void {}

  cancel(): void {
    // Still queued: nothing was created. Otherwise the chart gets on with RUN.SPAWNED.
    if (this.queued && spawnQueue.remove(this.queued)) {
      this.queued = undefined;
      this.report({ type: "RUN.CANCELLED" });
    }
  }

  drain(exit: ChildExit): Promise<{ recentOutput: string } & ScreenReading> {
    this.drained ??= this.drainOnce(exit);
    return this.drained;
  }

  private async drainOnce(exit: ChildExit): Promise<{ recentOutput: string } & ScreenReading> {
    const proven = this.shim.proven;
    this.shim.flushUnproven();
    // The trailing OUTPUT and the log closed, so EXIT means "every byte is on disk". The log's write and
    // close wait on the thread pool: the OUTPUT (it writes nothing to the log) and the reading meanwhile.
    const logged = endStream(this.out);
    await this.output.drain();
    const { screen, title, at } = this.screen.reading();
    const recentOutput = this.screen.recent();
    await logged;
    const { exitCode, signal } = exit;
    // The diagnostics line after the exit is reported (a stream write cost ~0.14 ms there, profiled).
    this.exitLine = `exit: code=${exitCode} signal=${signal} marker=${proven}`;
    setImmediate(() => this.diag());
    this.log("pty.exit", { pid: this.pid, exitCode, signal, bytes: this.output.bytes });
    return { recentOutput, screen, title, at };
  }

  async reap(graceMs: number): Promise<void> {
    if (!this.pid) return;
    // Orphans (e.g. `sleep 1000 &` left behind) share the shim's session id: reap them.
    const res = await this.deps.reaper.reapOrphans(this.pid, { graceMs, ...this.family }).catch(() => undefined);
    if (res?.forced) this.diag(`forced kill (SIGKILL): ${res.signalled.join(" ")}`);
    if (res && res.survivors.length > 0) this.diag(`survivors after SIGKILL: ${res.survivors.join(" ")}`);
    // The watchdog keeps guarding a tree with survivors: they die with us at the latest.
    if (!res || res.survivors.length === 0) {
      this.guard.forget(this.pid);
      if (this.cgroup) removeCgroup(this.cgroup);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.queued) spawnQueue.remove(this.queued);
    this.queued = undefined;
    for (const d of this.disposables) d.dispose();
    this.output.cancel();
    this.screenTail?.dispose();
    this.diag();
    await Promise.all([endStream(this.out), endStream(this.err)]);
  }
}
