/**
 * The spawn queue: starts queued spawns (and the turns resumed spawns wait for) a few per turn of the
 * event loop, so every other timer and read runs in between. pty-spawn.ts and pty-transport.ts use it.
 *
 * A turn's budget is TURN_BUDGET_MS for the whole turn, not for the queue alone: what the turn already
 * ran before the queue's turn (the embedder's spawnSession calls in its timers, the reads of the poll
 * phase) is taken off it, from the event loop's own busy time (`performance.eventLoopUtilization`).
 * Before, the queue spent its 10 ms on top: in the turns where 10 calls already held the loop 50–100 ms
 * under load, it added 10–15 ms more (issue 13, bench/spawn-turns.mjs). At least one job runs a turn,
 * so spawns still go ahead while every turn is busy.
 *
 * With the spawn helper a start costs this thread an openpty() and a pipe write, so many fit a turn.
 * With node-pty each is a fork on this thread (PtyFork in node-pty 1.1.0's src/unix/pty.cc), and one
 * fork may use the whole budget: one a turn, as before (a caller that spawned 10 sessions in one turn
 * had blocked the loop for seconds).
 */
import { performance } from "node:perf_hooks";

const TURN_BUDGET_MS = 10;

type Elu = ReturnType<typeof performance.eventLoopUtilization>;

export class SpawnQueue {
  private readonly jobs: (() => void)[] = [];
  private scheduled = false;
  /** The loop's busy/idle counters when the queue's last turn ended (at first: when it was made). */
  private lastEnd: Elu = performance.eventLoopUtilization();
  private room = true;

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

  /**
   * While a job runs (and the microtasks it queued): whether its turn had budget left when it started,
   * false for the one job a turn that runs whatever the turn already spent. A fork here (node-pty)
   * takes a whole budget: pty-spawn.ts waits for a turn with room before it forks.
   */
  get hasRoom(): boolean {
    return this.room;
  }

  /** Jobs waiting for a turn (tests). */
  get length(): number {
    return this.jobs.length;
  }

  private kick(): void {
    if (this.scheduled || this.jobs.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      const t0 = performance.now();
      // Busy time of the loop since the queue's last turn ended: this turn's timers and reads so far
      // (and, after an idle stretch, the busy part before it: an over-count that costs one short turn).
      const before = performance.eventLoopUtilization(this.lastEnd).active;
      const budget = TURN_BUDGET_MS - before;
      // A job that resolves a waiting spawn (helperSpawn's turn after the helper's answer) takes ~0 ms
      // itself: its work runs in the microtask it queued. The next job is queued behind that microtask,
      // so the work counts against this turn's budget; a plain loop resolved every waiter in one turn
      // and all their work ran after it (issue 13: one pipe read may carry dozens of answers).
      const step = () => {
        this.room = performance.now() - t0 < budget;
        try {
          this.jobs.shift()?.();
        } finally {
          if (this.jobs.length > 0 && performance.now() - t0 < budget) queueMicrotask(step);
          else {
            this.lastEnd = performance.eventLoopUtilization();
            this.scheduled = false;
            this.kick();
          }
        }
      };
      step();
    });
  }
}

export const spawnQueue = new SpawnQueue();
