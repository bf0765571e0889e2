/**
 * limitYoungGeneration (src/young-generation.ts) in processes of their own (it is process-wide):
 * the same allocation pattern grows V8's new space past the cap without it and not with it.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { limitYoungGeneration } from "../src/young-generation.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = join(root, "dist/src/young-generation.js");
/** What `conductor` imports first (src/cli/main.ts). */
const cliCap = join(root, "dist/src/cli/young-generation-cap.js");

/** Runs an allocation pattern whose survivors grow the young generation; returns its final size and the limit's state. */
function newSpaceAfterAllocating(call: string, nodeArgs: string[] = [], perTurn = 5_000, argv: string[] = []) {
  const script = `
    const v8 = await import("node:v8");
    const { limitYoungGeneration } = await import(${JSON.stringify(dist)});
    const limit = ${call};
    const keep = new Array(20_000);
    // Objects that survive a few scavenges each (a ring of 20 000), as sessions' state does, made a
    // few thousand a turn of the loop as a supervisor's are (one long burst may pass the cap: below).
    for (let round = 0; round < 3_000_000 / ${perTurn}; round++) {
      for (let i = 0; i < ${perTurn}; i++) keep[(round * ${perTurn} + i) % keep.length] = { i, b: [i] };
      await new Promise((r) => setImmediate(r)); // the GC observer's callbacks run between turns
    }
    const ns = v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
    console.log(JSON.stringify({ mib: ns.space_size / 2 ** 20, state: limit?.state() ?? null }));`;
  const out = execFileSync(process.execPath, [...nodeArgs, "--input-type=module", "-e", script, ...argv], {
    env: { ...process.env, NODE_OPTIONS: "" },
    encoding: "utf8",
  });
  return JSON.parse(out) as { mib: number; state: string | null };
}

describe("limitYoungGeneration", () => {
  it("stops the new space at the cap; without it the same allocations grow it past", () => {
    const free = newSpaceAfterAllocating("null");
    const capped = newSpaceAfterAllocating("limitYoungGeneration({ semiSpaceMiB: 2 })");
    expect(free.mib).toBeGreaterThan(4);
    expect(capped).toEqual({ mib: 4, state: "capped" });
  });

  it("V8 may grow it twice within one long synchronous stretch: then it is stopped there and says so", () => {
    const r = newSpaceAfterAllocating("limitYoungGeneration({ semiSpaceMiB: 1 })", [], 1_000_000);
    expect(r.state).toBe("above");
    expect(r.mib).toBeGreaterThan(2);
  });

  it("`conductor run` caps its own process by its first import; other commands are left alone", () => {
    const cli = (command: string) =>
      newSpaceAfterAllocating(`(await import(${JSON.stringify(cliCap)}), null)`, [], 5_000, ["main.js", command]);
    expect(cli("run").mib).toBe(4);
    expect(cli("ls").mib).toBeGreaterThan(4);
  });

  it("the user's own flags win: nothing changed", () => {
    const r = newSpaceAfterAllocating("limitYoungGeneration({ semiSpaceMiB: 2 })", ["--max-semi-space-size=8"]);
    expect(r.state).toBe("user-flags");
    expect(r.mib).toBeGreaterThan(4);
    expect(limitYoungGeneration({ nodeOptions: "--semi_space_growth_factor=3" }).state()).toBe("user-flags");
  });

  it("a size V8 cannot stop at is refused, saying which are possible", () => {
    expect(() => limitYoungGeneration({ semiSpaceMiB: 3 })).toThrow(/semiSpaceMiB must be 1, 2, 4, 8 or 16.*got 3/);
    expect(() => limitYoungGeneration({ semiSpaceMiB: 32 })).toThrow(/got 32/);
  });
});
