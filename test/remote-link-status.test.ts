/**
 * A remote session's snapshot says how its host's link is (`link`), and that its last input may not
 * have arrived (`inputUnsure`), against a real sshd and tmux. Before, a session read `healthy`
 * through an outage, and input lost on a link that died under it was only in the event log.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createActor } from "xstate";
import { sessionMachine } from "../machines/session.machine.js";
import type { SessionSnapshot } from "../src/session-view.js";
import { viewOf } from "../src/session-view.js";
import { readEventLog } from "../src/event-log.js";
import { haveRemoteTools, killTmuxServer, remoteConductor, startSshd, type TestSshd, tmuxOn } from "./helpers/sshd.js";
import { waitUntil } from "./helpers/wait-until.js";

const SOCKET = `cond-link-${process.pid}`;
const { tmux } = tmuxOn(SOCKET);
// Bounds for a loaded machine, never verdicts.
const BOUND_MS = 60_000;
let sshd: TestSshd;
const stopped: number[] = [];

beforeAll(async () => {
  if (haveRemoteTools) sshd = await startSshd();
});

afterAll(async () => {
  for (const pid of stopped.splice(0)) process.kill(pid, "SIGCONT");
  await killTmuxServer(SOCKET);
  await sshd?.stop();
});

const stop = (pid: number) => {
  process.kill(pid, "SIGSTOP");
  stopped.push(pid);
};
const resume = () => {
  for (const pid of stopped.splice(0)) process.kill(pid, "SIGCONT");
};

describe("the snapshot's link and inputUnsure", () => {
  it("maps the host's statuses to up / connecting / reconnecting / down, with since and the error", () => {
    const snap = createActor(sessionMachine, {
      input: { id: "v", agent: "command", spec: { argv: ["/bin/true"] } },
    }).getSnapshot();
    const placement = { createdAt: "2026-12-05T09:00:00.000Z", remote: { host: "box" } };
    const at = Date.parse("2026-12-05T09:01:00.000Z");
    const link = (status: "connecting" | "connected" | "reconnecting" | "unreachable" | "rejected") =>
      viewOf(snap, placement, null, undefined, () => ({ status, since: at, error: "connect ECONNREFUSED" })).link;
    expect(link("connected")).toEqual({ host: "box", status: "up", since: "2026-12-05T09:01:00.000Z", error: null });
    expect(link("reconnecting")).toMatchObject({ status: "reconnecting", error: "connect ECONNREFUSED" });
    expect(link("unreachable")?.status).toBe("down");
    expect(link("rejected")?.status).toBe("down");
    expect(link("connecting")?.status).toBe("connecting");
    // Before the host was first used: nothing to say yet but that it is to be connected.
    expect(viewOf(snap, placement).link).toEqual({ host: "box", status: "connecting", since: null, error: null });
    expect(viewOf(snap, { createdAt: placement.createdAt, remote: null }).link).toBeNull();
    expect(viewOf(snap, placement).inputUnsure).toBeNull();
  });

  it.runIf(haveRemoteTools)(
    "a healthy remote session shows its link down while it is, and input its dying link may have lost",
    async () => {
      const c = remoteConductor(sshd, SOCKET);
      const view = (): SessionSnapshot | undefined => c.getSnapshot().find((s) => s.id === "typed");
      try {
        c.spawnSession({ id: "local", agent: "command", command: ["/bin/sh", "-c", "echo here; sleep 60"] });
        c.spawnSession({
          id: "typed",
          agent: "command",
          command: ["/bin/sh", "-c", "echo ready; cat"],
          remote: true,
          host: "box",
        });
        await waitUntil(() => view()?.state === "healthy" && view()?.link?.status === "up", "the run", BOUND_MS);
        const up = view();
        expect(up?.link).toEqual({ host: "box", status: "up", since: expect.stringMatching(/^\d{4}-/), error: null });
        expect(up?.inputUnsure).toBeNull();
        expect(c.getSnapshot().find((s) => s.id === "local")?.link).toBeNull();

        // The tmux server stops answering, so the typed line is in flight when the link dies under it.
        const server = Number(tmux("display-message", "-p", "#{pid}").trim());
        stop(server);
        expect(c.sendInput("typed", "hello")).toBe(true);
        await logged(c, "remote.write");
        stop(sshd.pid); // no reconnect until it is resumed: the link stays down
        sshd.dropConnections();
        await waitUntil(() => view()?.inputUnsure != null, "inputUnsure", BOUND_MS);
        const down = view();
        expect(down?.state).toBe("healthy"); // within hostDownTimeoutMs the run lives on: the link says why it is quiet
        expect(down?.link?.status).toMatch(/^(reconnecting|down)$/);
        expect(Date.parse(down?.link?.since ?? "")).toBeGreaterThanOrEqual(Date.parse(up?.link?.since ?? ""));
        expect(down?.inputUnsure).toMatchObject({ attempt: 1, length: "hello\r".length });
        expect(down?.inputUnsure?.at).toMatch(/^\d{4}-/);
        expect(down?.inputUnsure?.error).toMatch(/./);

        resume();
        await waitUntil(() => view()?.link?.status === "up", "the link back", BOUND_MS);
        expect(view()?.state).toBe("healthy");
        expect(view()?.inputUnsure).not.toBeNull(); // still the last input
        expect(c.sendInput("typed", "again")).toBe(true);
        expect(view()?.inputUnsure).toBeNull();
      } finally {
        resume();
        await c.shutdown("test_end");
      }
    },
    240_000,
  );
});

/** Waits until the event log has a line `event` (a bound, not a verdict). */
async function logged(c: { eventLogPath: string }, event: string): Promise<void> {
  const end = Date.now() + BOUND_MS;
  while (!(await readEventLog(c.eventLogPath)).some((l) => l.event === event)) {
    if (Date.now() > end) throw new Error(`no ${event} line within ${BOUND_MS} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
