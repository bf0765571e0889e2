/**
 * The verdicts `npm run bench` writes into bench/README.md (bench/summary.mjs): each target is judged
 * on its own figure, and moving that figure across the target flips the verdict. Driven by the last
 * committed run (bench/results.json), with one figure changed at a time.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

interface Row {
  figure: string;
  met: boolean | null;
}
type Raw = Record<string, unknown> & {
  scale500: Array<Record<string, number>>;
  scale500Daemon?: Record<string, number | string[]>;
  shutdown: { rounds: Array<Record<string, number[]>> };
};

// A .mjs of the bench, not part of the typed sources: imported by a computed path.
const summaryPath = "../bench/summary.mjs";
const { summarise } = (await import(summaryPath)) as { summarise: (raw: Raw) => Row[] };
const committed = (): Raw =>
  JSON.parse(readFileSync(new URL("../bench/results.json", import.meta.url), "utf8")).raw as Raw;
const verdictOf = (rows: Row[], figure: RegExp) => rows.find((r) => figure.test(r.figure))?.met;

describe("bench verdicts (bench/summary.mjs)", () => {
  it("500 sessions: met only when every target holds, in either process", () => {
    const raw = committed();
    // The supervisor's memory is the conductor's RSS plus its spawn helper's private memory (scale.mjs).
    const good = {
      rssMb: 107,
      helperUssMb: 3,
      supervisorMb: 110,
      loopP99Ms: 8,
      spawnAllS: 19,
      spawnLoopMaxMs: 90,
      seqGaps: 0,
    };
    for (const row of [raw.scale500[0], raw.scale500Daemon] as Array<Record<string, unknown>>)
      Object.assign(row, good, { sessionsWhoseEndIsLogged: row.sessions });
    expect(verdictOf(summarise(raw), /default node/)).toBe(true);
    expect(verdictOf(summarise(raw), /--detach/)).toBe(true);
    const misses: Array<[string, number]> = [
      ["supervisorMb", 121], // e.g. RSS 118 + helper 3: the RSS alone would have passed
      ["loopP99Ms", 51],
      ["spawnAllS", 31],
      ["spawnLoopMaxMs", 101],
      ["seqGaps", 1],
      ["sessionsWhoseEndIsLogged", 499],
    ];
    for (const [field, value] of misses) {
      const bad = structuredClone(raw);
      (bad.scale500Daemon as Record<string, unknown>)[field] = value;
      expect({ field, met: verdictOf(summarise(bad), /--detach/) }).toEqual({ field, met: false });
      expect(verdictOf(summarise(bad), /default node/)).toBe(true);
    }
  });

  it("shutdown: met at 10× faster than pm2, missed below", () => {
    const raw = committed();
    const at = (times: number) => {
      const r = structuredClone(raw);
      r.shutdown.rounds = [{ conductor: [100], pm2: [100 * times] }];
      return verdictOf(summarise(r), /^shutdown/);
    };
    expect(at(10)).toBe(true);
    expect(at(9.9)).toBe(false);
  });
});
