/**
 * `attach: true` against a real sshd and tmux: a watched pane whose program exits without
 * `remain-on-exit` gives its exit code (the pane is held open while watched, then closed as tmux
 * would have closed it), its end is not restarted, and a restart of a target that is gone or dead
 * is refused at once with what to do. Before: `remote_pane_gone` without a code, then every restart
 * failed with "can't find session" until maxRestarts was spent.
 */
import { describe, expect, it } from "vitest";
import { readEventLog } from "../src/event-log.js";
import { haveRemoteTools, remoteSuite, tmuxOn } from "./helpers/sshd.js";
import { waitUntil } from "./helpers/wait-until.js";

const SOCKET = `cond-attach-${process.pid}`;
const { tmux, sessions, userSession } = tmuxOn(SOCKET);
// Bounds for a loaded machine, never verdicts.
const BOUND_MS = 60_000;
const suite = remoteSuite(SOCKET);

/** The user's own tmux session `name` (the default remain-on-exit: off) running `script`. */
const theirs = userSession;

const watch = (id: string, sessionName: string) =>
  suite.c.spawnSession({
    id,
    agent: "command",
    command: ["true"],
    remote: true,
    host: "box",
    attach: true,
    sessionName,
  });

/** The pane-level remain-on-exit of the user's session `name` ("" when the pane has none of its own). */
const paneOption = (name: string) => tmux("show-options", "-p", "-v", "-t", `=${name}:`, "remain-on-exit").trim();
const view = (id: string) => suite.c.getSnapshot().find((s) => s.id === id);
const lines = async (id: string) =>
  ((await readEventLog(suite.c.eventLogPath)) as Record<string, unknown>[]).filter((l) => l.session === id);
/** The event log has `event` for the session (a bound, not a verdict). */
async function logged(id: string, event: string): Promise<void> {
  const end = Date.now() + BOUND_MS;
  while (!(await lines(id)).some((l) => l.event === event)) {
    if (Date.now() > end) throw new Error(`no ${event} for ${id} within ${BOUND_MS} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const final = (id: string) =>
  waitUntil(() => ["dead", "completed"].includes(view(id)?.state ?? ""), `${id} final`, BOUND_MS);

describe.runIf(haveRemoteTools)("attach: true", () => {
  it("a watched program's exit code is known, its end is not restarted, and its pane closes as tmux would", async () => {
    theirs("exits", "echo theirs up; read x; echo bye; exit 7");
    watch("w1", "exits");
    await logged("w1", "remote.spawned");
    expect(suite.c.sendInput("w1", "go")).toBe(true);
    await final("w1");
    expect(view("w1"), JSON.stringify(await lines("w1"))).toMatchObject({
      state: "dead",
      restarts: 0,
      exit: { exitCode: 7, signal: null },
      failureMode: "config",
      reason: "not_restartable:config",
    });
    expect(view("w1")?.lastError).toMatch(
      /attached pane %\d+ \(tmux target "=exits:"\) exited with code 7; attach: true/,
    );
    const log = await lines("w1");
    expect(log.filter((l) => l.event === "remote.spawn_error")).toEqual([]); // was: "can't find session", twice
    expect(log.find((l) => l.event === "remote.exit")).toMatchObject({ exitCode: 7, reason: "attached_pane_exited" });
    // Held open only while watched: then closed, as tmux closes a pane without remain-on-exit.
    await waitUntil(() => !sessions().includes("exits"), "the user's session to end with its pane", BOUND_MS);
  }, 240_000);

  it("a restart of a target that is gone is refused at once, saying what to do; once it is back, it runs", async () => {
    theirs("again", "echo up; read x; exit 3");
    watch("w2", "again");
    await logged("w2", "remote.spawned");
    suite.c.sendInput("w2", "go");
    await final("w2");
    await waitUntil(() => !sessions().includes("again"), "the pane closed", 15_000).catch(async (e) => {
      let panes = "";
      try {
        panes = tmux(
          "list-panes",
          "-a",
          "-F",
          "#{session_name} #{pane_id} #{pane_dead} #{pane_dead_status} #{remain-on-exit}",
        );
      } catch (x) {
        panes = String(x);
      }
      throw new Error(`${e.message}\n${panes}\n${JSON.stringify(await lines("w2"))}`);
    });
    await suite.c.restartSession("w2");
    await final("w2");
    expect(view("w2")).toMatchObject({ state: "dead", failureMode: "config", reason: "not_restartable:config" });
    expect(view("w2")?.lastError).toMatch(
      /cannot attach to tmux target "=again:" on box: can't find session: again; attach: true only watches .*start it in tmux there, then restart the session/,
    );
    expect((await lines("w2")).filter((l) => l.event === "remote.attach_refused")).toHaveLength(1);
    // The user starts it again: the restart watches it.
    theirs("again", "echo back again; sleep 60");
    await suite.c.restartSession("w2");
    const spawned = async () => (await lines("w2")).filter((l) => l.event === "remote.spawned").length;
    for (const end = Date.now() + BOUND_MS; (await spawned()) < 2 && Date.now() < end; )
      await new Promise((r) => setTimeout(r, 20));
    expect(await spawned()).toBe(2);
    expect(["starting", "healthy"]).toContain(view("w2")?.state);
    await suite.c.killSession("w2");
    expect(sessions()).toContain("again"); // let go, never ended
    tmux("kill-session", "-t", "=again:");
  }, 240_000);

  it("the user's remain-on-exit is theirs: a kept dead pane stays, a live one let go keeps its option; a dead target is refused", async () => {
    theirs("kept", "echo up; read x; exit 4");
    tmux("set-option", "-w", "-t", "=kept:", "remain-on-exit", "on");
    watch("w3", "kept");
    await logged("w3", "remote.spawned");
    suite.c.sendInput("w3", "go");
    await final("w3");
    expect(view("w3")?.exit, JSON.stringify(await lines("w3"))).toEqual({ exitCode: 4, signal: null });
    // The end of watching puts the pane's option back (the session is final: the reap is not in its log).
    await waitUntil(() => paneOption("kept") === "", "our remain-on-exit gone from the pane", BOUND_MS);
    expect(tmux("list-panes", "-t", "=kept:", "-F", "#{pane_dead} #{pane_dead_status}").trim()).toBe("1 4");
    // Watching it again: a dead pane is refused at once (its status said), not watched to an instant exit.
    await suite.c.restartSession("w3");
    await final("w3");
    expect(view("w3")?.lastError).toMatch(/is a dead pane \(%\d+: its program exited with status 4\).*respawn-pane/);
    tmux("kill-session", "-t", "=kept:");

    theirs("live", "echo up; sleep 60");
    watch("w4", "live");
    await logged("w4", "remote.spawned");
    expect(paneOption("live")).toBe("on"); // held while watched
    await suite.c.killSession("w4");
    await waitUntil(() => paneOption("live") === "", "our remain-on-exit gone from the live pane", BOUND_MS);
    expect(tmux("list-panes", "-t", "=live:", "-F", "#{pane_dead}").trim()).toBe("0");
    tmux("kill-session", "-t", "=live:");
  }, 240_000);
});
