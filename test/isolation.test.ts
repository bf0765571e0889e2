/**
 * One session cannot type into another's terminal (issue: isolation). node-pty 1.1.0 leaves each
 * pty master inheritable, so before the shim closed fds the Nth child held N-1 other masters.
 * Measured from outside through /proc (the fd table of every process carrying the test's marker),
 * and from inside: an attacker session writes into every fd it holds above 2; the victim, which
 * echoes the first line it reads, must read only what the conductor sent it.
 */
import { mkdtempSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { spawnHelper } from "../actors/pty-spawn.js";
import { type Conductor, createConductor } from "../src/conductor.js";
import { killMarked, MARK_VAR, markedProcesses, newMark, waitMarked } from "./helpers/marked.js";

const echoStdin = fileURLToPath(new URL("./fixtures/echo-stdin.mjs", import.meta.url));
const open: Conductor[] = [];
const marks: string[] = [];
afterAll(async () => {
  await Promise.all(open.map((c) => c.shutdown("test_end")));
  for (const m of marks) killMarked(m);
});

function conductor() {
  const logsDir = mkdtempSync(join(tmpdir(), "isolation-"));
  const c = createConductor({ logsDir, graceMs: 500, handleSignals: false });
  open.push(c);
  return { c, logsDir };
}

function fdTable(pid: number): Map<number, string> {
  const table = new Map<number, string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      table.set(Number(fd), readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      /* closed meanwhile */
    }
  }
  return table;
}

function waitFor(c: Conductor, event: "completed" | "inputWait" | "stateChange", id: string, to?: string) {
  return new Promise<void>((resolve) => {
    const fn = (e: { sessionId: string; to?: string }) => {
      if (e.sessionId !== id || (to && e.to !== to)) return;
      c.off(event, fn);
      resolve();
    };
    c.on(event, fn);
  });
}

describe.skipIf(process.platform !== "linux")("isolation between sessions", () => {
  it("5 sessions: every agent holds only 0, 1, 2 on its own terminal; no process holds a pty master", async () => {
    const { c } = conductor();
    const mark = newMark();
    marks.push(mark);
    for (let i = 0; i < 5; i++) {
      c.spawnSession({ id: `s${i}`, agent: "command", command: ["sleep", "300"], env: { [MARK_VAR]: mark } });
    }
    let procs = await waitMarked(mark, (n) => n >= 10, 60_000); // 5 shims + 5 sleeps
    // A shim's fork carries the mark before it execs sleep (seen once under load: 3 of 5 were sleep yet).
    const agentsOf = (list: typeof procs) => list.filter((p) => p.comm === "sleep");
    for (const until = Date.now() + 60_000; agentsOf(procs).length < 5 && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 50));
      procs = markedProcesses(mark);
    }
    const agents = agentsOf(procs);
    expect(agents).toHaveLength(5);
    const terminals = new Set<string>();
    for (const p of procs) {
      const fds = fdTable(p.pid);
      for (const target of fds.values()) expect(target).not.toMatch(/ptmx/);
      if (p.comm !== "sleep") continue;
      expect([...fds.keys()].sort()).toEqual([0, 1, 2]);
      const tty = fds.get(0)!;
      expect(tty).toMatch(/^\/dev\/pts\/\d+$/);
      expect(fds.get(1)).toBe(tty);
      terminals.add(tty);
    }
    expect(terminals.size).toBe(5);
    await c.shutdown("test_end");
  }, 180_000);

  it("through the spawn helper (no bash closes fds there): an agent holds only 0, 1, 2", async () => {
    const helper = spawnHelper();
    if (!helper) return; // no setsid: node-pty forks, the case above
    await helper.whenReady();
    const { c } = conductor();
    const mark = newMark();
    marks.push(mark);
    // A live session first: its master is open in this process while the next ones start.
    for (let i = 0; i < 3; i++) {
      c.spawnSession({ id: `h${i}`, agent: "command", command: ["sleep", "300"], env: { [MARK_VAR]: mark } });
    }
    let procs = await waitMarked(mark, (n) => n >= 6, 60_000);
    for (
      const until = Date.now() + 60_000;
      procs.filter((p) => p.comm === "sleep").length < 3 && Date.now() < until;
    ) {
      await new Promise((r) => setTimeout(r, 50));
      procs = markedProcesses(mark);
    }
    const agents = procs.filter((p) => p.comm === "sleep");
    expect(agents).toHaveLength(3);
    for (const p of procs) {
      const fds = fdTable(p.pid);
      for (const target of fds.values()) expect(target).not.toMatch(/ptmx/);
      if (p.comm === "sleep") expect([...fds.keys()].sort()).toEqual([0, 1, 2]);
    }
    expect(procs.some((p) => p.comm === "bash")).toBe(false);
    await c.shutdown("test_end");
  }, 180_000);

  it("a later session that writes into every fd it holds reaches no other session's input", async () => {
    const { c, logsDir } = conductor();
    const mark = newMark();
    marks.push(mark);
    const victimReady = waitFor(c, "stateChange", "victim", "healthy");
    c.spawnSession({ id: "victim", agent: "command", command: [process.execPath, echoStdin] });
    await victimReady;
    const attackerDone = waitFor(c, "completed", "attacker");
    const attack = [
      "n=0",
      'for f in /proc/$$/fd/*; do k=${f##*/}; [ "$k" -gt 2 ] 2>/dev/null || continue',
      `  eval "printf 'INJECTED-${mark}\\n' >&$k" 2>/dev/null && n=$((n+1)); done`,
      'echo "wrote into $n fds"',
    ].join("\n");
    c.spawnSession({ id: "attacker", agent: "command", command: ["bash", "-c", attack] });
    await attackerDone;
    const victimDone = waitFor(c, "completed", "victim");
    expect(c.sendInput("victim", `from-conductor-${mark}`)).toBe(true);
    await victimDone;
    const victimOut = readFileSync(join(logsDir, "victim.out.log"), "utf8");
    expect(victimOut).toContain(`got:from-conductor-${mark}`);
    expect(victimOut).not.toContain("INJECTED");
    expect(readFileSync(join(logsDir, "attacker.out.log"), "utf8")).toContain("wrote into 0 fds");
    await c.shutdown("test_end");
  }, 180_000);
});
