/**
 * Supervisor death leaves nothing alive (issue: orphan-proof sessions). A real embedding process
 * runs four session shapes (plain, HUP/TERM-ignoring, background grandchildren, a setsid +
 * double-fork escapee); it is killed by each fault; every process carrying the test's marker must
 * be gone. Counted by env marker, never by path. The bound is generous: a verdict waits on /proc.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { processWatchdog } from "../actors/orphan-watchdog.js";
import { processCgroup } from "../actors/process-cgroup.js";
import { distModule } from "./helpers/dist.js";
import { killMarked, markedProcesses, newMark, pidsWithCmdline, waitMarked } from "./helpers/marked.js";

const { built } = distModule("src/index.js");
const embedder = fileURLToPath(new URL("./fixtures/orphan-embedder.mjs", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "orphans-test-"));
const marks: string[] = [];
afterAll(() => {
  for (const m of marks) killMarked(m);
  rmSync(tmp, { recursive: true, force: true });
});

/** Leaves of the four shapes: 1 + 1 + 2 + 2 `sleep 300` (the escapee's is outside the session). */
const SLEEPS = 6;
const BOUND_MS = 60_000;

async function startEmbedder(): Promise<{ child: ChildProcess; mark: string; exited: Promise<number | null> }> {
  const mark = newMark();
  marks.push(mark);
  const child = spawn(process.execPath, [embedder, mkdtempSync(join(tmp, "logs-")), mark], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    child.on("error", reject);
    child.stdout?.on("data", (d: Buffer) => String(d).includes("ready") && resolve());
  });
  const sleeps = () => markedProcesses(mark).filter((p) => p.comm === "sleep").length;
  const deadline = Date.now() + BOUND_MS;
  while (sleeps() < SLEEPS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(sleeps()).toBe(SLEEPS);
  return { child, mark, exited };
}

describe.skipIf(!built || process.platform !== "linux")("supervisor death", () => {
  it.each([
    ["SIGKILL", null],
    ["SIGHUP", 129],
    ["SIGTERM", 143],
    ["SIGINT", 130],
  ] as const)(
    "%s of the embedding process: no process of any tree survives",
    async (signal, code) => {
      const { child, mark, exited } = await startEmbedder();
      child.kill(signal);
      expect(await exited).toBe(code);
      const left = await waitMarked(mark, (n) => n === 0, BOUND_MS);
      expect(left.map((p) => `${p.pid}:${p.comm}`)).toEqual([]);
    },
    3 * BOUND_MS,
  );

  it("a killed watchdog is restarted and still knows every live tree", async () => {
    const dog = processWatchdog();
    dog.watch(2 ** 22 + 1); // a pid that cannot exist: only the restart is under test
    const first = dog.pid!;
    process.kill(first, "SIGKILL");
    const deadline = Date.now() + BOUND_MS;
    while ((dog.pid === first || dog.pid === undefined) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(dog.pid).not.toBe(first);
    expect(dog.pid).toBeGreaterThan(0);
    dog.forget(2 ** 22 + 1);
  });
});

/**
 * `setsid env -i …` leaves the session and drops the env cookie: only the per-process cgroup
 * (actors/process-cgroup.ts) still holds it. Where no cgroup can be made (a container's read-only
 * /sys/fs/cgroup, not root) this shape survives, as docs/reliability.md says: skipped there.
 */
describe.skipIf(!built || process.platform !== "linux" || processCgroup() === null)("a cookie-less escapee", () => {
  it(
    "SIGKILL of the embedding process: the setsid env -i escapee in its cgroup dies too",
    async () => {
      const mark = newMark();
      const script = `sh -c 'sleep 300; : ${mark}'`;
      const code = [
        `const { createConductor } = await import(${JSON.stringify(distModule("src/index.js").path)});`,
        `const c = createConductor({ logsDir: ${JSON.stringify(mkdtempSync(join(tmp, "logs-")))}, graceMs: 500 });`,
        `c.spawnSession({ id: "e", agent: "command", command: ["sh", "-c", ${JSON.stringify(`setsid env -i ${script} & sleep 300`)}] });`,
        "setInterval(() => {}, 60000);",
      ].join("\n");
      const child = spawn(process.execPath, ["--input-type=module", "-e", code], { stdio: "inherit" });
      const exited = new Promise<void>((r) => child.on("exit", () => r()));
      const escapee = () => pidsWithCmdline(`sh -c sleep 300; : ${mark}`, true);
      const deadline = Date.now() + BOUND_MS;
      while (escapee().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const [pid] = escapee();
      expect(pid).toBeGreaterThan(0);
      // It really left: another session, and no cookie in its environment.
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      expect(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]).toBe(String(pid));
      expect(readFileSync(`/proc/${pid}/environ`, "latin1")).not.toContain("STATECHART_CONDUCTOR=");
      child.kill("SIGKILL");
      await exited;
      const gone = Date.now() + BOUND_MS;
      while (escapee().length > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 50));
      const left = escapee();
      for (const p of left) process.kill(p, "SIGKILL");
      expect(left).toEqual([]);
    },
    3 * BOUND_MS,
  );
});

/**
 * While the conductor lives, a run's cookie-less escapee dies with its run: each run has a cgroup of its
 * own (process-cgroup.ts `runCgroup`), which its reap ends. Before, the cgroup was one per process: 4
 * escapees of 4 runs were alive after `dead`, until shutdown.
 */
describe.skipIf(!built || process.platform !== "linux" || processCgroup() === null)(
  "a cookie-less escapee of a run",
  () => {
    it(
      "dies with its run (an exit, and killSession), while the conductor lives on",
      async () => {
        const { createConductor } = (await import(distModule("src/index.js").path)) as typeof import("../src/index.js");
        // The conductor's own module's cgroup (dist), not this file's import of the source.
        const cgroups = (await import(
          distModule("actors/process-cgroup.js").path
        )) as typeof import("../actors/process-cgroup.js");
        const mark = newMark();
        marks.push(mark);
        const escapee = (tag: string) => pidsWithCmdline(`sh -c sleep 300; : ${mark} ${tag}`, true);
        const c = createConductor({ logsDir: mkdtempSync(join(tmp, "logs-")), graceMs: 500, maxRestarts: 0 });
        const escaping = (tag: string) => `setsid env -i sh -c 'sleep 300; : ${mark} ${tag}' &`;
        try {
          // One run that exits at once leaving its escapee, one that lives on until killSession.
          const exited = new Promise((r) =>
            c.on("completed", (e: { sessionId: string }) => e.sessionId === "x" && r(e)),
          );
          c.spawnSession({ id: "x", agent: "command", command: ["sh", "-c", `${escaping("x")} sleep 0.5`] });
          c.spawnSession({ id: "k", agent: "command", command: ["sh", "-c", `${escaping("k")} sleep 300`] });
          const seen = Date.now() + BOUND_MS;
          while ((escapee("x").length === 0 || escapee("k").length === 0) && Date.now() < seen)
            await new Promise((r) => setTimeout(r, 50));
          expect(escapee("x")).toHaveLength(1);
          expect(escapee("k")).toHaveLength(1);
          const [k] = escapee("k");
          expect(readFileSync(`/proc/${k}/environ`, "latin1")).not.toContain("STATECHART_CONDUCTOR=");
          await exited;
          await c.killSession("k");
          const gone = Date.now() + BOUND_MS;
          while ((escapee("x").length > 0 || escapee("k").length > 0) && Date.now() < gone)
            await new Promise((r) => setTimeout(r, 50));
          expect({ x: escapee("x"), k: escapee("k") }).toEqual({ x: [], k: [] });
          // The run's cgroups are removed once empty: none is left under the process's.
          const own = cgroups.processCgroup() as string;
          expect(own).not.toBeNull();
          const runs = () => readdirSync(own).filter((n) => n.startsWith("run."));
          const emptied = Date.now() + BOUND_MS;
          while (runs().length > 0 && Date.now() < emptied) await new Promise((r) => setTimeout(r, 50));
          expect(runs()).toEqual([]);
        } finally {
          await c.shutdown();
        }
      },
      3 * BOUND_MS,
    );
  },
);
