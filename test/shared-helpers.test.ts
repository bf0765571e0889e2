/**
 * A CLI's shared helper (actors/shared-helpers.ts): codex 0.171's TUI starts `codex app-server` as a
 * daemon that every codex on the same CODEX_HOME uses. Ended with the run that started it, it took
 * the other codex sessions down (a review: "Reconnecting to server…", then never an answer again,
 * the session `healthy`). Real processes, locally and behind a real sshd on 127.0.0.1: sessions
 * judged as codex, the first starting a stand-in daemon whose command line says `codex app-server`
 * and a plain escapee; the kill of that session ends the escapee, leaves the daemon to the others,
 * and the conductor's shutdown ends it.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentProfile } from "../machines/agents/index.js";
import { type Conductor, createConductor } from "../src/conductor.js";
import { readEventLog } from "../src/event-log.js";
import { killMarked, MARK_VAR, markedProcesses, newMark } from "./helpers/marked.js";
import { haveRemoteTools, killTmuxServer, remoteConductor, startSshd, type TestSshd } from "./helpers/sshd.js";

const marks: string[] = [];
afterAll(() => {
  for (const m of marks) killMarked(m);
});

/** The first session's script: a daemon named as codex's, a plain escapee, then work. */
const withDaemon = [
  `setsid ${process.execPath} -e 'setInterval(() => {}, 1e9)' codex app-server </dev/null >/dev/null 2>&1 &`,
  "setsid sh -c 'exec sleep 306' </dev/null >/dev/null 2>&1 &",
  "while :; do echo tick; sleep 1; done",
].join("\n");
const working = "while :; do echo tock; sleep 1; done";

const cmdlineHas = (pid: number, text: string) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "latin1").includes(text);
  } catch {
    return false;
  }
};
const isDaemon = (pid: number) => cmdlineHas(pid, "codex\0app-server");

/** Bounded poll (a loaded machine), never a verdict on time. */
async function until(what: string, pred: () => boolean, ms = 60_000) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function daemonOutlivesItsSession(c: Conductor, where: Record<string, unknown>) {
  const mark = newMark();
  marks.push(mark);
  const session = (id: string, script: string) =>
    c.spawnSession({
      id,
      agent: "command",
      judgeAs: "codex",
      command: ["/bin/sh", "-c", script],
      env: { [MARK_VAR]: mark },
      maxRestarts: 0,
      probeOpts: { stallMs: 600_000, startupTimeoutMs: 600_000 },
      ...where,
    });
  session("a", withDaemon);
  session("b", working);
  const daemon = () => markedProcesses(mark).find((p) => isDaemon(p.pid));
  const escapee = () => markedProcesses(mark).find((p) => cmdlineHas(p.pid, "sleep\u0000306"));
  await until("the daemon and the escapee", () => daemon() !== undefined && escapee() !== undefined);
  const pid = daemon()?.pid as number;
  await c.killSession("a");
  expect(escapee()).toBeUndefined(); // the run's own escapee ended with it
  expect(daemon()?.pid).toBe(pid); // the shared one left to the session still using it
  // Out of the run's cgroup where runs have one (root): the run's cgroup goes, the conductor's holds it.
  expect(readFileSync(`/proc/${pid}/cgroup`, "utf8")).not.toMatch(/\/run\.\d+\.a\b/);
  expect(c.getSnapshot().find((s) => s.id === "b")?.state).toBe("healthy");
  await c.shutdown("test_end");
  expect(markedProcesses(mark)).toEqual([]); // the conductor's end ends it
  return { pid, log: await readEventLog(c.eventLogPath) };
}

describe("a shared helper outlives the run that started it, not the conductor", () => {
  it("locally: killSession leaves it (and takes it out of the run's cgroup); shutdown ends it", async () => {
    const c = createConductor({
      logsDir: mkdtempSync(join(tmpdir(), "shared-helpers-")),
      handleSignals: false,
      graceMs: 500,
    });
    const { pid, log } = await daemonOutlivesItsSession(c, {});
    const kept = log.filter((l) => l.event === "reaper.helpers_kept");
    expect(kept.length).toBeGreaterThan(0);
    expect(kept[0]).toMatchObject({ pids: [pid] });
  }, 120_000);

  describe.runIf(haveRemoteTools)("behind a real sshd", () => {
    const socket = `cond-shared-${process.pid}`;
    let sshd: TestSshd;
    beforeAll(async () => {
      sshd = await startSshd();
    });
    afterAll(async () => {
      await killTmuxServer(socket);
      await sshd?.stop();
    });

    it("killSession's sweep keeps it (remote.escapees kept); the shutdown's sweep of the owner ends it", async () => {
      const c = remoteConductor(sshd, socket);
      const { pid, log } = await daemonOutlivesItsSession(c, { remote: true, host: "box" });
      const lines = log.filter((l) => l.event === "remote.escapees");
      expect(lines.find((l) => l.session === "a")).toMatchObject({ kept: [{ pid, comm: "node" }], left: [] });
      expect(lines.find((l) => l.owner === true)).toMatchObject({ found: [{ pid, comm: "node" }], left: [] });
    }, 120_000);
  });
});

describe("the profiles' shared helpers, by their command lines", () => {
  const named = (agent: "codex" | "gemini", cmdline: string) =>
    (agentProfile(agent).sharedHelpers ?? []).some((re) => re.test(cmdline));
  it("codex's app-server daemon and its pid loop; never the TUI or exec", () => {
    expect(
      named("codex", "/h/.codex/packages/app-server-daemon/releases/0.171.0/bin/codex app-server --listen unix://"),
    ).toBe(true);
    expect(
      named(
        "codex",
        "/h/.codex/packages/app-server-daemon/releases/0.171.0/bin/codex app-server daemon pid-update-loop",
      ),
    ).toBe(true);
    expect(named("codex", "node /x/bin/codex exec --json hello")).toBe(false);
    expect(named("codex", "/x/codex/codex")).toBe(false);
  });
  it("gemini's LiteRT server (its Gemma router), started detached and shared by its port", () => {
    expect(named("gemini", "/h/.gemini/bin/litert/lit.linux_x86_64 serve --port=9379 --verbose")).toBe(true);
    expect(named("gemini", "node --max-old-space-size=4096 /x/bundle/gemini.js")).toBe(false);
  });
});
