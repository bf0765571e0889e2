/**
 * `ptyTransport`: a child run's I/O in a local pty (node-pty) behind the exit shim, as the child-run
 * chart's transport: it does what the chart asks (input, resize, signals, ack, drain, reap, close).
 * The pty's own side (the spawn, its output through the shim, the marker, the exit) is PtyRun's
 * (pty-run.ts). When things happen is the chart's business, not this file's.
 */
import type { ChildExit, ChildRunInput, SignalRequest } from "../machines/child-run.types.js";
import type { ScreenReading } from "../machines/session.types.js";
import { type ChildTransport, type TransportLogic, transportLogic } from "./child-run.js";
import { conductorScope } from "./env-cookie.js";
import { endStream } from "./log-file.js";
import { removeCgroup } from "./process-cgroup.js";
import { PtyRun, type PtyTransportDeps } from "./pty-run.js";
import { spawnQueue } from "./spawn-queue.js";
import { pasteBytes } from "./bracketed-paste.js";

export type { PtyTransportDeps } from "./pty-run.js";
export { childEnv } from "./pty-spawn.js";

export function createPtyTransport(deps: PtyTransportDeps): TransportLogic {
  const scoped = { ...deps, cookieScope: deps.cookieScope ?? conductorScope() };
  return transportLogic(({ child }: ChildRunInput, report) => new PtyTransport(scoped, child, report));
}

class PtyTransport extends PtyRun implements ChildTransport {
  /** The run's one drain: begun at the marker, or when the chart asks (DRAIN), whichever is first. */
  private drained: Promise<{ recentOutput: string } & ScreenReading> | undefined;

  /** How the reaper finds this run's processes beyond its tree. */
  private get family() {
    return {
      label: this.label,
      cookie: this.cookie,
      since: this.since,
      ...(this.cgroup ? { cgroup: this.cgroup } : {}),
      ...(this.spareHelpers ? { spare: this.spareHelpers } : {}),
    };
  }

  private get label() {
    return `${this.input.sessionId}#${this.input.generation}`;
  }

  write(data: string, paste?: boolean): void {
    this.log("pty.write", { length: data.length }); // never the text
    // Asked of the screen now: a write waiting for the spawn is type-ahead, never bracketed.
    const bytes = paste ? pasteBytes(data, this.screenTail?.bracketedPaste() === true) : data;
    if (this.queued || this.starting) this.early.push(bytes);
    else this.live?.write(bytes);
  }

  override resize(cols: number, rows: number): void {
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

  override drain(exit: ChildExit): Promise<{ recentOutput: string } & ScreenReading> {
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
