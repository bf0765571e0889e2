/**
 * docs/testing.md's second example, run as written against the build: generated paths on the chart
 * with a stand-in child and a SimulatedClock. And with a planted bug, which it must catch (a runner
 * that passes whatever the child does proves nothing). Its figures stay the machines' own.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { conductorMachine } from "../machines/conductor.machine.js";
import { sessionMachine } from "../machines/session.machine.js";
import { machineStates, machineTransitions } from "../src/testing/coverage.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const doc = readFileSync(join(root, "docs/testing.md"), "utf8");

/** The ```js block that runs generated paths, in a folder where the package resolves to this build. */
function example(edit: (code: string) => string = (c) => c): string {
  const from = doc.indexOf("```js\n") + "```js\n".length;
  const code = doc.slice(from, doc.indexOf("```", from));
  const dir = mkdtempSync(join(tmpdir(), "testing-doc-"));
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(root, join(dir, "node_modules", "statechart-conductor"));
  symlinkSync(join(root, "node_modules", "xstate"), join(dir, "node_modules", "xstate"));
  writeFileSync(join(dir, "example.mjs"), edit(code));
  return dir;
}

const run = async (dir: string) =>
  (await promisify(execFile)(process.execPath, ["example.mjs"], { cwd: dir, timeout: 120_000 })).stdout;

describe("docs/testing.md", () => {
  it("its path runner runs as written: every generated path followed, none failed", async () => {
    const out = await run(example());
    // The figure the doc quotes is the one it prints (a reviewer found 14 quoted, 16 printed).
    const quoted = /prints `(\d+) paths, 0 failed`/.exec(doc)?.[1];
    expect(out).toMatch(new RegExp(`^${quoted} paths, 0 failed$`, "m"));
    const transitions = machineTransitions(sessionMachine).length;
    expect(out).toMatch(new RegExp(`^session: states \\d+/25 .*transitions \\d+/${transitions} `, "m"));
  }, 150_000);

  it("and catches a planted bug: a child that reports exit 1 as exit 0", async () => {
    const planted = (code: string) =>
      code.replace(
        "child.sendBack({ ...e, generation: child.generation })",
        "child.sendBack({ ...e, generation: child.generation, ...(e.exitCode === 1 ? { exitCode: 0 } : {}) })",
      );
    expect(planted("child.sendBack({ ...e, generation: child.generation })")).not.toContain("child.generation })");
    const out = await run(example(planted));
    expect(out).toMatch(/^\d+ paths, [1-9]\d* failed$/m);
  }, 150_000);

  it("its figures are the machines' own (states and transitions of both charts)", () => {
    const session = `states 25/25 (100%), transitions 137/${machineTransitions(sessionMachine).length} `;
    expect(machineStates(sessionMachine).length).toBe(25);
    expect(doc).toContain(`session: ${session}`);
    expect(doc).toContain(
      `conductor: states 5/5 (100%), transitions 16/${machineTransitions(conductorMachine).length} `,
    );
  });
});

describe("docs/testing.md's table of exports", () => {
  it("defect: every name it lists is exported by statechart-conductor/testing (was: withPrediction was not)", async () => {
    const table = doc.slice(doc.indexOf("| export "), doc.indexOf("When the chart changes"));
    const names = [...table.matchAll(/^\| (.*?) \|/gm)]
      .flatMap((row) => [...(row[1] ?? "").matchAll(/`([A-Za-z_]\w*)/g)].map((m) => m[1] as string))
      .filter((n) => n !== "export");
    expect(names.length).toBeGreaterThan(20);
    const testing = (await import("../src/testing/index.js")) as Record<string, unknown>;
    expect(names.filter((n) => !(n in testing))).toEqual([]);
  });
});
