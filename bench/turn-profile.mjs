// Which functions ran in the slowest turns of a spawn-turns.mjs run (issue 13). Run the bench as
//   TURNS_OUT=/tmp/turns.json node --cpu-prof --cpu-prof-dir=/tmp/prof bench/spawn-turns.mjs
// then `node bench/turn-profile.mjs /tmp/turns.json /tmp/prof/<file>.cpuprofile [TOP]`: for each slow
// turn (longest first), its sampled CPU by self function and by the first frame of ours (dist/) on the stack.
import { readFileSync } from "node:fs";

const [turnsFile, profFile, topArg] = process.argv.slice(2);
const TOP = Number(topArg ?? 8);
const turns = JSON.parse(readFileSync(turnsFile, "utf8")).sort((a, b) => b.ms - a.ms);
const prof = JSON.parse(readFileSync(profFile, "utf8"));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const name = (n) => {
  const f = n.callFrame;
  const file = f.url.replace(/^.*\/(dist|node_modules)\//, "$1/").replace(/^node:/, "");
  return `${f.functionName || "(anon)"} ${file}:${f.lineNumber + 1}`;
};
// The first frame under dist/ from the leaf up ("ours"), else the leaf's own name.
const oursOf = (id) => {
  for (let n = byId.get(id); n; n = byId.get(parent.get(n.id))) if (n.callFrame.url.includes("/dist/")) return name(n);
  return name(byId.get(id));
};
let t = prof.startTime;
const samples = prof.samples.map((id, i) => {
  t += prof.timeDeltas[i];
  return { id, t };
});
const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);
const top = (m) =>
  [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP)
    .map(([k, v]) => `    ${(v / 1000).toFixed(1).padStart(6)} ms  ${k}`)
    .join("\n");
for (const turn of turns.slice(0, Number(process.env.TURNS ?? 6))) {
  const self = new Map();
  const ours = new Map();
  let total = 0;
  for (let i = 1; i < samples.length; i++) {
    const s = samples[i];
    if (s.t <= turn.fromUs || s.t > turn.toUs) continue;
    const dt = s.t - samples[i - 1].t;
    const n = byId.get(s.id);
    if (n.callFrame.functionName === "(idle)") continue;
    total += dt;
    add(self, name(n), dt);
    add(ours, oursOf(s.id), dt);
  }
  console.log(`turn at ${turn.atS} s: ${turn.ms} ms, ${(total / 1000).toFixed(1)} ms sampled busy`);
  console.log(`  self:\n${top(self)}\n  ours:\n${top(ours)}`);
}
