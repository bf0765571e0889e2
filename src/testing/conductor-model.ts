/**
 * The conductor statechart as a test model, at most two sessions (`a`, `b`). What really
 * happens together is folded into one step: a killed session ends at once (its `done` follows
 * KILL), and SHUTDOWN kills every live session. The invoked actors' results are steps of
 * their own (the runtime produces them; a test waits for them).
 */
import type { SnapshotFrom } from "xstate";
import { conductorMachine, type ConductorEvent } from "../../machines/conductor.machine.js";
import type { SessionInput } from "../../machines/session.machine.js";
import { edgeCoverPaths, type ModelPath, predictTransition, selectCovering, withPrediction } from "./paths.js";

export type ConductorSnapshotValue = SnapshotFrom<typeof conductorMachine>;
/** Model events: the machine's own, with the `done` of an invoked actor or session by name. */
export type ConductorModelEvent = ConductorEvent | { type: string; output?: unknown };
export type ConductorModelPath = ModelPath<ConductorSnapshotValue, ConductorModelEvent>;

const IDS = ["a", "b"] as const;
const doneOf = (id: string) => ({ type: `xstate.done.actor.session:${id}`, output: { id } });
const errorOf = (id: string) => ({ type: `xstate.error.actor.session:${id}`, error: new Error("model") });
const modelSession = (id: string): SessionInput => ({ id, agent: "command", spec: { argv: ["/bin/true"] } });
const liveIds = (s: ConductorSnapshotValue) => Object.keys(s.context.sessions).filter((id) => !s.context.finished[id]);

/** One model step: the event, plus the session endings it causes in the real system. */
function step(s: ConductorSnapshotValue, e: ConductorModelEvent): { next: ConductorSnapshotValue; keys: string[] } {
  const follow =
    e.type === "KILL" ? [(e as { id: string }).id] : e.type === "SHUTDOWN" && s.value === "running" ? liveIds(s) : [];
  let { next, keys } = predictTransition(conductorMachine, s, e as ConductorEvent);
  for (const id of follow) {
    const r = predictTransition(conductorMachine, next, doneOf(id) as unknown as ConductorEvent);
    next = r.next;
    keys = [...keys, ...r.keys];
  }
  return { next, keys };
}

/** The conductor machine with folded steps, as actor logic for xstate/graph. */
export const conductorModelLogic = withPrediction(conductorMachine, step as never);

export function conductorModelEvents(s: ConductorSnapshotValue): ConductorModelEvent[] {
  if (s.status !== "active") return [];
  const ids = Object.keys(s.context.sessions);
  const live = liveIds(s);
  const out: ConductorModelEvent[] = [];
  const fresh = IDS.find((id) => !ids.includes(id));
  if (fresh && s.value === "running") out.push({ type: "SPAWN", session: modelSession(fresh) });
  // A duplicate id (or any spawn once shutting down) is refused by the machine.
  if (ids.length > 0 || s.value !== "running") out.push({ type: "SPAWN", session: modelSession(ids[0] ?? "a") });
  for (const id of live)
    out.push(doneOf(id), { type: "KILL", id, reason: "model_kill" }, { type: "INPUT", id, text: "y" });
  // A session's own actor throws (a defect): it counts as final, the others run on.
  if (s.value === "running") for (const id of live) out.push(errorOf(id));
  // Removing a final session frees its id; an unknown id is refused. Only once spawning is over:
  // a freed id spawned again would be a second agent under one name for the test's agent hub.
  if (s.value !== "running") {
    for (const id of ids.filter((id) => s.context.finished[id])) out.push({ type: "REMOVE", id });
    const unknown = IDS.find((id) => !ids.includes(id));
    if (unknown) out.push({ type: "REMOVE", id: unknown });
  }
  if (s.value === "running") out.push({ type: "SHUTDOWN", reason: "model" });
  if (s.value === "shuttingDown") out.push({ type: "xstate.done.actor.awaitProcessTrees" });
  if (s.value === "flushing") out.push({ type: "xstate.done.actor.flushLog" });
  return out;
}

export function serializeConductorState(s: ConductorSnapshotValue): string {
  return JSON.stringify({
    value: s.value,
    sessions: Object.keys(s.context.sessions),
    finished: Object.keys(s.context.finished).sort(),
  });
}

export function describeConductorEvent(e: ConductorModelEvent): string {
  const id = (e as { id?: string; session?: SessionInput }).id ?? (e as { session?: SessionInput }).session?.id;
  if (e.type.startsWith("xstate.done.actor.session:")) return `session ${e.type.slice(26)} completes`;
  if (e.type.startsWith("xstate.error.actor.session:")) return `session ${e.type.slice(27)}'s actor throws`;
  if (e.type.startsWith("xstate.done.actor.")) return `${e.type.slice(18)} done`;
  return id ? `${e.type} ${id}` : e.type;
}

/** Paths through the conductor machine covering every edge (or, fewer, every transition). */
export function conductorPaths(opts: { cover?: "edges" | "transitions" } = {}) {
  const { graph, paths } = edgeCoverPaths(
    conductorMachine,
    {
      events: conductorModelEvents,
      serializeState: serializeConductorState,
      predict: step,
    },
    describeConductorEvent,
  );
  return {
    states: graph.states.size,
    edges: graph.edges.length,
    paths: opts.cover === "transitions" ? selectCovering(paths) : paths,
  };
}
