import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { createProcessReaper, familyOf } from "../actors/process-reaper.js";
import { isAlive, snapshotProcesses, type ProcessTable } from "../actors/process-table.js";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const started: ChildProcess[] = [];

/** detached: setsid(), like node-pty does for its child. */
function startDetached(argv: string[]): ChildProcess {
  const c = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ["ignore", "pipe", "ignore"] });
  started.push(c);
  return c;
}

async function sessionMembers(sid: number): Promise<number[]> {
  const t = await snapshotProcesses();
  return [...t.values()].filter((p) => p.sid === sid && p.state !== "Z").map((p) => p.pid);
}

async function waitFor(pred: () => Promise<boolean>, ms = 3000) {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error("timed out");
    await sleep(20);
  }
}

afterEach(async () => {
  // Safety net: nothing a test started may outlive it.
  for (const c of started.splice(0)) {
    for (const pid of await sessionMembers(c.pid!)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
  }
});

describe("familyOf", () => {
  const t: ProcessTable = new Map(
    [
      [100, 1, 100, 100], // root, session leader
      [101, 100, 100, 100], // child
      [102, 1, 102, 100], // orphan in its own group, same session
      [103, 102, 102, 100], // its child
      [200, 1, 200, 200], // unrelated
      [201, 103, 201, 201], // setsid'd descendant: found by the ppid walk
    ].map(([pid, ppid, pgid, sid]) => [
      pid!,
      { pid: pid!, ppid: ppid!, pgid: pgid!, sid: sid!, state: "S", comm: "x" },
    ]),
  );
  it("collects descendants, session and group members", () => {
    expect([...familyOf(t, 100, true)].sort()).toEqual([100, 101, 102, 103, 201]);
  });
  it("skips the root itself when asked (orphans only)", () => {
    expect([...familyOf(t, 100, false)].sort()).toEqual([101, 102, 103, 201]);
  });
});

describe.runIf(process.platform === "linux")("process reaper", () => {
  it("terminate ends a whole session: bash with background and foreground sleeps", async () => {
    const root = startDetached(["/bin/bash", "-c", "/bin/sleep 1000 & /bin/sleep 1000"]);
    await waitFor(async () => (await sessionMembers(root.pid!)).length >= 3);
    const family = await sessionMembers(root.pid!);
    const reaper = createProcessReaper();
    const res = await reaper.terminate(root.pid!, { graceMs: 2000, label: "t1" });
    expect(res.forced).toBe(false);
    expect(res.survivors).toEqual([]);
    // The group's SIGTERM goes first; a member it ended before its own signal is not in `signalled`
    // (seen under stress-ng --cpu 4), so: only family members were signalled, and none is alive.
    expect(res.signalled.length).toBeGreaterThan(0);
    expect(family).toEqual(expect.arrayContaining(res.signalled));
    for (const pid of family) expect(await isAlive(pid)).toBe(false);
    expect(reaper.pending).toBe(0);
  });

  it("SIGKILLs a child that traps SIGTERM once graceMs has passed", async () => {
    const root = startDetached([process.execPath, fixture("ignore-term.mjs")]);
    await new Promise((r) => root.stdout!.once("data", r));
    const reaper = createProcessReaper();
    const t0 = Date.now();
    const res = await reaper.terminate(root.pid!, { graceMs: 300 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(res.forced).toBe(true);
    expect(res.survivors).toEqual([]);
    expect(await isAlive(root.pid!)).toBe(false);
  });

  it("reapOrphans finds a grandchild whose parent already exited", async () => {
    const root = startDetached(["/bin/sh", "-c", "/bin/sleep 1000 & echo $!"]);
    const orphan = Number(await new Promise<string>((r) => root.stdout!.once("data", (d) => r(String(d)))));
    await new Promise((r) => (root.exitCode !== null ? r(null) : root.once("exit", r)));
    const t = await snapshotProcesses();
    expect(t.get(orphan)?.ppid).not.toBe(root.pid); // re-parented
    expect(t.get(orphan)?.sid).toBe(root.pid);
    const res = await createProcessReaper().reapOrphans(root.pid!, { graceMs: 1000 });
    expect(res.signalled).toEqual([orphan]);
    expect(await isAlive(orphan)).toBe(false);
  });

  it("calls arriving in the same tick share one process-table snapshot", async () => {
    const roots = Array.from({ length: 12 }, () => startDetached(["/bin/sleep", "1000"]));
    await waitFor(async () => {
      const t = await snapshotProcesses();
      return roots.every((r) => t.get(r.pid!)?.comm === "sleep");
    });
    let snapshots = 0;
    const reaper = createProcessReaper({
      snapshot: () => {
        snapshots++;
        return snapshotProcesses();
      },
    });
    const all = roots.map((r) => reaper.terminate(r.pid!, { graceMs: 2000 }));
    expect(reaper.pending).toBe(roots.length);
    await new Promise((r) => setImmediate(r)); // the batch fires on the first setImmediate
    expect(snapshots).toBe(1);
    const results = await Promise.all(all);
    // One initial read for all 12, plus re-snapshots after grace (batched when they coincide).
    expect(snapshots).toBeLessThanOrEqual(1 + roots.length);
    for (const r of results) expect(await isAlive(r.rootPid)).toBe(false);
    await reaper.whenIdle();
    expect(reaper.pending).toBe(0);
  });
});
