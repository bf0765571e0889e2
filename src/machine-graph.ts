/**
 * Read a machine's own definition: its moves (for the table test) and a Mermaid diagram
 * (for the docs), so neither is ever drawn by hand.
 */
import type { AnyStateMachine } from "xstate";

export interface Move {
  from: string;
  to: string;
  /** The event, `after <delay>` for a named delay, or `always` for a transient move. */
  on: string;
}

/** Every move between top-level states that the machine can make (self re-entries excluded). */
export function listMoves(machine: AnyStateMachine): Move[] {
  const moves: Move[] = [];
  for (const node of Object.values(machine.root.states)) {
    const add = (on: string, targets: readonly { key: string }[] | undefined) => {
      for (const t of targets ?? []) if (t.key !== node.key) moves.push({ from: node.key, to: t.key, on });
    };
    for (const [event, defs] of node.transitions) {
      for (const d of defs) add(readableEvent(event), d.target);
    }
    for (const d of node.always ?? []) add("always", d.target);
  }
  const seen = new Set<string>();
  return moves.filter((m) => {
    const k = `${m.from}|${m.to}|${m.on}`;
    return seen.has(k) ? false : (seen.add(k), true);
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
  return lines.join("\n") + "\n";
}
