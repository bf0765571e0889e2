/**
 * Paths through a model for tests: the abstract graph from `xstate/graph`'s adjacency map,
 * shortest prefixes from `getShortestPaths`, and a greedy walk that covers every edge.
 * Each step carries the transition keys the machine itself predicts for it, so a runner can
 * check that the real runtime took exactly those transitions.
 */
import { type AnyActorLogic, createEmptyActor, type EventObject, type InspectionEvent, type Snapshot } from "xstate";
import { getAdjacencyMap, getShortestPaths, type StatePath, type Step } from "xstate/graph";
import { transitionKey } from "./coverage.js";

export interface ModelOptions<TSnap extends Snapshot<unknown>, TEvent extends EventObject> {
  /** The events that can really happen in a given (model) snapshot. */
  events: (snapshot: TSnap) => readonly TEvent[];
  /** The abstraction: snapshots with the same string are the same test state. */
  serializeState: (snapshot: TSnap) => string;
  input?: unknown;
  /** Next snapshot and transition keys of a step (default: `predictTransition` on the logic). */
  predict?: (snapshot: TSnap, event: TEvent) => { next: TSnap; keys: string[] };
}

export interface ModelEdge<TSnap extends Snapshot<unknown>, TEvent extends EventObject> {
  from: string;
  to: string;
  event: TEvent;
  next: TSnap;
  /** Transition keys the machine takes for this event (eventless follow-ups included). */
  keys: string[];
}

export interface ModelGraph<TSnap extends Snapshot<unknown>, TEvent extends EventObject> {
  initial: string;
  states: Map<string, TSnap>;
  /** Edges whose event selects at least one transition (no-ops are left out: nothing to test). */
  edges: ModelEdge<TSnap, TEvent>[];
}

/** A path in xstate/graph's shape plus what to expect at each step. */
export interface ModelPath<TSnap extends Snapshot<unknown>, TEvent extends EventObject>
  extends StatePath<TSnap, TEvent> {
  /** `keys[i]`: transition keys step i must take (`keys[0]` is the initial step: none). */
  keys: string[][];
  /** Serialized test state after each step. */
  serialized: string[];
  description: string;
}

/**
 * One event applied to a snapshot the way xstate/graph does (actions not executed), also
 * returning which transition definitions fired: read from the machine's own microstep reports.
 * `systemActors` are found by `system.get(id)` during the step (e.g. a `broker` the machine
 * sends to): without them a machine may take its "nobody there" branch.
 */
export function predictTransition<TSnap extends Snapshot<unknown>>(
  logic: AnyActorLogic,
  snapshot: TSnap,
  event: EventObject,
  systemActors: Readonly<Record<string, unknown>> = {},
): { next: TSnap; keys: string[] } {
  const keys: string[] = [];
  // A fresh mock system per step: spawned actors register systemIds, which must stay unique.
  const empty = createEmptyActor();
  const system = Object.create(empty.system, {
    _sendInspectionEvent: {
      value: (ev: InspectionEvent) => {
        if (ev.type === "@xstate.microstep") keys.push(...ev._transitions.map(transitionKey));
      },
    },
    get: { value: (id: string) => systemActors[id] ?? empty.system.get(id) },
  });
  const scope = {
    self: empty,
    logger: () => {},
    id: "",
    sessionId: "model",
    defer: () => {},
    system,
    stopChild: () => {},
    emit: () => {},
    actionExecutor: () => {},
  };
  const next = logic.transition(snapshot, event, scope as never) as TSnap;
  return { next, keys };
}

/** The same logic, but stepping through `predict` (so xstate/graph sees what the prediction sees). */
export function withPrediction<L extends AnyActorLogic>(
  logic: L,
  predict: (s: never, e: never) => { next: unknown },
): L {
  return Object.create(logic, { transition: { value: (s: never, e: never) => predict(s, e).next } }) as L;
}

export function buildModelGraph<TSnap extends Snapshot<unknown>, TEvent extends EventObject>(
  logic: AnyActorLogic,
  opts: ModelOptions<TSnap, TEvent>,
): ModelGraph<TSnap, TEvent> {
  if (opts.predict) logic = withPrediction(logic, opts.predict as never);
  const adj = getAdjacencyMap(logic, {
    events: opts.events as never,
    serializeState: opts.serializeState as never,
    ...(opts.input !== undefined ? { input: opts.input } : {}),
  }) as Record<string, { state: TSnap; transitions: Record<string, { event: TEvent; state: TSnap }> }>;
  const states = new Map<string, TSnap>();
  const edges: ModelEdge<TSnap, TEvent>[] = [];
  for (const [from, v] of Object.entries(adj)) {
    states.set(from, v.state);
    for (const t of Object.values(v.transitions)) {
      const { keys } = opts.predict ? opts.predict(v.state, t.event) : predictTransition(logic, v.state, t.event);
      if (keys.length > 0) edges.push({ from, to: opts.serializeState(t.state), event: t.event, next: t.state, keys });
    }
  }
  const [initial] = Object.keys(adj);
  if (initial === undefined) throw new Error("modelEdges: the machine has no reachable state");
  return { initial, states, edges };
}

const isFinal = (s: Snapshot<unknown>) => s.status !== "active";

/**
 * Paths that together take every edge of the model graph at least once: the shortest path to
 * an edge's source (from `getShortestPaths`), the edge, then uncovered edges for as long as
 * the walk finds one. Deterministic: the same model gives the same paths in the same order.
 */
export function edgeCoverPaths<TSnap extends Snapshot<unknown>, TEvent extends EventObject>(
  logic: AnyActorLogic,
  opts: ModelOptions<TSnap, TEvent>,
  describe: (e: TEvent) => string = (e) => e.type,
): { graph: ModelGraph<TSnap, TEvent>; paths: ModelPath<TSnap, TEvent>[] } {
  const graph = buildModelGraph(logic, opts);
  if (opts.predict) logic = withPrediction(logic, opts.predict as never);
  const shortest = getShortestPaths(logic, {
    events: opts.events as never,
    serializeState: opts.serializeState as never,
    ...(opts.input !== undefined ? { input: opts.input } : {}),
  });
  const prefixOf = new Map(shortest.map((p) => [opts.serializeState(p.state as TSnap), p]));
  const edgeId = (e: ModelEdge<TSnap, TEvent>) => `${e.from} ${JSON.stringify(e.event)}`;
  const out = new Map<string, ModelEdge<TSnap, TEvent>[]>();
  for (const e of graph.edges) out.set(e.from, [...(out.get(e.from) ?? []), e]);
  const uncovered = new Set(graph.edges.map(edgeId));
  const hasWork = (s: string) => (out.get(s) ?? []).some((e) => uncovered.has(edgeId(e)));

  const paths: ModelPath<TSnap, TEvent>[] = [];
  for (const edge of graph.edges) {
    if (!uncovered.has(edgeId(edge))) continue;
    const prefix = prefixOf.get(edge.from);
    if (!prefix) continue; // unreachable (cannot happen: the adjacency map is built by reachability)
    const steps: Step<TSnap, TEvent>[] = prefix.steps.map((s) => ({
      state: s.state as TSnap,
      event: s.event as TEvent,
    }));
    const keys: string[][] = [[]];
    const first = steps[0];
    if (!first) continue; // a prefix always starts at the initial state; nothing to walk otherwise
    const serialized = [opts.serializeState(first.state)];
    // Replay the prefix through the model edges to know their keys (and mark them covered).
    for (const s of steps.slice(1)) {
      const from = serialized[serialized.length - 1] as string;
      const e = (out.get(from) ?? []).find((x) => JSON.stringify(x.event) === JSON.stringify(s.event));
      if (!e) throw new Error(`edgeCoverPaths: prefix step ${s.event.type} from ${from} is not a model edge`);
      uncovered.delete(edgeId(e));
      keys.push(e.keys);
      serialized.push(e.to);
    }
    let next: ModelEdge<TSnap, TEvent> | undefined = edge;
    while (next) {
      uncovered.delete(edgeId(next));
      steps.push({ state: next.next, event: next.event });
      keys.push(next.keys);
      serialized.push(next.to);
      if (isFinal(next.next)) break;
      const here: ModelEdge<TSnap, TEvent>[] = (out.get(next.to) ?? []).filter((e) => uncovered.has(edgeId(e)));
      // Keep walking: prefer edges that lead somewhere with more work, then non-final targets.
      next = here.find((e) => !isFinal(e.next) && hasWork(e.to)) ?? here.find((e) => !isFinal(e.next)) ?? here[0];
    }
    const last = steps[steps.length - 1] as Step<TSnap, TEvent>;
    paths.push({
      state: last.state,
      steps,
      weight: steps.length - 1,
      keys,
      serialized,
      description: steps
        .slice(1)
        .map((s) => describe(s.event))
        .join(" → "),
    });
  }
  return { graph, paths };
}

/** Fewest paths (greedy) whose keys cover every key the given paths cover. */
export function selectCovering<T extends { keys: string[][] }>(paths: readonly T[]): T[] {
  const remaining = new Set(paths.flatMap((p) => p.keys.flat()));
  const chosen: T[] = [];
  while (remaining.size > 0) {
    let best: T | undefined;
    let gain = 0;
    for (const p of paths) {
      const g = new Set(p.keys.flat().filter((k) => remaining.has(k))).size;
      if (g > gain) [best, gain] = [p, g];
    }
    if (!best) break;
    chosen.push(best);
    for (const k of best.keys.flat()) remaining.delete(k);
  }
  return chosen;
}
