// Where one chart step's time goes inside a running conductor (issue 13's exit → state): V8 samples
// (every 25 µs) taken only while an actor of chart `LOGIC` (default session) processes an event of
// type `WANT` (default CHILD.EXIT), by function, inclusive and self. `ROUNDS` conductors (default 20)
// each run `N` sessions (default 15, as bench/exit-state.mjs) of a perl child printing one line, one
// after the other. The window is the actor's whole `_process` call: nested steps of other actors (the
// parent's) and the listeners of what it emits are inside it. `FOCUS=update` keeps only the samples
// with that function on their stack. A diagnosis tool, not in `npm run bench`.
//   WANT=RUN.MARKER LOGIC=childRun node bench/step-profile.mjs
import { Session } from "node:inspector/promises";
import { Actor } from "xstate";
import { dist, tempLogs } from "./lib.mjs";

const { createConductor } = await import(dist);
const WANT = process.env.WANT ?? "CHILD.EXIT";
const LOGIC = process.env.LOGIC ?? "session";
const N = Number(process.env.N ?? 15);
const ROUNDS = Number(process.env.ROUNDS ?? 20);
const TOP = Number(process.env.TOP ?? 40);
/** Only the samples with this function on their stack (its name, e.g. `update`): what it spends. */
const FOCUS = process.env.FOCUS;
const child = ["perl", "-e", 'print "line\\n"'];

/** [start, end] of each wanted step, in µs of the monotonic clock the profile's timestamps use. */
const windows = [];
const process_ = Actor.prototype._process;
Actor.prototype._process = function (event) {
  if (event.type !== WANT || this.logic?.id !== LOGIC) return process_.call(this, event);
  const t0 = process.hrtime.bigint();
  try {
    return process_.call(this, event);
  } finally {
    windows.push([Number(t0 / 1000n), Number(process.hrtime.bigint() / 1000n)]);
  }
};

const runOne = (c, id) =>
  new Promise((resolve) => {
    const fn = (e) => {
      if (e.sessionId !== id) return;
      c.off("completed", fn);
      resolve();
    };
    c.on("completed", fn);
    c.spawnSession({ id, agent: "command", command: child });
  });
const conductorRun = async (n) => {
  const c = createConductor({ logsDir: tempLogs("step-profile"), handleSignals: false, enableMesh: false });
  for (let i = 0; i < n; i++) await runOne(c, `s${i}`);
  await c.shutdown();
};

const meanOf = (ws) => ws.reduce((a, [s, e]) => a + e - s, 0) / ws.length;
await conductorRun(20); // warm up: the JIT, the spawn helper
windows.length = 0;
for (let round = 0; round < ROUNDS; round++) await conductorRun(N);
const plain = meanOf(windows.splice(0));
const inspector = new Session();
inspector.connect();
await inspector.post("Profiler.enable");
await inspector.post("Profiler.setSamplingInterval", { interval: 25 });
await inspector.post("Profiler.start");
for (let round = 0; round < ROUNDS; round++) await conductorRun(N);
const { profile } = await inspector.post("Profiler.stop");

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parentOf = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
const name = (n) =>
  `${n.callFrame.functionName || "(anon)"} ${n.callFrame.url.replace(/^.*\/(dist|node_modules)\//, "")}:${n.callFrame.lineNumber + 1}`;
const stackOf = (leaf) => {
  const frames = [];
  for (let id = leaf.id; id !== undefined; id = parentOf.get(id)) frames.push(name(byId.get(id)));
  return frames;
};
const self = new Map();
const inclusive = new Map();
let inside = 0;
let t = profile.startTime;
let w = 0;
for (let i = 0; i < profile.samples.length; i++) {
  t += profile.timeDeltas[i];
  while (w < windows.length && windows[w][1] < t) w++;
  if (w >= windows.length || windows[w][0] > t) continue;
  const leaf = byId.get(profile.samples[i]);
  if (FOCUS && !stackOf(leaf).some((k) => k.startsWith(FOCUS))) continue;
  inside++;
  self.set(name(leaf), (self.get(name(leaf)) ?? 0) + 1);
  for (const k of new Set(stackOf(leaf))) inclusive.set(k, (inclusive.get(k) ?? 0) + 1);
}
const top = (m) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP)
    .map(([k, v]) => `${((v / inside) * 100).toFixed(1).padStart(5)} %  ${k}`)
    .join("\n");
console.log(
  `${LOGIC} ${WANT}: mean ${plain.toFixed(1)} µs a step (${meanOf(windows).toFixed(1)} profiled), ${windows.length} steps, ${inside} samples`,
);
console.log(`--- inclusive\n${top(inclusive)}\n--- self\n${top(self)}`);
process.exit(0);
