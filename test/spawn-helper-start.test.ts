/**
 * When the spawn helper starts (actors/pty-spawn.ts, issue 13). A conductor starts the helper and the
 * watchdog when it is created, so their forks are not in the first spawns' turns, and the helper
 * before any pty master of ours exists. A helper that cannot start is a clear fallback: node-pty forks
 * here, no helper is forked again per spawn, and each session's event log says why. Judged by who is
 * each session's parent and by log lines, never by elapsed time (every wait is a generous bound).
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { processWatchdog } from "../actors/orphan-watchdog.js";
import { BOOT_WAIT_TURNS, setSpawnHelper, spawnHelper } from "../actors/pty-spawn.js";
import { SpawnHelper } from "../actors/spawn-helper.js";
import { createConductor } from "../src/conductor.js";
import { statFields } from "../actors/process-identity.js";

const BOUND_MS = 60_000;
const linux = process.platform === "linux";
const logsDir = () => mkdtempSync(join(tmpdir(), "spawn-helper-start-"));
afterAll(() => setSpawnHelper(undefined));

const busy = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

/** The parent of `pid`, from /proc/<pid>/stat (undefined once it is gone). */
const ppidOf = (pid: number) => {
  const f = statFields(pid);
  return f ? Number(f[1]) : undefined;
};

async function pidsOf(c: ReturnType<typeof createConductor>, n: number): Promise<number[]> {
  const deadline = Date.now() + BOUND_MS;
  const pids = () => c.getSnapshot().flatMap((s) => (s.pid === null ? [] : [s.pid]));
  while (pids().length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return pids();
}

describe.skipIf(!linux)("the spawn helper's start", () => {
  it("starts with the conductor, before any session; once it is ready, it forks every shim", async () => {
    const shared = spawnHelper();
    if (!shared) return; // STATECHART_CONDUCTOR_SPAWN=node-pty: node-pty forks here by design
    expect(shared.pid).toBeUndefined(); // first in this file: nothing started it yet
    const c = createConductor({ logsDir: logsDir(), handleSignals: false, enableMesh: false });
    // Started by the creation itself, before any session exists, so no pty master can be inherited.
    expect(shared.pid).toBeGreaterThan(0);
    expect(processWatchdog().pid).toBeGreaterThan(0);
    await shared.whenReady();
    expect(shared.started).toBe(1);
    for (let i = 0; i < 4; i++) c.spawnSession({ id: `s${i}`, agent: "command", command: ["sleep", "300"] });
    const pids = await pidsOf(c, 4);
    expect(pids.map(ppidOf)).toEqual(pids.map(() => shared.pid));
    await c.shutdown("test_end");
  });

  /**
   * A conductor whose spawn helper never says ready (its "bash" is a sleep, the helper's argv goes
   * through it), with every turn of the loop holding 15 ms of the embedder's work before the spawn
   * queue's turn: more than the queue's whole budget. `turns` counts them; `quiet()` ends them.
   */
  async function bootingAndBusy() {
    const dir = logsDir();
    const sleeper = join(dir, "boots-forever.sh");
    writeFileSync(sleeper, "#!/bin/sh\nexec sleep 300\n", { mode: 0o755 });
    const booting = new SpawnHelper({ setsid: "/usr/bin/setsid", bash: sleeper });
    setSpawnHelper(booting);
    const c = createConductor({ logsDir: dir, handleSignals: false, enableMesh: false, graceMs: 500 });
    // A setImmediate chain, not a 1 ms interval: it runs in every check phase just before the spawn
    // queue's own immediate (queued first, it stays first). An interval re-armed after its callback may
    // not be due in the next iteration, and that turn had room: a fork while "every turn is busy" (a
    // full-suite run, once).
    const load = { turns: 0, on: true };
    const heavy = () => {
      if (!load.on) return;
      load.turns++;
      busy(15);
      setImmediate(heavy);
    };
    setImmediate(heavy);
    while (load.turns < 2) await new Promise((r) => setTimeout(r, 5));
    const end = async () => {
      load.on = false;
      if (booting.pid) process.kill(booting.pid, "SIGKILL");
      await c.shutdown("test_end");
      setSpawnHelper(undefined);
    };
    return { c, booting, load, quiet: () => (load.on = false), end };
  }

  it("while the helper boots, node-pty forks only in turns with room: none while every turn is busy", async () => {
    const { c, booting, load, quiet, end } = await bootingAndBusy();
    try {
      for (let i = 0; i < 3; i++) c.spawnSession({ id: `b${i}`, agent: "command", command: ["sleep", "300"] });
      while (load.turns < 30) await new Promise((r) => setTimeout(r, 5));
      quiet();
      expect(c.getSnapshot().map((s) => s.pid)).toEqual([null, null, null]);
      // Quiet turns: each spawn forks with node-pty here, the helper still booting.
      const pids = await pidsOf(c, 3);
      expect(pids.map(ppidOf)).toEqual([process.pid, process.pid, process.pid]);
      expect(booting.ready).toBe(false);
    } finally {
      await end();
    }
  });

  it(`a spawn waits at most ${BOOT_WAIT_TURNS} busy turns for a booting helper, then node-pty forks it`, async () => {
    // Every turn full and a helper that never gets ready (booting for seconds on a loaded machine, or
    // retired by another conductor's shutdown) held a spawn back without end before the bound.
    const { c, booting, load, quiet, end } = await bootingAndBusy();
    try {
      c.spawnSession({ id: "w0", agent: "command", command: ["sleep", "300"] });
      const started = () => c.getSnapshot().filter((s) => s.pid !== null).length;
      // A bound in turns, not in time: one queue turn and one busy turn per loop iteration.
      while (started() < 1 && load.turns < 10 * BOOT_WAIT_TURNS) await new Promise((r) => setTimeout(r, 5));
      quiet();
      expect(started()).toBe(1);
      expect(load.turns).toBeLessThan(10 * BOOT_WAIT_TURNS);
      expect(c.getSnapshot().map((s) => ppidOf(s.pid as number))).toEqual([process.pid]);
      expect(booting.ready).toBe(false);
    } finally {
      await end();
    }
  });

  it("a helper that cannot start: node-pty forks here, and each session's log says why", async () => {
    const broken = new SpawnHelper({ setsid: "/usr/bin/setsid", setpriv: "/nonexistent/setpriv" });
    setSpawnHelper(broken);
    try {
      await expect(broken.whenReady()).rejects.toThrow(/could not run.*ENOENT.*before it was ready/);
      const c = createConductor({ logsDir: logsDir(), handleSignals: false, enableMesh: false, graceMs: 500 });
      for (let i = 0; i < 3; i++)
        c.spawnSession({ id: `f${i}`, agent: "command", command: ["sh", "-c", "echo up; sleep 300"] });
      const pids = await pidsOf(c, 3);
      expect(pids.map(ppidOf)).toEqual([process.pid, process.pid, process.pid]);
      expect(broken.started).toBe(1); // not one more per conductor or per spawn
      const lines = readFileSync(c.eventLogPath, "utf8")
        .split("\n")
        .filter((l) => l.includes('"pty.helper_unavailable"'))
        .map((l) => JSON.parse(l) as { session: string; reason: string });
      expect(lines.map((l) => l.session).sort()).toEqual(["f0", "f1", "f2"]);
      for (const l of lines) expect(l.reason).toMatch(/spawn helper could not run.*node-pty forks/);
      await c.shutdown("test_end");
    } finally {
      setSpawnHelper(undefined);
    }
  });
});
