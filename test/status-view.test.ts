/** The live status table on a terminal (src/cli/status-view.ts), drawn into a fake TTY stream. */
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { createStatusView } from "../src/cli/status-view.js";
import type { SessionSnapshot } from "../src/session-view.js";

function tty(rows: number) {
  const writes: string[] = [];
  const out = Object.assign(new EventEmitter(), {
    isTTY: true,
    rows,
    columns: 200,
    write: (s: string) => writes.push(s) > 0,
  });
  return { out: out as unknown as NodeJS.WriteStream, writes };
}

const session = (i: number, state = "healthy") =>
  ({
    id: `w${String(i).padStart(2, "0")}`,
    state,
    pid: 1000 + i,
    restarts: 0,
    reason: "first_output",
    health: { outputBytes: 10 },
  }) as unknown as SessionSnapshot;

describe("the live status table on a terminal", () => {
  it("defect: more sessions than rows flooded the screen: the block fits in rows - 1 lines and says how many more", () => {
    const { out, writes } = tty(20);
    const sessions = Array.from({ length: 50 }, (_, i) => session(i));
    const view = createStatusView(out, () => sessions, Date.now(), false);
    view.note("first");
    view.note("second");
    view.close();
    // Each frame after the first moves up over exactly the block it drew before, which fits the screen.
    const frames = writes.map((w) => w.replace(/^\x1b\[(\d+)F\x1b\[0J/, ""));
    const ups = writes.slice(1).map((w) => Number(/^\x1b\[(\d+)F/.exec(w)?.[1]));
    for (const up of ups) expect(up).toBeLessThanOrEqual(19);
    const last = frames.at(-1)?.trimEnd().split("\n") as string[];
    expect(last).toHaveLength(19);
    expect(last[0]).toMatch(/^ {2}w00 /);
    expect(last.at(-2)).toBe("  … 33 more (conductor ls)");
    expect(last.at(-1)).toMatch(/elapsed, 0\/50 final$/);
    expect(ups.at(-1)).toBe(last.length);
  });

  it("defect: a failure was not shown on a terminal: it is a line above the table, with its reason", () => {
    const { out, writes } = tty(40);
    const sessions = [session(1, "failed"), session(2)];
    const view = createStatusView(out, () => sessions, Date.now(), false);
    view.moved("w01", "healthy", "failed", "exit:3");
    view.moved("w02", "starting", "healthy", "first_output");
    view.close();
    const text = writes.join("");
    expect(text).toMatch(/\[ *\d+\.\d\ds\] w01: healthy → failed \(exit:3\)\n {2}w01 /);
    expect(text).not.toContain("w02: starting → healthy");
  });
});
