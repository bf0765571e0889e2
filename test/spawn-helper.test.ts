/**
 * The spawn helper (actors/spawn-helper.ts): the process that forks every local session's shim.
 * Real processes and real ptys: a bad request gets an answer naming what was wrong, the helper's
 * death fails what it had not started and ends what it had with the reason (then a new helper
 * takes over), and the embedding process's SIGKILL leaves neither the helper nor an agent alive.
 * Every wait is a generous bound; verdicts come from events and /proc, never from elapsed time.
 */
import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { spawnHelper } from "../actors/pty-spawn.js";
import { type HelperExit, SpawnHelper } from "../actors/spawn-helper.js";
import { ptyNative } from "../actors/spawn-pty-term.js";
import { createConductor } from "../src/conductor.js";
import { isProcessAlive, statFields } from "../actors/process-identity.js";
import { distModule } from "./helpers/dist.js";
import { killMarked, markedProcesses, newMark, waitMarked } from "./helpers/marked.js";

const BOUND_MS = 60_000;
const linux = process.platform === "linux";
const helpers: SpawnHelper[] = [];
const marks: string[] = [];
afterAll(() => {
  for (const h of helpers) h.stop();
  for (const m of marks) killMarked(m);
});

function helper(): SpawnHelper {
  const h = new SpawnHelper({ setsid: "/usr/bin/setsid" });
  helpers.push(h);
  return h;
}

/** A fresh pty: the helper is handed its slave's name; the master is closed after the test's child ends. */
function pty(): { master: number; tty: string } {
  const { master, slave, pty: tty } = ptyNative().open(80, 24);
  closeSync(slave);
  return { master, tty };
}

function exitOf(h: SpawnHelper, args: string[], tty = pty().tty) {
  let onExit: (e: HelperExit) => void = () => {};
  const exit = new Promise<HelperExit>((r) => {
    onExit = r;
  });
  const pid = h.spawn({ tty, file: "/bin/sh", args, cwd: "/", env: { PATH: "/usr/bin:/bin" } }, onExit);
  return { pid, exit };
}

describe.skipIf(!linux)("spawn helper", () => {
  it("answers a bad request with what was wrong, and keeps serving", async () => {
    const h = helper();
    await expect(exitOf(h, ["-c", "exit 0"], "/nonexistent/pts/9").pid).rejects.toThrow(
      /ENOENT.*\/nonexistent\/pts\/9/,
    );
    await expect(exitOf(h, ["-c", "echo a\0b"]).pid).rejects.toThrow(/null bytes/);
    const run = exitOf(h, ["-c", "exit 7"]);
    expect(await run.pid).toBeGreaterThan(0);
    expect(await run.exit).toEqual({ code: 7, signal: null });
    expect(h.started).toBe(1);
  });

  it("dies: an unanswered spawn fails with the reason, a started child's exit says why, the next spawn restarts it", async () => {
    const h = helper();
    const running = exitOf(h, ["-c", "sleep 300"]);
    await running.pid;
    const first = h.pid as number;
    // Stopped before the request is written: on a loaded machine a running helper could answer it in the
    // moment between the write and the SIGKILL, and the request must stay unanswered.
    process.kill(first, "SIGSTOP");
    await waitUntil(() => statFields(first)?.[0] === "T");
    const pending = exitOf(h, ["-c", "exit 0"]);
    process.kill(first, "SIGKILL");
    await expect(pending.pid).rejects.toThrow(
      `the spawn helper (pid ${first}) died (signal SIGKILL) before it started`,
    );
    expect(await running.exit).toEqual({ code: null, signal: "SIGKILL", lost: expect.stringContaining("died") });
    const next = exitOf(h, ["-c", "exit 3"]);
    await next.pid;
    expect(h.pid).not.toBe(first);
    expect(h.started).toBe(2);
    expect(await next.exit).toEqual({ code: 3, signal: null });
  });

  it(
    "the first bytes a child prints are never lost, through the helper or node-pty while it starts",
    async () => {
      const c = createConductor({ logsDir: mkdtempSync(join(tmpdir(), "spawn-helper-")), handleSignals: false });
      const seen = new Set<string>();
      c.on("stateChange", (e: { sessionId: string; to: string }) => e.to === "healthy" && seen.add(e.sessionId));
      // Half spawn before the helper is ready (node-pty here), half after (the helper): all print at once.
      for (let i = 0; i < 4; i++)
        c.spawnSession({ id: `early${i}`, agent: "command", command: ["sh", "-c", "echo up; sleep 300"] });
      await spawnHelper()?.whenReady();
      for (let i = 0; i < 4; i++)
        c.spawnSession({ id: `late${i}`, agent: "command", command: ["sh", "-c", "echo up; sleep 300"] });
      const deadline = Date.now() + BOUND_MS;
      while (seen.size < 8 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect([...seen].sort()).toEqual([0, 1, 2, 3].flatMap((i) => [`early${i}`, `late${i}`]).sort());
      await c.shutdown("test_end");
    },
    2 * BOUND_MS,
  );

  it(
    "killed under a running session: the run ends with the reason logged, the restart gets a new helper",
    async () => {
      const shared = spawnHelper();
      if (!shared) return; // node-pty forks here (STATECHART_CONDUCTOR_SPAWN=node-pty): nothing to kill
      const logsDir = mkdtempSync(join(tmpdir(), "spawn-helper-"));
      const c = createConductor({ logsDir, handleSignals: false, enableMesh: false });
      await shared.whenReady(); // until then node-pty forks here (pty-spawn.ts): the helper would have nothing to lose
      c.spawnSession({ id: "a", agent: "command", command: ["sleep", "300"], maxRestarts: 1 });
      const deadline = Date.now() + BOUND_MS;
      while ((c.getSnapshot()[0]?.pid ?? null) === null && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      const first = shared.pid as number;
      const firstPid = c.getSnapshot()[0]?.pid;
      process.kill(first, "SIGKILL");
      while ((c.getSnapshot()[0]?.pid ?? firstPid) === firstPid && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      const lost = readFileSync(c.eventLogPath, "utf8")
        .split("\n")
        .filter((l) => l.includes('"pty.helper_lost"'));
      expect(lost).toHaveLength(1);
      expect(lost[0]).toContain(`the spawn helper (pid ${first}) died (signal SIGKILL)`);
      expect(readFileSync(join(logsDir, "a.err.log"), "utf8")).toContain("killed with the spawn helper");
      expect(c.getSnapshot()[0]?.pid).not.toBe(firstPid);
      expect(shared.pid).not.toBe(first);
      await c.shutdown("test_end");
    },
    2 * BOUND_MS,
  );
});

const quietConductor = (logsDir: string) => createConductor({ logsDir, handleSignals: false, enableMesh: false });
/** The shared helper was retired: no pid any more, and its process is gone. */
async function expectRetired(shared: { pid: number | undefined }, helperPid: number): Promise<void> {
  expect(shared.pid).toBeUndefined();
  await waitUntil(() => !isProcessAlive(helperPid));
  expect(isProcessAlive(helperPid)).toBe(false);
}

describe("the shared spawn helper and shutdown", () => {
  it.skipIf(!linux)(
    "a conductor's shutdown leaves the helper to the conductors still live in the process",
    async () => {
      const shared = spawnHelper();
      if (!shared) return; // node-pty forks here (STATECHART_CONDUCTOR_SPAWN=node-pty): no helper to end
      const dir = mkdtempSync(join(tmpdir(), "spawn-helper-two-"));
      const a = quietConductor(join(dir, "a"));
      const b = quietConductor(join(dir, "b"));
      await shared.whenReady();
      const helperPid = shared.pid as number;
      await a.shutdown("test_end");
      // b still uses it (before, a's shutdown retired it and b's next spawn waited for another boot).
      expect(shared.pid).toBe(helperPid);
      expect(isProcessAlive(helperPid)).toBe(true);
      await b.shutdown("test_end");
      await expectRetired(shared, helperPid);
    },
  );

  it.skipIf(!linux)(
    "the last conductor's shutdown ends the idle helper; the next spawn starts a new one",
    async () => {
      const shared = spawnHelper();
      if (!shared) return; // node-pty forks here (STATECHART_CONDUCTOR_SPAWN=node-pty): no helper to end
      const logsDir = mkdtempSync(join(tmpdir(), "spawn-helper-retire-"));
      const first = quietConductor(logsDir);
      await shared.whenReady();
      const helperPid = shared.pid as number;
      const done = new Promise((r) => first.on("completed", r));
      first.spawnSession({ id: "a", agent: "command", command: ["sh", "-c", "echo one"] });
      await done;
      await first.shutdown("test_end");
      await expectRetired(shared, helperPid);

      const second = quietConductor(logsDir);
      await shared.whenReady();
      expect(shared.pid).not.toBe(helperPid);
      const again = new Promise((r) => second.on("completed", r));
      second.spawnSession({ id: "b", agent: "command", command: ["sh", "-c", "echo two"] });
      await again;
      expect(readFileSync(join(logsDir, "b.out.log"), "utf8")).toContain("two");
      await second.shutdown("test_end");
    },
    2 * BOUND_MS,
  );
});

async function waitUntil(done: () => boolean): Promise<void> {
  const deadline = Date.now() + BOUND_MS;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

const { built } = distModule("src/index.js");
const embedder = fileURLToPath(new URL("./fixtures/orphan-embedder.mjs", import.meta.url));

describe.skipIf(!built || !linux)("spawn helper from the built package", () => {
  it("an awaited answer keeps the process alive, an idle helper does not", () => {
    // A script whose only pending work is the spawn: it must get the child's exit, then end by itself.
    const script = `
      const { closeSync } = await import("node:fs");
      const { SpawnHelper } = await import(${JSON.stringify(distModule("actors/spawn-helper.js").path)});
      const { ptyNative } = await import(${JSON.stringify(distModule("actors/spawn-pty-term.js").path)});
      const h = new SpawnHelper({ setsid: "/usr/bin/setsid" });
      const { master, slave, pty } = ptyNative().open(80, 24);
      closeSync(slave);
      const env = { PATH: "/usr/bin:/bin" };
      const exit = await new Promise((r) => h.spawn({ tty: pty, file: "/bin/sh", args: ["-c", "exit 5"], cwd: "/", env }, r));
      closeSync(master);
      console.log(JSON.stringify(exit));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: BOUND_MS,
    });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe(JSON.stringify({ code: 5, signal: null }));
    expect(r.status).toBe(0);
  });
});

describe.skipIf(!built || !linux)("spawn helper and the embedding process's death", () => {
  it(
    "SIGKILL of the embedding process: neither the helper nor any agent survives",
    async () => {
      const mark = newMark();
      marks.push(mark);
      // The mark in the embedder's own env: the helper inherits it, so it is counted too.
      const child = spawn(process.execPath, [embedder, mkdtempSync(join(tmpdir(), "spawn-helper-logs-")), mark], {
        stdio: ["ignore", "pipe", "inherit"],
        env: { ...process.env, CONDUCTOR_TEST_MARK: mark },
      });
      const exited = new Promise((r) => child.on("exit", r));
      await new Promise<void>((resolve) =>
        child.stdout?.on("data", (d: Buffer) => String(d).includes("ready") && resolve()),
      );
      const isHelper = (pid: number) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("conductor-spawn-helper");
        } catch {
          return false; // gone since the list was read
        }
      };
      // Judged on the very list that had the six sleeps: waitMarked's own list is read before the
      // predicate's, and under load it was the embedder alone (2 of 6 runs at load 18).
      let seen: ReturnType<typeof markedProcesses> = [];
      await waitMarked(
        mark,
        () => {
          seen = markedProcesses(mark);
          return seen.filter((p) => p.comm === "sleep").length >= 6;
        },
        BOUND_MS,
      );
      expect(seen.filter((p) => p.comm === "sleep").length).toBeGreaterThanOrEqual(6);
      expect(seen.filter((p) => isHelper(p.pid))).toHaveLength(1);
      child.kill("SIGKILL");
      await exited;
      const left = await waitMarked(mark, (n) => n === 0, BOUND_MS);
      expect(left.map((p) => `${p.pid}:${p.comm}`)).toEqual([]);
    },
    3 * BOUND_MS,
  );
});
