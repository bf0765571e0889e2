/**
 * Model-based tests of the child-run statechart: paths generated from the machine with
 * xstate/graph, each run on a real actor of the machine with a fake transport and
 * SimulatedClock. Every step must take exactly the transitions the machine predicts, ask the
 * transport for the effect of the state it enters, and report to the session in a legal order.
 */
import { describe, expect, it } from "vitest";
import { createActor, fromCallback, SimulatedClock, type SnapshotFrom } from "xstate";
import { childRunMachine } from "../machines/child-run.machine.js";
import type {
  ChildRunEvent,
  ChildRunInput,
  ChildRunTiming,
  TransportCommand,
  TransportEvent,
} from "../machines/child-run.types.js";
import type { ChildEvent } from "../machines/session.types.js";
import { recordTransitions } from "../src/testing/coverage.js";
import { expectFullCoverage } from "./helpers/model-coverage.js";
import { edgeCoverPaths, type ModelPath, predictTransition } from "../src/testing/paths.js";

type Snap = SnapshotFrom<typeof childRunMachine>;
/** The machine's events, and its own delayed events (a timer running out). */
type ModelEvent = ChildRunEvent | { type: `xstate.after.${string}` };
type Path = ModelPath<Snap, ModelEvent>;

const TIMING: ChildRunTiming = {
  ackTimeoutMs: 400,
  drainQuietMs: 100,
  drainLimitMs: 1_000,
  stopGraceMs: 200,
  hostDownMs: 5_000,
  reapGraceMs: 50,
};
const INPUT: ChildRunInput = {
  child: { sessionId: "m", generation: 3, spec: { argv: ["/bin/true"] } },
  timing: TIMING,
};
const after = (delay: string, state: string): ModelEvent => ({ type: `xstate.after.${delay}.childRun.${state}` });
const top = (s: Snap) => (typeof s.value === "string" ? s.value : Object.keys(s.value)[0]!);

const output: TransportEvent = { type: "RUN.OUTPUT", bytes: 10, lagMs: 0, screenTail: ["working"] };
const exited = (settle: boolean): TransportEvent => ({
  type: "RUN.EXITED",
  exit: { exitCode: settle ? 1 : 0, signal: null },
  settle,
});
const unreachable: TransportEvent = {
  type: "RUN.EXITED",
  exit: { exitCode: null, signal: null, failureMode: "host_unreachable", reason: "host_unreachable" },
  settle: false,
};
const marker: TransportEvent = { type: "RUN.MARKER", exit: { exitCode: 0, signal: null } };
/** A local pty's marker: its transport drains at once, before the shim exits. */
const markerDrainNow: TransportEvent = { type: "RUN.MARKER", exit: { exitCode: 0, signal: null }, drainNow: true };
const drained: TransportEvent = { type: "RUN.DRAINED", recentOutput: "bye", at: 0 };
const terminate: ChildRunEvent = { type: "CHILD.TERMINATE", reason: "model", graceMs: 300 };
/** A remote link reset under a write: the session hears it (its snapshot's `inputUnsure`). */
const inputUnsure: TransportEvent = { type: "RUN.INPUT_UNSURE", length: 3, error: "channel reset", at: 7 };
const stop: ChildRunEvent = { type: "STOP" };

/** What the transport and the session can really do in each state, in a stable order. */
function events(s: Snap): ModelEvent[] {
  if (s.status !== "active") return [];
  const linkDown: TransportEvent = { type: "RUN.LINK_DOWN", why: "model" };
  // The transport answers a DRAIN it was sent at the marker, whatever the state by then.
  const drainAnswer = s.context.drain === "sent" ? [drained] : [];
  switch (top(s)) {
    case "spawning":
      return [
        { type: "RUN.SPAWNED", pid: 42 },
        { type: "RUN.SPAWN_FAILED", message: "EACCES" },
        unreachable,
        terminate,
        stop,
      ];
    case "cancelling":
      return [
        { type: "RUN.SPAWNED", pid: 42 },
        { type: "RUN.CANCELLED" },
        { type: "RUN.SPAWN_FAILED", message: "x" },
        unreachable,
      ];
    case "running":
      return [
        output,
        exited(true),
        exited(false),
        marker,
        markerDrainNow,
        linkDown,
        terminate,
        stop,
        { type: "CHILD.WRITE", data: "y\r" },
        { type: "CHILD.RESIZE", cols: 100, rows: 30 },
        inputUnsure,
      ];
    case "terminating": {
      const signalled: ModelEvent = s.matches({ terminating: "signalling" })
        ? { type: "RUN.SIGNALLED" }
        : after("grace", "terminating.grace");
      return [output, exited(true), exited(false), marker, markerDrainNow, linkDown, signalled, stop];
    }
    case "forcing":
      return [output, exited(true), exited(false), marker, markerDrainNow, linkDown, stop];
    case "acknowledging":
      return [output, exited(false), linkDown, after("ackTimeout", "acknowledging"), ...drainAnswer];
    case "ackLost":
      return [output, exited(false), linkDown, ...drainAnswer];
    case "settling":
      return [output, marker, after("drainQuiet", "settling.quiet"), after("drainLimit", "settling")];
    case "hostDown":
      return [
        output,
        { type: "RUN.LINK_UP" },
        exited(false),
        terminate,
        stop,
        after("hostDownTimeout", "hostDown"),
        inputUnsure,
        ...drainAnswer,
      ];
    case "draining":
      return [output, drained, stop];
    case "reaping":
      return [{ type: "RUN.REAPED" }, stop];
    case "closing":
      return [{ type: "RUN.CLOSED" }];
    default:
      return [];
  }
}

/** The abstraction: the state and what the guards and the reports read. */
function serialize(s: Snap): string {
  const c = s.context;
  return JSON.stringify({
    v: s.value,
    exit: c.exit !== null,
    term: c.terminate !== null,
    spawnError: c.spawnError !== null,
    detached: c.detached,
    drain: c.drain,
  });
}

const predict = (s: Snap, e: ModelEvent) => predictTransition(childRunMachine, s, e);
const { graph, paths } = edgeCoverPaths<Snap, ModelEvent>(childRunMachine, {
  events,
  serializeState: serialize,
  input: INPUT,
  predict,
});

/** The command a state asks of the transport when it is entered. */
const ENTRY: Record<string, (c: TransportCommand) => boolean> = {
  cancelling: (c) => c.type === "CANCEL",
  terminating: (c) => c.type === "SIGNAL" && c.signal === "TERM" && c.scope === "tree",
  forcing: (c) => c.type === "SIGNAL" && c.signal === "KILL" && c.scope === "tree",
  acknowledging: (c) => c.type === "ACK",
  ackLost: (c) => c.type === "SIGNAL" && c.signal === "KILL" && c.scope === "root",
  draining: (c) => c.type === "DRAIN",
  reaping: (c) => c.type === "REAP" && c.graceMs === TIMING.reapGraceMs,
  closing: (c) => c.type === "CLOSE",
};

const taken = new Set<string>();
const visited = new Set<string>();

/** Runs one path on a real actor; returns what it reported. Throws where reality differs. */
function runPath(path: Path, n: number, machine = childRunMachine): ChildEvent[] {
  const clock = new SimulatedClock();
  const commands: TransportCommand[] = [];
  let toMachine: ((e: TransportEvent) => void) | undefined;
  const transport = fromCallback<TransportCommand, ChildRunInput>(({ sendBack, receive }) => {
    toMachine = (e) => sendBack(e);
    receive((c) => void commands.push(c));
  });
  // A path through drainLimit needs the quiet timer to be the later one.
  const slowQuiet = path.steps.some((s) => s.event.type.startsWith("xstate.after.drainLimit"));
  const timing = slowQuiet ? { ...TIMING, drainQuietMs: 5_000 } : TIMING;
  const rec = recordTransitions();
  const actor = createActor(machine.provide({ actors: { transport } }), {
    id: "run",
    clock,
    inspect: rec.inspect,
    input: { ...INPUT, timing },
  });
  const reports: ChildEvent[] = [];
  actor.on("*", (e) => void reports.push(e));
  let heardBeforeStop = -1;
  const keysSoFar = () => rec.steps.filter((s) => s.actor === "run").flatMap((s) => s.keys);
  actor.start();
  try {
    for (let i = 1; i < path.steps.length; i++) {
      const e = path.steps[i]!.event;
      const before = top(actor.getSnapshot());
      const drainBefore = actor.getSnapshot().context.drain;
      const sent = commands.length;
      const keysBefore = keysSoFar().length;
      if (e.type === "STOP" && heardBeforeStop < 0) heardBeforeStop = reports.length;
      const delay = /^xstate\.after\.([^.]+)\./.exec(e.type)?.[1];
      if (delay) {
        const c = actor.getSnapshot().context;
        const ms: Record<string, number> = {
          grace: c.terminate?.graceMs ?? timing.stopGraceMs,
          ackTimeout: timing.ackTimeoutMs,
          drainQuiet: timing.drainQuietMs,
          drainLimit: timing.drainLimitMs,
          hostDownTimeout: timing.hostDownMs,
        };
        clock.increment(ms[delay]!);
      } else if (e.type.startsWith("RUN.")) toMachine!(e as TransportEvent);
      else actor.send(e as ChildRunEvent);
      const step = `path ${n} step ${i} (${e.type})`;
      expect(keysSoFar().slice(keysBefore), step).toEqual(path.keys[i]);
      expect(serialize(actor.getSnapshot()), step).toBe(path.serialized[i]);
      const now = top(actor.getSnapshot());
      // A DRAIN sent at the marker is not sent again on entering draining.
      const asked = now === "draining" && drainBefore !== "none";
      const entered = now !== before && !asked ? ENTRY[now] : undefined;
      if (asked)
        expect(
          commands.slice(sent).filter((c) => c.type === "DRAIN"),
          step,
        ).toEqual([]);
      if (entered) expect(commands.slice(sent).some(entered), `${step}: entering ${now}`).toBe(true);
      if (e.type === "RUN.LINK_UP")
        expect(
          commands.slice(sent).map((c) => c.type),
          step,
        ).toContain("RESYNC");
      if (e.type === "RUN.INPUT_UNSURE" && serialize(actor.getSnapshot()).includes('"detached":false'))
        expect(reports.at(-1), step).toEqual({
          type: "CHILD.INPUT_UNSURE",
          generation: 3,
          length: 3,
          error: "channel reset",
          at: 7,
        });
      if (e.type === "CHILD.WRITE")
        expect(
          commands.slice(sent).map((c) => c.type),
          step,
        ).toEqual(["WRITE"]);
    }
  } finally {
    for (const k of rec.taken("childRun")) taken.add(k);
    for (const v of rec.visited("childRun")) visited.add(v);
    actor.stop();
  }
  checkReports(path, reports, actor.getSnapshot(), heardBeforeStop);
  return reports;
}

/** What the session hears: in a legal order, with this run's generation, nothing after STOP. */
function checkReports(path: Path, reports: ChildEvent[], end: Snap, heardBeforeStop: number) {
  const label = path.description;
  const types = reports.map((r) => r.type);
  expect(new Set(reports.map((r) => r.generation)), label).toEqual(new Set(reports.length ? [3] : []));
  for (const t of ["CHILD.SPAWNED", "CHILD.EXIT", "CHILD.GONE", "CHILD.SPAWN_ERROR"])
    expect(types.filter((x) => x === t).length, `${label}: ${t} at most once`).toBeLessThanOrEqual(1);
  if (types.includes("CHILD.SPAWNED")) expect(types[0], label).toBe("CHILD.SPAWNED");
  if (types.includes("CHILD.GONE")) expect(types.at(-1), label).toBe("CHILD.GONE");
  const exitAt = types.indexOf("CHILD.EXIT");
  if (exitAt >= 0)
    expect(
      types.slice(exitAt + 1).every((t) => t === "CHILD.GONE"),
      label,
    ).toBe(true);
  if (types.includes("CHILD.SPAWN_ERROR")) expect(types, label).toEqual(["CHILD.SPAWN_ERROR"]);
  // A run nobody stopped and that spawned ends with GONE: the session learns its tree is gone.
  if (heardBeforeStop < 0 && end.status === "done" && !end.context.spawnError)
    expect(types.at(-1), label).toBe("CHILD.GONE");
  // A spawn failure is reported once the files are closed, and alone.
  if (heardBeforeStop < 0 && end.status === "done" && end.context.spawnError)
    expect(types, label).toEqual(["CHILD.SPAWN_ERROR"]);
  // The exit is reported once the output is drained, before the tree is reaped.
  const drainedAt = path.steps.findIndex((s) => s.event.type === "RUN.DRAINED");
  if (heardBeforeStop < 0 && drainedAt >= 0) expect(types, label).toContain("CHILD.EXIT");
  // Once the session stopped the runner it hears nothing more, though the run still ends properly.
  if (heardBeforeStop >= 0) expect(reports.length, `${label}: reports after STOP`).toBe(heardBeforeStop);
}

describe("child-run statechart, model-based, fake transports + SimulatedClock", () => {
  it("every generated path runs as the machine predicts; every transition is taken", () => {
    for (const [n, path] of paths.entries()) runPath(path, n);
    expectFullCoverage("child-run", childRunMachine, { taken, visited, graph, paths: paths.length });
  });

  it("is not vacuous: a chart that never settles after an unproven exit is caught at the step", () => {
    const path = paths.find((p) => p.keys.flat().includes("running: RUN.EXITED [mustSettle] → settling"))!;
    const broken = childRunMachine.provide({ guards: { mustSettle: () => false } });
    expect(() => runPath(path, 999, broken)).toThrow(/step/);
  });
});
