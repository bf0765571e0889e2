/**
 * A cap on V8's young generation, set from inside a running process.
 *
 * V8 doubles a heap's new space (both semi-spaces, touched in turn as they flip) each time the
 * survivors of its scavenges add up to its size, up to 16 MiB a semi-space in Node 20 (32 MiB of
 * RSS), and shrinks it only while the process allocates under ~1 KB/ms. A supervisor's steady
 * trickle of session state always grows it to the maximum: with 500 sessions printing a line a
 * second that was a quarter of the process's RSS (bench/README.md).
 *
 * `--max-semi-space-size` is read once, when the heap is made, but the growth factor is read at each
 * growth (`--semi-space-growth-factor`, V8's `SemiSpaceNewSpace::Grow`): set to 1 once the new space
 * has the chosen size, it grows no more (500 sessions in a default node: 132 → 110 MB of RSS in
 * `npm run bench`, bench/README.md; by hand, one after the other, 132 → 105 MB for 207 → 215 ms of
 * CPU a second). V8 never shrinks it for this, so the cap must be set before the process's
 * allocations grow it past.
 *
 * Process-wide: it changes the embedder's heap as well, so a library never does it by itself;
 * `conductor run` does it for its own process, an embedder calls `limitYoungGeneration()` first
 * thing in its main module. Flags the user chose (`--max-semi-space-size`, `--semi-space-growth-factor`,
 * in `execArgv` or `NODE_OPTIONS`) win: then nothing is changed.
 */
import { PerformanceObserver } from "node:perf_hooks";
import v8 from "node:v8";
import { ConductorError } from "../machines/conductor-error.js";

/** Flags that choose the young generation's size or growth. V8 reads `_` and `-` alike in flag names. */
export const YOUNG_GENERATION_FLAG =
  /--(max[-_]|min[-_])?semi[-_]space[-_]size\b|--max[-_]young[-_]generation[-_]size\b|--semi[-_]space[-_]growth[-_]factor\b/;

/**
 * One semi-space, MiB. 2 rather than 4: 500 sessions printing a line a second, 3 alternating rounds
 * (2026-12-04): 105 against 115 MB of RSS for the same CPU a second (bench/README.md).
 */
export const DEFAULT_SEMI_SPACE_MIB = 2;

/** V8's growth factor when nobody set one (`node --v8-options`). */
const V8_DEFAULT_GROWTH_FACTOR = 2;

export interface YoungGenerationLimit {
  /** The chosen size of one semi-space, MiB. */
  readonly semiSpaceMiB: number;
  /**
   * `capped`: it grows no more; `watching`: it will stop at the cap; `above`: it had grown past the
   * cap before the call and stays that size; `user-flags`: the process's own flags decide.
   */
  readonly state: () => "capped" | "watching" | "above" | "user-flags";
  /** Lets it grow again as V8 would (and stops watching). */
  dispose(): void;
}

const newSpaceBytes = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;

export function limitYoungGeneration(
  opts: { semiSpaceMiB?: number; execArgv?: readonly string[]; nodeOptions?: string } = {},
): YoungGenerationLimit {
  const semiSpaceMiB = opts.semiSpaceMiB ?? DEFAULT_SEMI_SPACE_MIB;
  // V8 doubles from its first size: a cap between two doublings would be passed, not kept.
  if (!Number.isInteger(semiSpaceMiB) || semiSpaceMiB < 1 || semiSpaceMiB > 16 || semiSpaceMiB & (semiSpaceMiB - 1)) {
    throw new ConductorError(
      `limitYoungGeneration: semiSpaceMiB must be 1, 2, 4, 8 or 16 (V8 doubles the young generation), got ${String(semiSpaceMiB)}`,
      { code: "INVALID_OPTIONS" },
    );
  }
  const flags = [...(opts.execArgv ?? process.execArgv), opts.nodeOptions ?? process.env.NODE_OPTIONS ?? ""];
  if (flags.some((f) => YOUNG_GENERATION_FLAG.test(f))) {
    return { semiSpaceMiB, state: () => "user-flags", dispose: () => undefined };
  }
  // Both semi-spaces are counted in the new space's size.
  const cap = 2 * semiSpaceMiB * 2 ** 20;
  let state: "capped" | "watching" | "above" = "watching";
  const stop = () => {
    v8.setFlagsFromString("--semi-space-growth-factor=1");
    observer.disconnect();
  };
  // A scavenge is where V8 grows it: look after each (PerformanceObserver "gc" entries).
  const observer = new PerformanceObserver(() => {
    const bytes = newSpaceBytes();
    if (state === "watching" && bytes >= cap) {
      // Two growths between two looks (a long synchronous stretch) pass the cap: said, not hidden.
      state = bytes > cap ? "above" : "capped";
      stop();
    }
  });
  const now = newSpaceBytes();
  if (now >= cap) {
    state = now > cap ? "above" : "capped";
    v8.setFlagsFromString("--semi-space-growth-factor=1");
  } else observer.observe({ entryTypes: ["gc"] });
  return {
    semiSpaceMiB,
    state: () => state,
    dispose() {
      observer.disconnect();
      v8.setFlagsFromString(`--semi-space-growth-factor=${V8_DEFAULT_GROWTH_FACTOR}`);
    },
  };
}
