/**
 * An actor that throws ends what it belongs to, and nothing else (a field review: a provided
 * ptyProcess that threw left its session in XState's `error` status with no `failed`/`dead`, and the
 * error went on to the conductor's actor, which stopped every other session with it).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type AnyActorRef, createActor, fromCallback, fromPromise, SimulatedClock, setup, waitFor } from "xstate";
import { createProcessReaper } from "../actors/process-reaper.js";
import { createPtyProcessLogic } from "../actors/pty-process.js";
import { conductorMachine, type ConductorEmitted } from "../machines/conductor.machine.js";
import { sessionMachine, type SessionEmitted, type SessionInput } from "../machines/session.machine.js";
import type { ChildCommand, PtyProcessInput } from "../machines/session.types.js";
import { type Conductor, createConductor } from "../src/conductor.js";

/** A pty actor that works for "good" and throws at its start for any other session. */
const pty = fromCallback<ChildCommand, PtyProcessInput>(({ input }) => {
  if (input.sessionId !== "good") throw new Error("cannot open /dev/ptmx");
});

const input = (id: string): SessionInput => ({ id, agent: "command", spec: { argv: ["/bin/true"] } });

describe("a session machine used without its pty actor", () => {
  it("fails each run saying what is missing, and ends dead with that as lastError (it sat in restarting for ever)", () => {
    const clock = new SimulatedClock();
    const actor = createActor(sessionMachine, {
      input: { ...input("bare"), policy: { maxRestarts: 2, backoffInitialMs: 0 } },
      clock,
    });
    actor.start();
    actor.send({ type: "START" });
    for (let i = 0; i < 10 && actor.getSnapshot().status === "active"; i++) clock.increment(60_000);
    const snap = actor.getSnapshot();
    expect(snap.status).toBe("done");
    expect(snap.context).toMatchObject({ state: "dead", failureMode: "spawn_error" });
    expect(snap.context.lastError).toMatch(
      /^no child actor: .*ptyProcess.* was not provided; use sessionMachine\.provide/,
    );
  });
});

describe("an actor that throws", () => {
  it("a session's child: this session fails and is dead (internal_error, no restart), said why", () => {
    const actor = createActor(sessionMachine.provide({ actors: { ptyProcess: pty } }), {
      input: input("s"),
      clock: new SimulatedClock(),
    });
    const emitted: SessionEmitted[] = [];
    actor.on("*", (e) => emitted.push(e as SessionEmitted));
    actor.start();
    actor.send({ type: "START" });
    const snap = actor.getSnapshot();
    expect(snap.status).toBe("done");
    expect(snap.context).toMatchObject({ state: "dead", failureMode: "internal_error", restarts: 0 });
    expect(snap.context.lastError).toBe("the session's pty actor threw: cannot open /dev/ptmx");
    expect(emitted.filter((e) => e.type === "stateChange").map((e) => `${e.from}->${e.to}`)).toEqual([
      "init->starting",
      "starting->failed",
      "failed->dead",
    ]);
    expect(emitted.find((e) => e.type === "dead")).toMatchObject({ reason: "internal_error" });
  });

  it("in the conductor: the failing session ends, the conductor and the other session run on", () => {
    const machine = conductorMachine.provide({
      actors: {
        session: sessionMachine.provide({ actors: { ptyProcess: pty } }),
        awaitProcessTrees: fromPromise(async (): Promise<void> => undefined),
        flushLog: fromPromise(async (): Promise<void> => undefined),
      },
    });
    const actor = createActor(machine, { input: {}, clock: new SimulatedClock() });
    const emitted: ConductorEmitted[] = [];
    actor.on("*", (e) => emitted.push(e as ConductorEmitted));
    actor.start();
    for (const id of ["good", "bad"]) actor.send({ type: "SPAWN", session: input(id) });
    const session = (id: string) => actor.getSnapshot().context.sessions[id] as AnyActorRef;
    expect(session("bad").getSnapshot().context).toMatchObject({ state: "dead", failureMode: "internal_error" });
    // A session input that makes the session's own actor fail (no spec: refused as it is taken).
    actor.send({ type: "SPAWN", session: { id: "broken", agent: "command" } as unknown as SessionInput });
    expect(actor.getSnapshot().status).toBe("active");
    expect(session("broken").getSnapshot().status).toBe("error");
    expect(emitted).toContainEqual({
      type: "actorError",
      id: "broken",
      session: true,
      error: expect.stringContaining("sessionMachine input: spec must be an object"),
    });
    expect(actor.getSnapshot().context.finished).toEqual({ bad: true, broken: true });
    // The good one is untouched, and all-completed still comes when it ends.
    expect(session("good").getSnapshot().context.state).toBe("starting");
    session("good").send({ type: "CHILD.EXIT", generation: 1, exitCode: 0, signal: null, recentOutput: "" });
    expect(emitted.some((e) => e.type === "allCompleted")).toBe(true);
  });

  it("the broker, while the conductor shuts down: said (actorError), and the shutdown goes on to its end", async () => {
    let release: () => void = () => undefined;
    const machine = conductorMachine.provide({
      actors: {
        broker: fromCallback(({ receive }) =>
          receive(() => {
            throw new Error("state file gone");
          }),
        ) as never,
        awaitProcessTrees: fromPromise((): Promise<void> => new Promise((r) => (release = r))),
        flushLog: fromPromise(async (): Promise<void> => undefined),
      },
    });
    const actor = createActor(machine, { input: { broker: { accounts: [] } as never } }).start();
    const emitted: ConductorEmitted[] = [];
    actor.on("*", (e) => emitted.push(e as ConductorEmitted));
    actor.send({ type: "SHUTDOWN", reason: "test" });
    actor.system.get("broker").send({ type: "ANY" });
    expect(actor.getSnapshot().value).toBe("shuttingDown");
    expect(emitted).toContainEqual({ type: "actorError", id: "broker", session: false, error: "state file gone" });
    release();
    await new Promise((r) => setTimeout(r, 0));
    expect(actor.getSnapshot().status).toBe("done");
  });
});

describe("an actor that throws, through the facade", () => {
  const open: Conductor[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.shutdown("test_end")));
  });

  it("a session whose own actor throws is reported dead (event, log line, snapshot); the others run on", async () => {
    const logsDir = mkdtempSync(join(tmpdir(), "actor-error-"));
    const c = createConductor({ logsDir, handleSignals: false, enableMesh: false, graceMs: 500 });
    open.push(c);
    const dead: unknown[] = [];
    c.on("dead", (e) => dead.push(e));
    const moves: string[] = [];
    c.on("stateChange", (e) => moves.push(`${e.sessionId}:${e.from}->${e.to}`));
    for (const id of ["a", "b"]) c.spawnSession({ id, agent: "command", command: ["sh", "-c", "echo up; sleep 30"] });
    // A malformed event, as a defect of ours would send it: the session's actions read what it lacks.
    c.actor.system.get("session:b").send({ type: "CHILD.EXIT", generation: 1 });
    const b = c.getSnapshot().find((s) => s.id === "b");
    expect(b).toMatchObject({ state: "dead", reason: "internal_error", failureMode: "internal_error" });
    expect(b?.lastError).toMatch(/^the session actor threw: /);
    expect(dead).toEqual([expect.objectContaining({ sessionId: "b", failureMode: "internal_error" })]);
    expect(moves).toContain("b:starting->dead");
    expect(c.actor.getSnapshot().status).toBe("active");
    const lines = readFileSync(join(logsDir, "conductor-events.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { event: string; session?: string; actor?: string; failureMode?: string });
    expect(lines.find((l) => l.event === "conductor.actor_error")).toMatchObject({ actor: "session:b" });
    expect(lines.find((l) => l.event === "session.dead")).toMatchObject({
      session: "b",
      failureMode: "internal_error",
    });
    expect(c.getSnapshot().find((s) => s.id === "a")?.state).not.toBe("dead");
  }, 30_000);
});

describe("a session restored from a persisted snapshot", () => {
  it("does not start its command again: its run refuses the restore, and the session ends dead saying so", async () => {
    const reaper = createProcessReaper();
    const session = sessionMachine.provide({ actors: { ptyProcess: createPtyProcessLogic({ reaper }) } });
    const marker = `restore-${process.pid}-${Date.now()}`;
    const app = setup({ actors: { session } }).createMachine({
      invoke: {
        id: "s",
        systemId: "session:s",
        src: "session",
        input: { id: "s", agent: "command", spec: { argv: ["/bin/sh", "-c", `echo ${marker}; exec sleep 30`] } },
      },
      entry: ({ system }) => system.get("session:s")?.send({ type: "START" }),
    });
    const first = createActor(app).start();
    const child = () => first.system.get("session:s") as AnyActorRef;
    await waitFor(child(), (s) => s.context.state === "healthy", { timeout: 20_000 });
    const persisted = JSON.parse(JSON.stringify(first.getPersistedSnapshot()));
    first.stop();
    await reaper.whenIdle();
    const spawns: string[] = [];
    const restored = createActor(app, {
      snapshot: persisted,
      inspect: (e) => e.type === "@xstate.event" && e.event.type === "CHILD.SPAWNED" && spawns.push(e.event.type),
    });
    restored.start();
    const s = restored.getSnapshot().children.s as AnyActorRef;
    const end = s.getSnapshot();
    expect(end.context).toMatchObject({ state: "dead", failureMode: "internal_error" });
    expect(end.context.lastError).toContain("cannot be restored from a persisted snapshot");
    expect(spawns).toEqual([]);
    // Nothing runs the command a second time.
    await reaper.whenIdle();
    const running = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" });
    expect(running).not.toContain(marker);
    restored.stop();
  }, 40_000);
});
