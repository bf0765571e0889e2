import { describe, expect, it } from "vitest";
import { backoffMs } from "../machines/backoff.js";
import { backoffFor } from "../machines/ssh-host.machine.js";
import { backoffDelay, DEFAULT_POLICY } from "../machines/session.policy.js";

describe("backoffMs: the one exponential backoff", () => {
  const b = { initialMs: 100, factor: 2, maxMs: 1_000 };
  it.each([
    [0, 100],
    [1, 200],
    [3, 800],
    [4, 1_000], // capped
    [50, 1_000],
    [-1, 100], // never below the first wait
  ])("attempt %i waits %i ms", (attempt, ms) => expect(backoffMs(b, attempt)).toBe(ms));

  it("no initial wait means no wait at all", () => expect(backoffMs({ ...b, initialMs: 0 }, 5)).toBe(0));

  it("session restarts and host reconnects both wait by it", () => {
    const restart = { ...DEFAULT_POLICY, backoffInitialMs: 100, backoffFactor: 2, backoffMaxMs: 1_000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(restart, n))).toEqual([100, 200, 400, 800, 1_000]);
    const host = { backoffInitialMs: 100, backoffFactor: 2, backoffMaxMs: 1_000 };
    expect([0, 1, 2, 3, 4].map((attempt) => backoffFor({ ...host, attempt } as never))).toEqual([
      100, 200, 400, 800, 1_000,
    ]);
  });
});
