/**
 * Read a machine's own definition: its moves (for the table test) and a Mermaid diagram
 * (for the docs), so neither is ever drawn by hand.
 */
import type { AnyStateMachine, AnyStateNode } from "xstate";

export interface Move {
  from: string;
  to: string;
  /** The event, `after <delay>` for a named delay, or `always` for a transient move. */
  on: string;
}

/**
 * Every move between top-level states that the machine can make (self re-entries excluded).
 * Transitions of nested states count for their top-level ancestor; moves inside one top-level
 * state (e.g. `starting.leasing` → `starting.launching`) are not moves between states.
 */
export function listMoves(machine: AnyStateMachine): Move[] {
  const moves: Move[] = [];
  const topOf = (n: AnyStateNode): AnyStateNode => (n.parent && n.parent !== machine.root ? topOf(n.parent) : n);
  const walk = (node: AnyStateNode, top: AnyStateNode) => {
    const add = (on: string, targets: readonly AnyStateNode[] | undefined) => {
      for (const t of targets ?? []) {
        const to = topOf(t);
        if (to.key !== top.key) moves.push({ from: top.key, to: to.key, on });
      }
    };
    for (const [event, defs] of node.transitions) for (const d of defs) add(readableEvent(event), d.target);
    for (const d of node.always ?? []) add("always", d.target);
    for (const child of Object.values(node.states)) walk(child, top);
  };
  for (const node of Object.values(machine.root.states)) walk(node, node);
  const seen = new Set<string>();
  return moves.filter((m) => {
    const k = `${m.from}|${m.to}|${m.on}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** `xstate.after.stallAfter.session.healthy` → `after stallAfter`; invoke results likewise. */
function readableEvent(event: string): string {
  const m = /^xstate\.(after|done\.actor|error\.actor)\.([^.]+)/.exec(event);
  if (!m || event.endsWith(".*")) return event;
  return `${m[1] === "after" ? "after" : m[1] === "done.actor" ? "done" : "error"} ${m[2]}`;
}

/** A Mermaid `stateDiagram-v2` of the machine's top-level states. */
export function toMermaid(machine: AnyStateMachine): string {
  const lines = ["stateDiagram-v2"];
  const root = machine.root;
  const initial = root.initial?.target?.[0]?.key;
  if (initial) lines.push(`  [*] --> ${initial}`);
  const grouped = new Map<string, string[]>();
  for (const m of listMoves(machine)) {
    const k = `${m.from}|${m.to}`;
    grouped.set(k, [...(grouped.get(k) ?? []), m.on]);
  }
  for (const [k, ons] of grouped) {
    const [from, to] = k.split("|");
    lines.push(`  ${from} --> ${to}: ${[...new Set(ons)].join(" / ")}`);
  }
  for (const node of Object.values(root.states)) if (node.type === "final") lines.push(`  ${node.key} --> [*]`);
  return `${lines.join("\n")}\n`;
}

/** The statechart as plain data (for the viewer and other tools): top-level states, moves grouped. */
export interface MachineGraph {
  id: string;
  initial: string | null;
  /** `children`: the keys of a compound state's own states (drawn inside it). */
  states: Array<{ key: string; final: boolean; transient: boolean; children: string[] }>;
  /** One edge per from→to pair; `on` lists its events in definition order (`listMoves` names). */
  edges: Array<{ from: string; to: string; on: string[] }>;
}

/** `listMoves` grouped by from→to, with each top-level state's own states listed. */
export function toGraphJson(machine: AnyStateMachine): MachineGraph {
  const edges = new Map<string, MachineGraph["edges"][number]>();
  for (const m of listMoves(machine)) {
    const edge = edges.get(`${m.from}|${m.to}`) ?? { from: m.from, to: m.to, on: [] };
    if (!edge.on.includes(m.on)) edge.on.push(m.on);
    edges.set(`${m.from}|${m.to}`, edge);
  }
  const states = Object.values(machine.root.states);
  return {
    id: machine.id,
    initial: machine.root.initial?.target?.[0]?.key ?? null,
    states: states.map((n) => ({
      key: n.key,
      final: n.type === "final",
      transient: (n.always ?? []).length > 0,
      children: Object.keys(n.states),
    })),
    edges: [...edges.values()],
  };
}
