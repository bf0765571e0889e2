import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { isAlive, parseStat, readProc, snapshotProcesses } from "../actors/process-table.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("parseStat", () => {
  it("splits at the last ')' so comm may hold spaces and parentheses", () => {
    const line = "4242 (evil) (name) x) S 17 4242 4000 34816 4242 4194304 0 0 0 0";
    expect(parseStat(line)).toEqual({
      pid: 4242,
      ppid: 17,
      pgid: 4242,
      sid: 4000,
      state: "S",
      comm: "evil) (name) x",
    });
  });
  it("rejects garbage", () => {
    expect(parseStat("not a stat line")).toBeUndefined();
  });
});

describe.runIf(process.platform === "linux")("process table from /proc", () => {
  it("sees this process with its parent", async () => {
    const table = await snapshotProcesses();
    const me = table.get(process.pid);
    expect(me?.ppid).toBe(process.ppid);
    expect(me?.state).not.toBe("Z");
    expect(table.size).toBeGreaterThan(3);
  });

  it("reports a missing pid as dead", async () => {
    expect(await readProc(2 ** 22 + 7)).toBeUndefined();
    expect(await isAlive(2 ** 22 + 7)).toBe(false);
  });

  it("reports a zombie as dead, although kill(pid, 0) still succeeds", async () => {
    // The exec'd `sleep 5` never waits for the background `true`: it stays a zombie.
    const parent = spawn("/bin/sh", ["-c", "/bin/true & exec /bin/sleep 5"], { stdio: "ignore" });
    try {
      let zombie: number | undefined;
      for (let i = 0; i < 100 && zombie === undefined; i++) {
        await sleep(20);
        const t = await snapshotProcesses();
        zombie = [...t.values()].find((p) => p.ppid === parent.pid && p.state === "Z")?.pid;
      }
      expect(zombie).toBeDefined();
      expect(() => process.kill(zombie!, 0)).not.toThrow();
      expect(await isAlive(zombie!)).toBe(false);
      expect(await isAlive(parent.pid!)).toBe(true);
    } finally {
      parent.kill("SIGKILL");
    }
  });
});
