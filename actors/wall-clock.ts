/**
 * The conductor's XState clock: a long wait also ends once the wall clock passes its due time.
 * Node's timers count monotonic time, which on Linux stands still while the machine is suspended (a
 * laptop's lid closed, a VM paused): after an 8-hour suspend, a 5-hour restart wait due meanwhile
 * waited its remaining time again after wake, the session in `restarting` long past its `nextRunAt`.
 *
 * A long timer fires at the earlier of its monotonic delay (a plain setTimeout: exact, and immune
 * to the wall clock being set back) and its wall-clock due time (`now()` at arming + ms), which one
 * shared check per clock looks at every WALL_CHECK_MS while any long timer is pending. Short timers
 * are plain setTimeouts: the hot paths pay nothing. Why one shared check and not each timer armed
 * in chunks: one wake-up per period however many sessions wait (500 sessions each waiting in chunks
 * of 30 s are ~17 wake-ups a second), the monotonic firing stays exact, and due timers fire in
 * the order of their due times (a lease's renewal before its expiry), as they would have.
 */
import type { ActorOptions, AnyActorLogic } from "xstate";
// The charts' "never": a forward jump must not fire what never comes.
import { NEVER_MS } from "../machines/session.policy.js";

export type Clock = NonNullable<ActorOptions<AnyActorLogic>["clock"]>;

/** Delays from this long on are also watched on the wall clock; a suspend makes a shorter one late by less. */
export const LONG_TIMER_MS = 30_000;

/** How often the wall clock is looked at while a long timer is pending: the lateness after a wake-up. */
export const WALL_CHECK_MS = 5_000;

/** The wall time source of clocks made without `now`: tests replace it to simulate a jump. */
let wallNow: () => number = () => Date.now();

/** Test-only seam (not exported by the package): the wall clock of default clocks; undefined restores Date.now. */
export function setWallTimeSource(now: (() => number) | undefined): void {
  wallNow = now ?? (() => Date.now());
}

export interface WallClockOptions {
  /** Wall clock, epoch ms; default Date.now (through the seam above). */
  now?: () => number;
  longMs?: number;
  checkEveryMs?: number;
}

/** A pending long timer: the handle XState holds for it. */
class LongTimer {
  timer: ReturnType<typeof setTimeout> | undefined;
  constructor(
    readonly fn: () => void,
    readonly due: number,
  ) {}
}

export function createWallClock(opts: WallClockOptions = {}): Clock {
  const now = opts.now ?? (() => wallNow());
  const longMs = opts.longMs ?? LONG_TIMER_MS;
  const checkEveryMs = opts.checkEveryMs ?? WALL_CHECK_MS;
  const pending = new Set<LongTimer>();
  let ticker: ReturnType<typeof setInterval> | undefined;
  /** No pending timer is due before this (a lower bound: the check is one comparison while it holds). */
  let earliest = Number.POSITIVE_INFINITY;

  const forget = (t: LongTimer): boolean => {
    if (!pending.delete(t)) return false;
    clearTimeout(t.timer);
    // No long timer left: nothing to check, and no handle of ours stays behind.
    if (pending.size === 0 && ticker !== undefined) {
      clearInterval(ticker);
      ticker = undefined;
      earliest = Number.POSITIVE_INFINITY;
    }
    return true;
  };
  const fire = (t: LongTimer) => {
    if (forget(t)) t.fn();
  };
  const check = () => {
    const at = now();
    if (at < earliest) return;
    const due: LongTimer[] = [];
    earliest = Number.POSITIVE_INFINITY;
    for (const t of pending) {
      if (t.due <= at) due.push(t);
      else earliest = Math.min(earliest, t.due);
    }
    // One firing's step may clear or arm others: `fire` skips what is no longer pending.
    for (const t of due.sort((a, b) => a.due - b.due)) fire(t);
  };

  return {
    setTimeout(fn: () => void, ms: number) {
      if (!(ms >= longMs) || ms >= NEVER_MS) return setTimeout(fn, ms);
      const t = new LongTimer(fn, now() + ms);
      // Referenced, as XState's own timer is: a pending wait keeps the process alive as before.
      t.timer = setTimeout(() => fire(t), ms);
      pending.add(t);
      earliest = Math.min(earliest, t.due);
      // Unreferenced: the check alone never keeps a process alive.
      ticker ??= setInterval(check, checkEveryMs).unref();
      return t;
    },
    clearTimeout(id: unknown) {
      if (id instanceof LongTimer) forget(id);
      else clearTimeout(id as ReturnType<typeof setTimeout>);
    },
  };
}
