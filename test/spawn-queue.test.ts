/**
 * The spawn queue (actors/pty-spawn.ts) starts spawns a few per turn of the event loop. A job that
 * only resolves a waiting spawn does its work in the microtask it queues: that work must count against
 * the turn, or every waiter's continuation runs in one turn (issue 13: one read of the spawn helper's
 * answers may carry dozens). Judged by turns, not by elapsed time: a loaded machine only
 * makes each continuation slower, so fewer fit a turn.
 */
import { describe, expect, it } from "vitest";
import { spawnQueue } from "../actors/spawn-queue.js";

const busy = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

describe("spawn queue", () => {
  it("spreads waiters whose continuations do the work over several turns", async () => {
    let turn = 0;
    let ticking = true;
    const tick = () => {
      turn++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const turnsOf: number[] = [];
    const waiters = Array.from({ length: 40 }, async () => {
      await new Promise<void>((r) => spawnQueue.add(r));
      busy(1); // what a resumed spawn does after its turn: the master's terminal, the session's start
      turnsOf.push(turn);
    });
    await Promise.all(waiters);
    ticking = false;
    expect(turnsOf).toHaveLength(40);
    // 40 ms of work with a 10 ms budget a turn: at least 3 turns (all in one turn before the fix).
    expect(new Set(turnsOf).size).toBeGreaterThanOrEqual(3);
  });

  it("takes what the turn already ran off its budget: after a busy timer, one job a turn", async () => {
    // The embedder's side of each turn: a timer that holds the loop longer than the whole budget (as 10
    // spawnSession calls did under load). Each job notes the turn it ran in.
    let turn = 0;
    const heavy = setInterval(() => {
      turn++;
      busy(15);
    }, 1);
    await new Promise((r) => setTimeout(r, 5)); // the interval is running: every turn now starts with it
    const turnsOf: number[] = [];
    const jobs = Array.from(
      { length: 12 },
      () => new Promise<void>((r) => spawnQueue.add(() => r(void turnsOf.push(turn)))),
    );
    await Promise.all(jobs);
    clearInterval(heavy);
    const perTurn = new Map<number, number>();
    for (const t of turnsOf) perTurn.set(t, (perTurn.get(t) ?? 0) + 1);
    // Before, the queue spent its own 10 ms on top of the timer's 15: all 12 (~0 ms each) in one turn.
    expect(Math.max(...perTurn.values())).toBe(1);
  });

  it("a job that throws does not stall the jobs behind it", async () => {
    const ran: number[] = [];
    const failing = new Promise<void>((resolve) => {
      process.once("uncaughtException", () => resolve());
    });
    spawnQueue.add(() => {
      throw new Error("job failed");
    });
    const later = new Promise<void>((r) => spawnQueue.add(() => r(void ran.push(1))));
    await Promise.all([failing, later]);
    expect(ran).toEqual([1]);
  });
});
