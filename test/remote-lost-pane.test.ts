/**
 * A remote agent whose pane vanishes (`tmux kill-pane`, `tmux kill-server`) while it ignores SIGHUP:
 * the hangup kills only the exit shim, so the agent lived on re-parented to pid 1, and the restart
 * ran a second copy beside it (a field review). Real sshd on 127.0.0.1, real tmux, the facade.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Conductor } from "../src/conductor.js";
import { readEventLog } from "../src/event-log.js";
import { pidsWithCmdline, withoutForks } from "./helpers/marked.js";
import { haveRemoteTools, killTmuxServer, remoteConductor, startSshd, type TestSshd, tmuxOn } from "./helpers/sshd.js";

const SOCKET = `cond-lost-${process.pid}`;
const { tmux } = tmuxOn(SOCKET);
let sshd: TestSshd;
const conductors: Conductor[] = [];
const tokens: string[] = [];

beforeAll(async () => {
  if (haveRemoteTools) sshd = await startSshd();
});

afterEach(async () => {
  for (const c of conductors.splice(0)) await c.shutdown("test_end");
});

afterAll(async () => {
  // Whatever a failed run left behind: the agents carry their test's token in their command line.
  for (const t of tokens) for (const pid of agents(t)) process.kill(pid, "SIGKILL");
  await killTmuxServer(SOCKET);
  await sshd?.stop();
});

/** The agent processes of the run carrying `token` (the shim's command line starts otherwise), not their forks. */
const agents = (token: string) => withoutForks(pidsWithCmdline(`/bin/sh -c trap '' HUP; : ${token};`, true));

/** Polls `pred` (a bound for a loaded machine, never a verdict on time). */
async function until<T>(what: string, fn: () => T | undefined | false, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let logsDir = "";
function conductor() {
  logsDir = mkdtempSync(join(tmpdir(), "conductor-remote-lost-"));
  const c = remoteConductor(sshd, SOCKET, { logsDir });
  conductors.push(c);
  return c;
}

/** A HUP-ignoring agent on "box", restarted once; resolves with its first process. */
async function hupIgnoringAgent(c: Conductor, id: string) {
  const token = randomBytes(6).toString("hex");
  tokens.push(token);
  const script = `trap '' HUP; : ${token}; while :; do echo tick; sleep 1; done`;
  c.spawnSession({
    id,
    agent: "command",
    command: ["/bin/sh", "-c", script],
    remote: true,
    host: "box",
    maxRestarts: 1,
  });
  const [first] = await until(`the agent of ${id}`, () => {
    const list = agents(token);
    return list.length > 0 && list;
  });
  return { token, first: first as number };
}

describe.runIf(haveRemoteTools)("a remote pane killed under a HUP-ignoring agent", () => {
  for (const how of ["kill-pane", "kill-server"] as const) {
    it(`${how}: the agent is ended before the restart runs one copy; none after shutdown`, async () => {
      const c = conductor();
      const id = how === "kill-pane" ? "lost-kp" : "lost-ks";
      const { token, first } = await hupIgnoringAgent(c, id);
      if (how === "kill-pane") {
        const pane = tmux("list-panes", "-t", `=${id}:`, "-F", "#{pane_id}").trim();
        tmux("kill-pane", "-t", pane);
      } else tmux("kill-server");
      // The restart's agent: by then the first must be gone (the restart waits for the reap).
      await until("the restarted agent", () => agents(token).some((p) => p !== first));
      expect(agents(token)).not.toContain(first);
      expect(agents(token)).toHaveLength(1);
      expect(c.getSnapshot().find((s) => s.id === id)?.restarts).toBe(1);
      const log = await readEventLog(c.eventLogPath);
      const lost = log.filter((l) => l.session === id && l.event === "remote.lost_pane_group");
      expect(lost).toHaveLength(1);
      expect(lost[0]).toMatchObject({ pid: expect.any(Number), found: expect.any(Number), left: [] });
      // Reported gone only after the host said so.
      const order = log.filter((l) => l.session === id).map((l) => l.event);
      expect(order.indexOf("remote.lost_pane_group")).toBeLessThan(order.indexOf("reaper.tree_gone"));
      await c.shutdown("test_end");
      expect(agents(token)).toEqual([]);
    });
  }

  it("a run that ends by itself is no lost pane: no remote.lost_pane_group, no kill sent", async () => {
    const c = conductor();
    const done = new Promise<void>((r) =>
      c.on("completed", (e: { sessionId: string }) => e.sessionId === "ends" && r()),
    );
    c.spawnSession({
      id: "ends",
      agent: "command",
      command: ["/bin/sh", "-c", "echo working; exit 0"],
      remote: true,
      host: "box",
    });
    await done;
    // Everything the run's end does (ack, pane death, window and session removed) is logged by then.
    await c.shutdown("test_end");
    const log = await readEventLog(c.eventLogPath);
    const mine = log.filter((l) => l.session === "ends").map((l) => l.event);
    expect(mine).toContain("remote.exit");
    // Nor in the run's own diagnostics: its pane's removal was not taken for a loss.
    expect(readFileSync(join(logsDir, "ends.err.log"), "utf8")).not.toMatch(/can't find pane|pane gone/);
    expect(mine).not.toContain("remote.lost_pane_group");
  });
});
