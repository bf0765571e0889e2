/** The conductor statechart with fake sessions' children and fake shutdown actors. */
import { describe, expect, it } from "vitest";
import { createActor, fromCallback, fromPromise, SimulatedClock } from "xstate";
import { conductorMachine, type ConductorEmitted } from "../machines/conductor.machine.js";
import { sessionMachine } from "../machines/session.machine.js";
import type { ChildCommand, PtyProcessInput } from "../machines/session.types.js";

function startConductor() {
  const commands: Array<{ id: string; c: ChildCommand }> = [];
  const calls: string[] = [];
  const fakePty = fromCallback<ChildCommand, PtyProcessInput>(({ input, receive }) => {
    receive((c) => commands.push({ id: input.sessionId, c }));
  });
  const machine = conductorMachine.provide({
    actors: {
      session: sessionMachine.provide({ actors: { ptyProcess: fakePty } }),
      awaitProcessTrees: fromPromise(async (): Promise<void> => void calls.push("awaitProcessTrees")),
      flushLog: fromPromise(async (): Promise<void> => void calls.push("flushLog")),
    },
  });
  const actor = createActor(machine, { input: { graceMs: 50 }, clock: new SimulatedClock() });
  const emitted: ConductorEmitted[] = [];
  actor.on("*", (e) => emitted.push(e as ConductorEmitted));
  actor.start();
  const spawn = (id: string) =>
    actor.send({ type: "SPAWN", session: { id, agent: "command", spec: { argv: ["/bin/true"] } } });
  // Final sessions leave the system registry; the conductor keeps their refs in context.
  const session = (id: string) => actor.getSnapshot().context.sessions[id]!;
  const exit = (id: string, exitCode: number) =>
    session(id).send({ type: "CHILD.EXIT", generation: 1, exitCode, signal: null, recentOutput: "" });
  return { actor, emitted, commands, calls, spawn, session, exit };
}

describe("conductor machine", () => {
  it("takes no input: every field has its default (graceMs 10 s, no broker)", () => {
    const actor = createActor(conductorMachine, { clock: new SimulatedClock() }).start();
    expect(actor.getSnapshot().context).toMatchObject({ graceMs: 10_000, broker: null });
    actor.stop();
  });

  it("spawns sessions with readable systemIds and starts them", () => {
    const c = startConductor();
    c.spawn("a");
    c.spawn("b");
    expect(c.actor.system.get("session:a")).toBe(c.session("a"));
    expect(c.session("a").getSnapshot().context.state).toBe("starting");
    expect(Object.keys(c.actor.getSnapshot().context.sessions)).toEqual(["a", "b"]);
  });

  it("a spawn leaves the finished record as it is (no copy per spawn: 500 spawns were O(n²))", () => {
    const c = startConductor();
    c.spawn("a");
    c.exit("a", 0);
    const finished = c.actor.getSnapshot().context.finished;
    expect(finished).toEqual({ a: true });
    c.spawn("b");
    c.spawn("c");
    expect(c.actor.getSnapshot().context.finished).toBe(finished);
    expect(Object.keys(c.actor.getSnapshot().context.sessions)).toEqual(["a", "b", "c"]);
  });

  it("rejects a duplicate id", () => {
    const c = startConductor();
    c.spawn("a");
    c.spawn("a");
    expect(c.emitted).toContainEqual({ type: "spawnRejected", id: "a", why: "duplicate" });
  });

  it("emits allCompleted once, when the last session is final", () => {
    const c = startConductor();
    c.spawn("a");
    c.spawn("b");
    c.exit("a", 0);
    expect(c.emitted.filter((e) => e.type === "allCompleted")).toHaveLength(0);
    c.session("b").send({ type: "KILL", reason: "user_kill" });
    expect(c.emitted.filter((e) => e.type === "allCompleted")).toEqual([{ type: "allCompleted", sessions: 2 }]);
  });

  it("shutdown: kills live sessions, waits for process trees, flushes, then is final", async () => {
    const c = startConductor();
    c.spawn("a");
    c.spawn("b");
    c.exit("a", 0);
    c.actor.send({ type: "SHUTDOWN", reason: "test" });
    expect(c.session("b").getSnapshot().context.state).toBe("dead");
    c.spawn("late");
    expect(c.emitted).toContainEqual({ type: "spawnRejected", id: "late", why: "shutting_down" });
    await new Promise((r) => setTimeout(r, 0));
    await new Promise((r) => setTimeout(r, 0));
    expect(c.calls).toEqual(["awaitProcessTrees", "flushLog"]);
    expect(c.actor.getSnapshot().status).toBe("done");
    expect(c.emitted.at(-1)).toEqual({ type: "shutdown", reason: "test" });
    expect(c.emitted).toContainEqual({ type: "shutdownStarted", reason: "test", live: 1 });
  });

  it("routes KILL and INPUT to the named session", () => {
    const c = startConductor();
    c.spawn("a");
    c.session("a").send({ type: "CHILD.SPAWNED", generation: 1, pid: 99 });
    c.actor.send({ type: "INPUT", id: "a", text: "hi" });
    expect(c.commands).toContainEqual({ id: "a", c: { type: "CHILD.WRITE", data: "hi\r", paste: true } });
    c.actor.send({ type: "KILL", id: "a" });
    expect(c.session("a").getSnapshot().context.state).toBe("dead");
  });
});
