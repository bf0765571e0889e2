/**
 * A small deterministic layered layout for a statechart graph and its SVG rendering. No
 * dependency: the chart is small (a dozen states), so ranks by longest path, one barycenter
 * pass for the order inside a rank and lanes above/below for long and backward edges are enough.
 */
import type { MachineGraph } from "../machine-graph.js";

export interface PlacedState {
  key: string;
  x: number;
  y: number;
  w: number;
  h: number;
  rank: number;
  final: boolean;
  transient: boolean;
  initial: boolean;
  /** A compound state's own states, listed under its name. */
  children: string[];
}

export interface RoutedEdge {
  from: string;
  to: string;
  events: string[];
  label: string[];
  path: string;
  labelX: number;
  labelY: number;
}

export interface Layout {
  width: number;
  height: number;
  states: PlacedState[];
  edges: RoutedEdge[];
}

const W = 118;
const H = 38;
const COL = 230;
const ROW = 96;
const LANE = 22;
const PAD = 24;

/** Event names as a reader scans them: `CHILD.EXIT` → `exit`, `CHILD.SPAWN_ERROR` → `spawn error`. */
export function shortEvent(on: string): string {
  if (on.startsWith("CHILD.")) return on.slice(6).toLowerCase().replace(/_/g, " ");
  return on;
}

export function layoutGraph(g: MachineGraph): Layout {
  const keys = g.states.map((s) => s.key);
  const out = new Map(keys.map((k) => [k, g.edges.filter((e) => e.from === k).map((e) => e.to)]));
  // Back edges: those closing a cycle in a DFS from the initial state (then any unvisited state).
  const mark = new Map<string, 1 | 2>();
  const back = new Set<string>();
  const dfs = (k: string) => {
    mark.set(k, 1);
    for (const t of out.get(k) ?? []) {
      if (mark.get(t) === 1) back.add(`${k}|${t}`);
      else if (!mark.has(t)) dfs(t);
    }
    mark.set(k, 2);
  };
  for (const k of [g.initial, ...keys]) if (k && !mark.has(k)) dfs(k);
  const forward = g.edges.filter((e) => !back.has(`${e.from}|${e.to}`) && e.from !== e.to);

  // Rank = longest forward path from a source, so every forward edge points right.
  const rank = new Map<string, number>();
  const rankOf = (k: string): number => {
    const known = rank.get(k);
    if (known !== undefined) return known;
    rank.set(k, 0); // cycle guard; forward edges form a DAG
    const r = Math.max(0, ...forward.filter((e) => e.to === k).map((e) => rankOf(e.from) + 1));
    rank.set(k, r);
    return r;
  };
  keys.forEach(rankOf);

  const maxRank = Math.max(0, ...rank.values());
  const columns: string[][] = Array.from({ length: maxRank + 1 }, () => []);
  const pos = new Map<string, number>();
  for (let r = 0; r <= maxRank; r++) {
    const col = keys.filter((k) => rank.get(k) === r);
    const bary = (k: string) => {
      const ps = forward.filter((e) => e.to === k && pos.has(e.from)).map((e) => known(pos, e.from));
      return ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : keys.indexOf(k) / keys.length;
    };
    col.sort((a, b) => bary(a) - bary(b) || keys.indexOf(a) - keys.indexOf(b));
    for (const [i, k] of col.entries()) pos.set(k, i - (col.length - 1) / 2); // centred rows
    columns[r] = col;
  }

  // Edges that skip a rank or go back run in lanes above or below the rows; the shortest lane
  // sits nearest to the rows, so lanes nest instead of crossing.
  const rows = Math.max(1, ...columns.map((c) => c.length));
  const span = (e: { from: string; to: string }) => Math.abs(known(rank, e.to) - known(rank, e.from));
  const isLane = (e: { from: string; to: string }) => e.from !== e.to && (back.has(`${e.from}|${e.to}`) || span(e) > 1);
  const sideOf = (e: { from: string; to: string }): "top" | "bottom" =>
    known(pos, e.from) + known(pos, e.to) < 0 ? "top" : "bottom";
  const laneEdges = g.edges
    .filter(isLane)
    .sort((a, b) => span(a) - span(b) || keys.indexOf(a.from) - keys.indexOf(b.from));
  const labelsOf = (e: MachineGraph["edges"][number]) => wrap(e.on.map(shortEvent));
  const lane = new Map<string, { side: "top" | "bottom"; offset: number }>();
  const depth = { top: 14, bottom: 14 };
  for (const e of laneEdges) {
    const side = sideOf(e);
    const need = Math.max(LANE, labelsOf(e).length * 12 + 12);
    lane.set(`${e.from}|${e.to}`, { side, offset: depth[side] + need / 2 - LANE / 2 + 4 });
    depth[side] += need;
  }
  const top = PAD + (depth.top > 14 ? depth.top : 0);
  const tallest = g.states.some((s) => s.children.length > 0) ? H + 14 : H;
  const rowsHeight = (rows - 1) * ROW + tallest;
  const height = top + rowsHeight + (depth.bottom > 14 ? depth.bottom : 0) + PAD;
  // A compound state is as wide as the list of its own states needs, centred in its column.
  const widthOf = (s: MachineGraph["states"][number]) =>
    Math.max(W, s.key.length * 8 + 24, s.children.join(" · ").length * 5.4 + 16);
  const extra = Math.max(0, ...g.states.map((s) => widthOf(s) - W));
  const width = PAD * 2 + extra + maxRank * COL + W;
  const midY = top + rowsHeight / 2;

  const states: PlacedState[] = g.states.map((s) => ({
    key: s.key,
    rank: known(rank, s.key),
    x: PAD + extra / 2 + known(rank, s.key) * COL + (W - widthOf(s)) / 2,
    y: midY + known(pos, s.key) * ROW - (s.children.length ? H + 14 : H) / 2,
    w: widthOf(s),
    h: s.children.length ? H + 14 : H,
    children: s.children,
    final: s.final,
    transient: s.transient,
    initial: s.key === g.initial,
  }));
  const at = new Map(states.map((s) => [s.key, s]));

  // Lane ends are spread along a box side, ordered by where the other end is, so they don't overlap.
  const ends = new Map<string, Array<{ edge: string; otherX: number }>>();
  for (const e of laneEdges) {
    const side = known(lane, `${e.from}|${e.to}`).side;
    for (const [mine, other] of [
      [e.from, e.to],
      [e.to, e.from],
    ] as const) {
      const list = ends.get(`${mine}|${side}`) ?? [];
      list.push({ edge: `${e.from}|${e.to}`, otherX: known(at, other).x });
      ends.set(`${mine}|${side}`, list);
    }
  }
  const endX = (state: string, side: string, edge: string) => {
    const list = known(ends, `${state}|${side}`)
      .slice()
      .sort((a, b) => a.otherX - b.otherX);
    const s = known(at, state);
    return s.x + (s.w * (list.findIndex((x) => x.edge === edge) + 1)) / (list.length + 1);
  };

  // Labels: the preferred spot first (middle), then further along the edge, skipping spots that
  // would cover a state or a label already placed.
  const taken: Box[] = states.map((s) => ({ x: s.x - 4, y: s.y - 4, w: s.w + 8, h: s.h + 8 }));
  const place = (label: string[], spots: Array<[number, number]>): [number, number] => {
    const { w, h } = labelSize(label);
    const boxAt = ([x, y]: [number, number]) => ({ x: x - w / 2, y: y - h / 2, w, h });
    const best = spots.find((p) => !taken.some((t) => overlaps(t, boxAt(p)))) ?? spots[0];
    if (!best) throw new Error("layout: a label was given no spot to go to (an empty list of spots)");
    taken.push(boxAt(best));
    return best;
  };
  const T = [0.5, 0.38, 0.62, 0.26, 0.74, 0.16, 0.84];

  const edges: RoutedEdge[] = g.edges
    .filter((e) => e.from !== e.to)
    .map((e) => {
      const a = known(at, e.from);
      const b = known(at, e.to);
      const label = labelsOf(e);
      const k = `${e.from}|${e.to}`;
      const l = lane.get(k);
      if (!l) {
        // Neighbouring ranks: an S-curve from the right side to the left side.
        const [sx, sy, ex, ey] = [a.x + a.w, a.y + a.h / 2, b.x, b.y + b.h / 2];
        const dx = (ex - sx) / 2;
        const point = (t: number): [number, number] => {
          const u = 1 - t;
          return [
            u * u * u * sx + 3 * u * u * t * (sx + dx) + 3 * u * t * t * (ex - dx) + t * t * t * ex,
            sy + (ey - sy) * (3 * t * t - 2 * t * t * t),
          ];
        };
        const [labelX, labelY] = place(label, T.map(point));
        return {
          from: e.from,
          to: e.to,
          events: e.on,
          label,
          path: `M${sx},${sy} C${sx + dx},${sy} ${ex - dx},${ey} ${ex},${ey}`,
          labelX,
          labelY,
        };
      }
      const isTop = l.side === "top";
      const laneY = isTop ? top - l.offset : top + rowsHeight + l.offset;
      const sy = isTop ? a.y : a.y + a.h;
      const ey = isTop ? b.y : b.y + b.h;
      const sx = endX(e.from, l.side, k);
      const ex = endX(e.to, l.side, k);
      // Rounded orthogonal route: out of the box, along the lane, into the target box.
      const r = 8;
      const dir = ex > sx ? 1 : -1;
      const v = isTop ? -1 : 1;
      const path =
        `M${sx},${sy} L${sx},${laneY - v * r} Q${sx},${laneY} ${sx + dir * r},${laneY} ` +
        `L${ex - dir * r},${laneY} Q${ex},${laneY} ${ex},${laneY - v * r} L${ex},${ey}`;
      const [labelX, labelY] = place(
        label,
        T.map((t) => [sx + (ex - sx) * t, laneY]),
      );
      return { from: e.from, to: e.to, events: e.on, label, path, labelX, labelY };
    });
  return { width, height, states, edges };
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}
/** A lookup that the layout's own construction guarantees; a miss means the graph names an undefined state. */
function known<K, V>(map: ReadonlyMap<K, V>, key: K): V {
  const value = map.get(key);
  if (value === undefined) {
    throw new Error(`layout: nothing placed for ${String(key)}; every edge must join states of the graph`);
  }
  return value;
}

const overlaps = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/** The box a label's text needs (10.5px monospace: ~6.1px a character, 12px a line). */
export function labelSize(label: string[]): { w: number; h: number } {
  return { w: Math.max(...label.map((l) => l.length)) * 6.1 + 8, h: label.length * 12 + 4 };
}

/** Up to 16 characters a line, breaking between events; a long `after <delay>` breaks after "after". */
function wrap(parts: string[]): string[] {
  const words = parts.flatMap((p) => (p.length > 16 && p.startsWith("after ") ? ["after", p.slice(6)] : [p]));
  const lines: string[] = [];
  words.forEach((p, i) => {
    const last = lines.at(-1);
    const glue = words[i - 1] === "after" && p !== words[i - 1] && parts.indexOf(`after ${p}`) >= 0 ? " " : " / ";
    if (last !== undefined && last.length + p.length + glue.length <= 16)
      lines[lines.length - 1] = `${last}${glue}${p}`;
    else lines.push(p);
  });
  return lines;
}
