/**
 * Transition coverage measured on the real thing: every transition definition of a machine gets
 * a stable readable key, and an inspection observer records which ones running actors took.
 * Totals are counted from the machine's own graph, so a new transition lowers coverage at once.
 */
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition, InspectionEvent } from "xstate";

export interface TransitionInfo {
  /** `healthy: CHILD.EXIT [exitedCleanly] → completed`, `failed: always [mayRestart] → restarting`. */
  key: string;
  /** State path, `(root)` for the machine's own `on`. */
  source: string;
  event: string;
  guard: string | null;
  /** Target state, or null for a transition that stays (actions only). */
  target: string | null;
}

const nodeName = (n: AnyStateNode) => (n.path.length ? n.path.join(".") : "(root)");

function guardName(guard: unknown): string | null {
  if (!guard) return null;
  if (typeof guard === "string") return guard;
  if (typeof guard === "object" && "type" in guard) return String((guard as { type: unknown }).type);
  return (guard as { name?: string }).name || "inline";
}

/** `xstate.after.stallAfter.session.healthy` → `after stallAfter`, as the diagrams name it. */
function eventName(t: AnyTransitionDefinition): string {
  if ((t.source.always ?? []).includes(t)) return "always";
  const m = /^xstate\.after\.([^.]+)\./.exec(t.eventType);
  return m ? `after ${m[1]}` : t.eventType;
}

export function describeTransition(t: AnyTransitionDefinition): TransitionInfo {
  const source = nodeName(t.source);
  const event = eventName(t);
  const guard = guardName(t.guard);
  const target = t.target?.length ? t.target.map(nodeName).join(",") : null;
  const to = target === null ? " (stays)" : ` → ${target}${t.reenter && target === source ? " (re-enters)" : ""}`;
  return { key: `${source}: ${event}${guard ? ` [${guard}]` : ""}${to}`, source, event, guard, target };
}

export const transitionKey = (t: AnyTransitionDefinition) => describeTransition(t).key;

/** Every transition definition of the machine: each `on` candidate, each `after`, each `always`. */
export function machineTransitions(machine: AnyStateMachine): TransitionInfo[] {
  const out: TransitionInfo[] = [];
  const walk = (node: AnyStateNode) => {
    for (const defs of node.transitions.values()) for (const d of defs) out.push(describeTransition(d));
    for (const d of node.always ?? []) out.push(describeTransition(d));
    for (const child of Object.values(node.states) as AnyStateNode[]) walk(child);
  };
  walk(machine.root);
  return out;
}

/** The machine's states by path (every state node, compound ones included). */
export function machineStates(machine: AnyStateMachine): string[] {
  const out: string[] = [];
  const walk = (node: AnyStateNode) => {
    for (const child of Object.values(node.states) as AnyStateNode[]) {
      out.push(nodeName(child));
      walk(child);
    }
  };
  walk(machine.root);
  return out;
}

/** One macrostep piece an actor took: the event, the transitions selected, the state after. */
export interface TakenStep {
  /** The actor's id (`session:<id>` for conductor sessions). */
  actor: string;
  machine: string;
  event: string;
  keys: string[];
  value: unknown;
  /** The snapshot right after this microstep (context included). */
  snapshot: { value: unknown; context: unknown; status: string };
}

export interface TransitionRecorder {
  /** Pass as `inspect` to `createActor` or `createConductor`. */
  inspect: (event: InspectionEvent) => void;
  /** Every microstep with transitions, in order. */
  readonly steps: readonly TakenStep[];
  /** Keys taken by actors of the machine with this id (all machines when omitted). */
  taken(machineId?: string): Set<string>;
  /** State values seen (top-level keys as strings) for that machine. */
  visited(machineId?: string): Set<string>;
  /** Called after each recorded step (for waiting on a transition). */
  onStep(fn: (step: TakenStep) => void): () => void;
}

/** An inspection observer that records the transition definitions real actors take. */
export function recordTransitions(): TransitionRecorder {
  const steps: TakenStep[] = [];
  const listeners = new Set<(s: TakenStep) => void>();
  const machineOf = (snap: unknown) => (snap as { machine?: { id?: string } }).machine?.id ?? "";
  const valueKeys = (v: unknown): string[] =>
    typeof v === "string"
      ? [v]
      : v && typeof v === "object"
        ? Object.entries(v).flatMap(([k, sub]) => [k, ...valueKeys(sub).map((s) => `${k}.${s}`)])
        : [];
  return {
    inspect(ev) {
      if (ev.type !== "@xstate.microstep" || ev._transitions.length === 0) return;
      const snap = ev.snapshot as unknown as TakenStep["snapshot"];
      const step: TakenStep = {
        actor: (ev.actorRef as { id?: string }).id ?? "",
        machine: machineOf(ev.snapshot),
        event: ev.event.type,
        keys: ev._transitions.map(transitionKey),
        value: snap.value,
        snapshot: snap,
      };
      steps.push(step);
      for (const fn of listeners) fn(step);
    },
    steps,
    taken: (id) => new Set(steps.filter((s) => id === undefined || s.machine === id).flatMap((s) => s.keys)),
    visited: (id) =>
      new Set(steps.filter((s) => id === undefined || s.machine === id).flatMap((s) => valueKeys(s.value))),
    onStep(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}

export interface CoverageReport {
  machine: string;
  states: { covered: number; total: number; missing: string[] };
  transitions: { covered: number; total: number; missing: string[] };
  /** Keys taken that the machine does not have (another version of it?): should be empty. */
  unknown: string[];
  /** One line for a test log, then the missing items if any. */
  text: string;
}

/** Coverage of `machine` by the transition keys (and state values) a run took. */
export function coverageReport(
  machine: AnyStateMachine,
  taken: Iterable<string>,
  visited?: Iterable<string>,
): CoverageReport {
  const all = machineTransitions(machine).map((t) => t.key);
  const states = machineStates(machine);
  const takenSet = new Set(taken);
  // A state counts when the run was seen in it, or left or entered it by a taken transition.
  const seen = new Set(visited ?? []);
  for (const t of machineTransitions(machine)) {
    if (!takenSet.has(t.key)) continue;
    if (t.source !== "(root)") seen.add(t.source);
    if (t.target) seen.add(t.target);
  }
  const missingT = all.filter((k) => !takenSet.has(k));
  const missingS = states.filter((s) => !seen.has(s));
  const pct = (a: number, b: number) => (b === 0 ? 100 : Math.floor((a / b) * 1000) / 10);
  const sCov = states.length - missingS.length;
  const tCov = all.length - missingT.length;
  const lines = [
    `${machine.id}: states ${sCov}/${states.length} (${pct(sCov, states.length)}%), transitions ${tCov}/${all.length} (${pct(tCov, all.length)}%)`,
    ...missingS.map((s) => `  state never reached: ${s}`),
    ...missingT.map((k) => `  transition never taken: ${k}`),
  ];
  return {
    machine: machine.id,
    states: { covered: sCov, total: states.length, missing: missingS },
    transitions: { covered: tCov, total: all.length, missing: missingT },
    unknown: [...takenSet].filter((k) => !all.includes(k)),
    text: lines.join("\n"),
  };
}
