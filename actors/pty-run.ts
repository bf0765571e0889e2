/**
 * `PtyRun`: one local run's pty, from the spawn queue to its exit, and what the pty says: the raw
 * output logged, rendered on a headless screen and reported coalesced, the shim's marker, the
 * pty's exit. Separate from pty-transport.ts, whose `PtyTransport` (built on this) does what the
 * child-run chart asks of the run (input, signals, ack, drain, reap, close).
 */
import type { WriteStream } from "node:fs";
import type { ChildExit } from "../machines/child-run.types.js";
import type { PtyProcessInput, ScreenReading } from "../machines/session.types.js";
import type { TransportReport } from "./child-run.js";
import { conductorScope, runCookie } from "./env-cookie.js";
import { sharedHelperTest } from "./shared-helpers.js";
import { type SpawnMark, spawnMark } from "./pid-window.js";
import { writeBatched } from "./log-file.js";
import { type OrphanGuard, processWatchdog } from "./orphan-watchdog.js";
import { OutputCoalescer } from "./output-coalescer.js";
import type { ProcessReaper } from "./process-reaper.js";
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

/** The run's side that the pty talks to; PtyTransport (pty-transport.ts) is the rest. */
export abstract class PtyRun {
  protected readonly shim = new ShimChannel({
    output: (buf) => this.deliver(buf),
    marker: (exit) => this.onMarker(exit),
    write: (data) => this.live?.write(data),
    genuine: () => shimChildless(this.pid),
    forged: () => this.log("pty.marker_forged", { pid: this.pid }),
  });
  protected screenTail: ScreenTail | undefined;
  protected readonly output: OutputCoalescer;
  protected readonly log: NonNullable<PtyTransportDeps["log"]>;
  protected out: WriteStream | undefined;
  protected err: WriteStream | undefined;
  protected pid = 0;
  /** This run's env cookie: the reaper finds setsid escapees by it. */
  protected readonly cookie: string;
  /** The agent's shared helpers (shared-helpers.ts): its reaps leave them running. */
  protected readonly spareHelpers: ((pid: number) => boolean) | undefined;
  /** Taken right before the spawn: the reaper reads only the processes created since (pid-window.ts). */
  protected since: SpawnMark | undefined;
  /** The run's cgroup, where one was made: the reaper finds cookie-less escapees in it. */
  protected cgroup: string | undefined;
  protected readonly disposables: { dispose(): void }[] = [];
  /** The pty while it can be written to; after its exit node-pty's writer logs EIO to stderr. */
  protected live: PtyTerm | undefined;
  /** The spawn while it waits in the queue; what is written or resized meanwhile waits with it. */
  protected queued: (() => void) | undefined;
  /** Out of the queue, waiting for the spawn helper's answer (pty-spawn.ts): writes still wait. */
  protected starting = false;
  protected closed = false;
  protected early: string[] = [];
  protected size: { cols: number; rows: number };

  constructor(
    protected readonly deps: PtyTransportDeps,
    protected readonly input: PtyProcessInput,
    protected readonly report: TransportReport,
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
    this.spareHelpers = sharedHelperTest(input.spec.sharedHelpers);
    // A spawn that cannot work fails now, as it did when every fork was synchronous; the rest queue.
    if (spawnRefused(input.spec, deps.shell ?? "/bin/sh") !== undefined) {
      this.start();
      return;
    }
    this.queued = () => this.start();
    spawnQueue.add(this.queued);
  }

  protected get screen(): ScreenTail {
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
  protected exitLine: string | undefined;
  protected diag(line?: string) {
    const lines = [this.exitLine, line].filter((l) => l !== undefined);
    this.exitLine = undefined;
    const at = new Date().toISOString();
    if (this.err && !this.err.writableEnded) for (const l of lines) this.err.write(`${at} ${l}\n`);
  }

  protected get guard(): OrphanGuard {
    return this.deps.orphanGuard ?? processWatchdog();
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

  /** The chart's side (pty-transport.ts): the marker begins the drain, and a size held while queued is applied. */
  abstract drain(exit: ChildExit): Promise<{ recentOutput: string } & ScreenReading>;
  abstract resize(cols: number, rows: number): void;
}
