import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { COOKIE_VAR, endCarriers, environReadCount, pidsCarrying } from "../actors/env-cookie.js";
import { inWindow, type SpawnMark, spawnMark, windowBetween } from "../actors/pid-window.js";
import { createProcessReaper } from "../actors/process-reaper.js";
import { isAlive, snapshotProcesses } from "../actors/process-table.js";
import { killMarked, MARK_VAR, type MarkedProcess, markedProcesses, newMark, waitMarked } from "./helpers/marked.js";

const mark = (lastPid: number, forks: number, threads = 100, pidMax = 32768): SpawnMark => ({
  lastPid,
  forks,
  threads,
  pidMax,
});

describe("pid window", () => {
  it("is the ring interval (last pid at the mark, last pid now]", () => {
    const w = windowBetween(mark(1000, 50_000), mark(1200, 50_300));
    expect(w).toEqual({ from: 1000, to: 1200 });
    expect([1000, 1001, 1200, 1201, 5].map((p) => inWindow(w!, p))).toEqual([false, true, true, false, false]);
  });

  it("wraps past pid_max to the low pids", () => {
    const w = windowBetween(mark(32_700, 50_000), mark(400, 50_500));
    expect(w).toEqual({ from: 32_700, to: 400 });
    expect([32_701, 32_767, 300, 400, 401, 32_700].map((p) => inWindow(w!, p))).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
    ]);
  });

  it("has no bound once enough forks happened for the allocator to have gone round", () => {
    // Half of (pid_max − 300 − threads in use) forks: it may have wrapped all the way to the same place.
    expect(windowBetween(mark(1000, 0), mark(1000, 16_184))).toBeUndefined();
    expect(windowBetween(mark(1000, 0), mark(1000, 16_183))).toEqual({ from: 1000, to: 1000 });
    expect(windowBetween(undefined, mark(1, 1))).toBeUndefined();
    expect(windowBetween(mark(1, 1), undefined)).toBeUndefined();
  });
});

const marks: string[] = [];
const started: ChildProcess[] = [];
/** A fresh test mark (killed after the file) and a conductor-like cookie scope; `env` for one run. */
function carrierScope() {
  const m = newMark();
  marks.push(m);
  const scope = `${newMark()}.${newMark()}.`;
  const env = (run: string) => ({ ...process.env, [MARK_VAR]: m, [COOKIE_VAR]: `${scope}${run}` });
  return { m, scope, env };
}
afterAll(() => {
  for (const m of marks) killMarked(m);
  for (const c of started) c.kill("SIGKILL");
});

describe.runIf(process.platform === "linux")("pid window on this machine", () => {
  it("holds a process spawned after the mark and not this older one", async () => {
    const before = spawnMark();
    expect(before).toBeDefined();
    const c = spawn("/bin/sleep", ["30"], { stdio: "ignore" });
    started.push(c);
    const w = windowBetween(before, spawnMark());
    expect(w).toBeDefined();
    expect(inWindow(w!, c.pid!)).toBe(true);
    expect(inWindow(w!, process.pid)).toBe(false);
    c.kill("SIGKILL");
  });

  it("a windowed reap after a natural exit finds a setsid + double-fork escapee by its cookie", async () => {
    const m = newMark();
    marks.push(m);
    const cookie = `${newMark()}.${newMark()}`;
    const since = spawnMark();
    // The root leaves a setsid'd grandchild behind and exits: no session, group or parent link left.
    const root = spawn("/bin/sh", ["-c", "setsid sh -c 'sleep 300 &'; exit 0"], {
      detached: true,
      stdio: "ignore",
      env: { ...process.env, [MARK_VAR]: m, [COOKIE_VAR]: cookie },
    });
    started.push(root);
    await new Promise((r) => root.once("exit", r));
    const [escapee] = await waitMarked(m, (_, l) => isEscapeeAlone(l, []), 30_000);
    expect(escapee).toBeDefined();
    const sid = (await snapshotProcesses()).get(escapee!.pid)?.sid;
    expect(sid).not.toBe(root.pid); // outside the session: only the cookie can find it

    const asked: boolean[] = [];
    const reaper = createProcessReaper({
      snapshot: (only) => {
        asked.push(only !== undefined && !only(process.pid)); // read through a window without us in it
        return snapshotProcesses(only);
      },
    });
    const res = await reaper.reapOrphans(root.pid!, { graceMs: 1000, cookie, since });
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.every(Boolean)).toBe(true);
    expect(res.signalled).toContain(escapee!.pid);
    expect(res.survivors).toEqual([]);
    expect(await isAlive(escapee!.pid)).toBe(false);
    expect(markedProcesses(m)).toEqual([]);
  }, 60_000);

  it("endCarriers since a mark reads only newer pids, and still ends a setsid + double-fork escapee", async () => {
    const { m, scope, env } = carrierScope();
    // A carrier older than the mark: none can exist for a real scope (its cookie is made after the
    // mark), so it shows what is read: it must be left alone by the bounded check, ended by a full one.
    const old = spawn("/bin/sleep", ["300"], { detached: true, stdio: "ignore", env: env("old") });
    started.push(old);
    const since = spawnMark();
    const root = spawn("/bin/sh", ["-c", "setsid sh -c 'sleep 300 &'; exit 0"], {
      detached: true,
      stdio: "ignore",
      env: env("run"),
    });
    started.push(root);
    await new Promise((r) => root.once("exit", r));
    const list = await waitMarked(m, (_, l) => isEscapeeAlone(l, [old.pid as number]), 30_000);
    const escapee = list.find((p) => p.pid !== old.pid);
    expect(escapee).toBeDefined();

    // One bounded pass reads the window, not the machine (endCarriers repeats passes until the
    // escapee is gone, so its own count grows with the polls a loaded machine needs).
    const pidsNow = (await snapshotProcesses()).size;
    const before = environReadCount();
    const carriers = await pidsCarrying(scope, since);
    expect(carriers).toContain(escapee!.pid);
    expect(carriers).not.toContain(old.pid);
    expect(environReadCount() - before).toBeLessThan(pidsNow);
    expect(await endCarriers(scope, 5000, since)).toEqual([]);
    expect(await isAlive(escapee!.pid)).toBe(false);
    expect(await isAlive(old.pid!)).toBe(true); // outside the window: not even read

    expect(await endCarriers(scope)).toEqual([]); // no mark: every environ, the old carrier's too
    expect(await isAlive(old.pid!)).toBe(false);
    expect(markedProcesses(m)).toEqual([]);
  }, 60_000);

  it("endCarriers ends carriers forked while it works: a setsid escapee that keeps forking long sleeps", async () => {
    const { m, scope, env } = carrierScope();
    const since = spawnMark();
    // Forks a `sleep 300` every few ms until it is killed: some are born between a poll's listing and
    // its kill, and only a later poll can end them.
    const forker = "while :; do sleep 300 & sleep 0.003; done";
    const root = spawn("/bin/sh", ["-c", `setsid sh -c '${forker}' & exit 0`], {
      detached: true,
      stdio: "ignore",
      env: env("run"),
    });
    started.push(root);
    await waitMarked(m, (n) => n >= 5, 30_000);
    expect(await endCarriers(scope, 15_000, since)).toEqual([]);
    expect(markedProcesses(m)).toEqual([]);
  }, 60_000);

  it("a windowed reap of a tree that is gone signals nothing", async () => {
    const since = spawnMark();
    const root = spawn("/bin/true", [], { detached: true, stdio: "ignore" });
    await new Promise((r) => root.once("exit", r));
    const res = await createProcessReaper().reapOrphans(root.pid!, { graceMs: 1000, cookie: newMark(), since });
    expect(res).toEqual({ rootPid: root.pid, signalled: [], forced: false, survivors: [] });
  });
});

/**
 * The escapee (`sleep`) is there and the setsid'd `sh` that forked it is gone: under load a listing
 * can catch that `sh` before it exits, and taking it for the escapee failed the test once (its pid
 * was gone by the time the carriers were read).
 */
function isEscapeeAlone(list: MarkedProcess[], others: number[]): boolean {
  const rest = list.filter((p) => !others.includes(p.pid));
  return rest.length === 1 && rest[0]?.comm === "sleep";
}
