/**
 * Inspection pass-through: any XState v5 inspection observer (a function or an Observer, as the
 * Stately inspector's `inspector.inspect` is) sees the conductor, its sessions and their pty
 * children under readable names, and the events between them.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type AnyActorRef, createActor, type InspectionEvent, toPromise } from "xstate";
import { createProcessReaper } from "../actors/process-reaper.js";
import { createPtyProcessLogic } from "../actors/pty-process.js";
import { sessionMachine } from "../machines/session.machine.js";
import { createConductor } from "../src/conductor.js";
import { SCRIPTED_AGENT } from "../src/testing/agent-hub.js";

const AGENT = SCRIPTED_AGENT;
const plan = (steps: object[]) => ({ SCRIPTED_AGENT_PLAN: JSON.stringify(steps) });
/** `{ starting: "launching" }` → `starting`: the top-level state, whatever the nesting. */
const top = (v: unknown) => (typeof v === "string" ? v : Object.keys(v as object)[0]);
const ref = (e: InspectionEvent) => e.actorRef as AnyActorRef & { _parent?: AnyActorRef };

describe("inspection", () => {
  it("createConductor({ inspect }) reports the conductor, session:<id> and its pty child, and their events", async () => {
    const seen: InspectionEvent[] = [];
    const conductor = createConductor({
      logsDir: mkdtempSync(join(tmpdir(), "inspect-")),
      handleSignals: false,
      enableMesh: false,
      graceMs: 500,
      probeOpts: { inputQuietMs: 100 },
      inspect: (e) => void seen.push(e),
    });
    const asked = new Promise<void>((r) => conductor.on("inputWait", () => r()));
    const done = new Promise<void>((r) => conductor.on("allCompleted", () => r()));
    conductor.spawnSession({
      id: "review",
      agent: "command",
      command: [process.execPath, AGENT],
      env: plan([
        { print: "reading" },
        { ask: "Continue? (y/n)" },
        { waitInput: true },
        { print: "done" },
        { exit: 0 },
      ]),
    });
    // Looked up by systemId while it lives (a final actor leaves the system's registry).
    const session = conductor.actor.system.get("session:review") as AnyActorRef;
    await asked;
    conductor.sendInput("review", "y");
    await done;
    await conductor.shutdown("test");

    const actors = seen.filter((e) => e.type === "@xstate.actor").map(ref);
    expect(actors[0]).toBe(conductor.actor); // the system's root comes first
    expect(conductor.actor.id).toBe("conductor"); // named, not `x:0`, in an inspector (a field review)
    expect(actors).toContain(session);
    expect(session.id).toBe("session:review");
    const pty = actors.find((a) => a.id === "pty");
    expect(pty?._parent).toBe(session);
    expect(actors.map((a) => a.id)).toEqual(
      expect.arrayContaining(["session:review", "pty", "awaitProcessTrees", "flushLog"]),
    );

    const events = (to: AnyActorRef) =>
      seen
        .filter((e) => e.type === "@xstate.event" && e.actorRef === to)
        .map((e) => (e as { event: { type: string } }).event.type);
    expect(events(conductor.actor)).toEqual(
      expect.arrayContaining(["SPAWN", "xstate.done.actor.session:review", "SHUTDOWN"]),
    );
    expect(events(session)).toEqual(
      expect.arrayContaining(["START", "CHILD.SPAWNED", "CHILD.OUTPUT", "INPUT", "CHILD.EXIT"]),
    );
    const fromPty = seen.filter(
      (e) => e.type === "@xstate.event" && (e as { sourceRef?: AnyActorRef }).sourceRef === pty,
    );
    expect(fromPty.map((e) => (e as { event: { type: string } }).event.type)).toContain("CHILD.OUTPUT");
    const values = seen
      .filter((e) => e.type === "@xstate.snapshot" && e.actorRef === session)
      .map((e) => top((e as { snapshot: { value?: unknown } }).snapshot.value));
    expect(values).toEqual(expect.arrayContaining(["starting", "healthy", "input_wait", "completed"]));
  });

  it("accepts an Observer object (the shape of @statelyai/inspect's `inspector.inspect`)", async () => {
    const types = new Set<string>();
    const conductor = createConductor({
      logsDir: mkdtempSync(join(tmpdir(), "inspect-")),
      handleSignals: false,
      enableMesh: false,
      inspect: { next: (e) => void types.add(e.type), error: () => {}, complete: () => {} },
    });
    const done = new Promise<void>((r) => conductor.on("allCompleted", () => r()));
    conductor.spawnSession({ id: "quick", agent: "command", command: ["/bin/true"] });
    await done;
    await conductor.shutdown("test");
    expect([...types]).toEqual(
      expect.arrayContaining([
        "@xstate.actor",
        "@xstate.event",
        "@xstate.snapshot",
        "@xstate.microstep",
        "@xstate.action",
      ]),
    );
  });

  it("the XState-native way: createActor(session machine with the real pty actor, { inspect })", async () => {
    const seen: InspectionEvent[] = [];
    const reaper = createProcessReaper();
    const machine = sessionMachine.provide({ actors: { ptyProcess: createPtyProcessLogic({ reaper }) } });
    const actor = createActor(machine, {
      inspect: (e) => void seen.push(e),
      input: {
        id: "native",
        agent: "command",
        spec: { argv: [process.execPath, AGENT], env: plan([{ print: "hi" }, { exit: 0 }]) },
      },
    });
    actor.start();
    actor.send({ type: "START" });
    const output = (await toPromise(actor)) as { state: string };
    await reaper.whenIdle();
    expect(output.state).toBe("completed");
    const pty = seen
      .filter((e) => e.type === "@xstate.actor")
      .map(ref)
      .find((a) => a.id === "pty");
    expect(pty?._parent).toBe(actor);
    const microsteps = seen.filter((e) => e.type === "@xstate.microstep" && e.actorRef === actor) as Array<{
      _transitions: Array<{ eventType: string }>;
    }>;
    expect(microsteps.flatMap((m) => m._transitions.map((t) => t.eventType))).toEqual(
      expect.arrayContaining(["START", "CHILD.OUTPUT", "CHILD.EXIT"]),
    );
  });
});
