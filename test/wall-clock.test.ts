/**
 * The conductor's clock (actors/wall-clock.ts) with both time sources in the test's hands: the wall
 * clock is the injected `now`, monotonic time is vitest's fake timers (Date left real and unused),
 * so a suspend is the wall moving while the timers do not.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createWallClock, LONG_TIMER_MS, WALL_CHECK_MS } from "../actors/wall-clock.js";

const HOUR = 3_600_000;
const NEVER_MS = 2 ** 31 - 1;

let wall = 0;
const clock = () => createWallClock({ now: () => wall });

describe("with fake monotonic time and an injected wall clock", () => {
  beforeEach(() => {
    wall = Date.UTC(2026, 0, 1);
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
  });
  afterEach(() => void vi.useRealTimers());

  it("a short timer is a plain setTimeout: no check is armed, and a wall jump does not fire it", () => {
    const c = clock();
    const fn = vi.fn();
    c.setTimeout(fn, LONG_TIMER_MS - 1);
    expect(vi.getTimerCount()).toBe(1); // its own timer, no periodic check
    wall += 8 * HOUR;
    vi.advanceTimersByTime(LONG_TIMER_MS - 2);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledOnce();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("defect: a long timer fires once the wall clock passes its due time, the monotonic delay not elapsed (a suspend)", () => {
    const c = clock();
    const fn = vi.fn();
    c.setTimeout(fn, 5 * HOUR);
    vi.advanceTimersByTime(60_000);
    wall += 60_000 + 8 * HOUR; // the machine slept 8 h: the monotonic clock stood still
    vi.advanceTimersByTime(WALL_CHECK_MS);
    expect(fn).toHaveBeenCalledOnce();
    // Its monotonic timer went with it: it does not fire a second time.
    vi.advanceTimersByTime(5 * HOUR);
    expect(fn).toHaveBeenCalledOnce();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("does not fire before the wall due time when the wall clock moves with monotonic time", () => {
    const c = clock();
    const fn = vi.fn();
    c.setTimeout(fn, HOUR);
    for (let i = 0; i < 10; i++) {
      wall += 5 * 60_000;
      vi.advanceTimersByTime(5 * 60_000);
    }
    expect(fn).not.toHaveBeenCalled();
    wall += 10 * 60_000 - 1;
    vi.advanceTimersByTime(10 * 60_000 - 1);
    expect(fn).not.toHaveBeenCalled();
    wall += 1;
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledOnce();
  });

  it("a wall clock set back cannot delay a long timer: it fires on monotonic time", () => {
    const c = clock();
    const fn = vi.fn();
    c.setTimeout(fn, 60_000);
    wall -= 24 * HOUR;
    vi.advanceTimersByTime(59_999);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledOnce();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("clearTimeout cancels short and long timers, before and after the wall clock passed their due time", () => {
    const c = clock();
    const fns = [vi.fn(), vi.fn(), vi.fn()];
    const short = c.setTimeout(fns[0]!, 1_000);
    const long = c.setTimeout(fns[1]!, HOUR);
    const overdue = c.setTimeout(fns[2]!, HOUR);
    c.clearTimeout(short);
    c.clearTimeout(long);
    wall += 2 * HOUR; // due on the wall clock, not yet checked
    c.clearTimeout(overdue);
    vi.advanceTimersByTime(2 * HOUR);
    for (const fn of fns) expect(fn).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
    c.clearTimeout(long); // twice is harmless
  });

  it("timers due together on the wall clock fire in due order; one cleared by an earlier one's callback does not fire", () => {
    const c = clock();
    const fired: string[] = [];
    const renew = () => {
      fired.push("1h");
      c.clearTimeout(expiry);
    };
    c.setTimeout(() => fired.push("2h"), 2 * HOUR);
    c.setTimeout(() => fired.push("3h"), 3 * HOUR);
    const expiry = c.setTimeout(() => fired.push("expiry"), 90 * 60_000);
    c.setTimeout(renew, HOUR);
    wall += 4 * HOUR;
    vi.advanceTimersByTime(WALL_CHECK_MS);
    expect(fired).toEqual(["1h", "2h", "3h"]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a timer armed by a wall-fired callback waits its own time", () => {
    const c = clock();
    const second = vi.fn();
    c.setTimeout(() => c.setTimeout(second, HOUR), HOUR);
    wall += 2 * HOUR;
    vi.advanceTimersByTime(WALL_CHECK_MS);
    expect(second).not.toHaveBeenCalled();
    wall += HOUR - WALL_CHECK_MS;
    vi.advanceTimersByTime(HOUR - 2 * WALL_CHECK_MS);
    expect(second).not.toHaveBeenCalled();
    wall += 2 * WALL_CHECK_MS;
    vi.advanceTimersByTime(WALL_CHECK_MS);
    expect(second).toHaveBeenCalledOnce();
  });

  it("the charts' never (2^31-1 ms) stays never on a forward jump", () => {
    const c = clock();
    const fn = vi.fn();
    const t = c.setTimeout(fn, NEVER_MS);
    wall += 365 * 24 * HOUR;
    vi.advanceTimersByTime(WALL_CHECK_MS * 2);
    expect(fn).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(1);
    c.clearTimeout(t);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("leaves no timer behind once every long timer has fired or been cleared", () => {
    const c = clock();
    const a = c.setTimeout(() => undefined, HOUR);
    c.setTimeout(() => undefined, 2 * HOUR);
    expect(vi.getTimerCount()).toBe(3); // two monotonic timers and the one shared check
    c.clearTimeout(a);
    expect(vi.getTimerCount()).toBe(2);
    wall += 3 * HOUR;
    vi.advanceTimersByTime(WALL_CHECK_MS);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe("with real timers", () => {
  const refTimers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

  it("a pending long timer holds the process as a plain one does; the check never does, and nothing is left once cleared", () => {
    const c = createWallClock();
    const before = refTimers();
    const ids = [c.setTimeout(() => undefined, HOUR), c.setTimeout(() => undefined, 2 * HOUR)];
    expect(refTimers()).toBe(before + 2); // the shared check is unreferenced
    for (const id of ids) c.clearTimeout(id);
    expect(refTimers()).toBe(before);
  });
});
