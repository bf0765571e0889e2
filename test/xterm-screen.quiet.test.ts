/**
 * The headless terminal parses whatever the agent prints: binary garbage must not reach the
 * conductor's own stderr. xterm 6 logs each parse error at its default level ("error"): a field
 * review saw 200 KB of random agent output turn into 668 KB of `xterm.js: Parsing error` dumps on
 * stderr (and into a detached run's never-rotated conductor.out).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { XtermScreen } from "../actors/xterm-screen.js";

/** Deterministic bytes that are not text (xorshift), with enough ESC/CSI/DCS starts to trip the parser. */
function garbage(n: number, seed = 0x2545f491): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = i % 97 === 0 ? 0x1b : i % 89 === 0 ? 0x90 : x & 0xff;
  }
  return out;
}

describe("XtermScreen on binary output", () => {
  afterEach(() => vi.restoreAllMocks());

  it("defect: parses 64 KiB of garbage without a word on the console (was: one parse-error dump per bad sequence)", async () => {
    const said: unknown[][] = [];
    for (const level of ["error", "warn", "log", "info", "debug"] as const)
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void said.push(args));
    const screen = new XtermScreen(120, 40);
    screen.feed([garbage(64 * 1024)]);
    await screen.settled();
    screen.feed(["\r\nstill here"]);
    await screen.settled();
    expect(said.map((a) => String(a[0]).slice(0, 80))).toEqual([]);
    screen.dispose();
  });
});
