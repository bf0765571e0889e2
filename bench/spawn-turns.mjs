// What the worst turns of the loop are made of while the conductor spawns N sessions (issue 13): the
// same spawn loop as scale.mjs (SPAWN_BATCH calls a turn), plus a setImmediate chain that times every
// turn, the time spent in the spawnSession calls, and the GC pauses (PerformanceObserver "gc") inside
// each turn. Prints the turns over SLOW_MS with their breakdown, the p99 turn and the count over 100 ms.
// TURNS_OUT=file: the slow turns' bounds on the monotonic clock in µs, for bench/turn-profile.mjs to
// read with a `node --cpu-prof` profile of the same run (which functions each slow turn ran).
import { readFileSync, writeFileSync } from "node:fs";
import { PerformanceObserver } from "node:perf_hooks";
import { dist, emit, percentile, probeArgv, sleep, tempLogs } from "./lib.mjs";

const N = Number(process.env.SESSIONS ?? 500);
const BATCH = Number(process.env.SPAWN_BATCH ?? 10);
const SLOW_MS = Number(process.env.SLOW_MS ?? 50);
const DIST = process.env.DIST ? new URL(process.env.DIST, `file://${process.cwd()}/`).href : dist;
const probe = probeArgv("ticker", "1000");
const load = () => Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
const r = (v) => Math.round(v * 10) / 10;

const gcs = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push({ at: e.startTime, ms: e.duration, kind: e.detail?.kind });
}).observe({ entryTypes: ["gc"] });

// A 5 ms timer chain, as monitorEventLoopDelay samples: a gap between two ticks over 5 ms is a block
// (a setImmediate chain would spin the loop and take a core from the children).
const turns = [];
let last = performance.now();
let ticking = true;
let lastCpu = 0;
const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const tick = () => {
  const t = performance.now();
  const cpu = cpuNow();
  turns.push({ from: last, to: t, cpu: cpu - lastCpu });
  last = t;
  lastCpu = cpu;
  if (ticking) setTimeout(tick, 5);
};
setTimeout(tick, 5);

const { createConductor } = await import(DIST);
// createConductor's own block, apart: what it starts (the spawn helper, the watchdog) is out of the window.
const tc = performance.now();
const c = createConductor({ logsDir: tempLogs("turns"), handleSignals: false, enableMesh: false });
const createMs = performance.now() - tc;
const calls = []; // each spawnSession call: [from, to]
const loadStart = load();
const t0 = performance.now();
turns.length = 0;
last = t0;
lastCpu = cpuNow();
for (let i = 0; i < N; i++) {
  const a = performance.now();
  c.spawnSession({ id: `s${i}`, agent: "command", command: probe });
  calls.push({ from: a, to: performance.now() });
  if (i % BATCH === BATCH - 1) await sleep(0);
}
const spawnCallsS = (performance.now() - t0) / 1000;
while (c.getSnapshot().filter((s) => s.pid !== null).length < N) await sleep(50);
const spawnAllS = (performance.now() - t0) / 1000;
ticking = false;

const max = (xs) => xs.reduce((m, x) => Math.max(m, x), 0);
// Children forked on this thread (node-pty, before the spawn helper was ready) have this process as parent.
const ppid = (pid) => {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")[1]);
  } catch {
    return -1;
  }
};
const forkedHere = c.getSnapshot().filter((s) => ppid(s.pid) === process.pid).length;
const overlap = (list, t) =>
  list.reduce((sum, x) => sum + Math.max(0, Math.min(x.to ?? x.at + x.ms, t.to) - Math.max(x.from ?? x.at, t.from)), 0);
const inSpawn = turns.filter((t) => t.to >= t0);
const slow = inSpawn
  .filter((t) => t.to - t.from > SLOW_MS)
  .map((t) => {
    const ms = t.to - t.from;
    const spawnMs = overlap(calls, t);
    // GC inside a call is already in spawnMs: count only the pauses between calls.
    const gcOut = gcs.filter((g) => !calls.some((x) => g.at >= x.from && g.at < x.to));
    const gcMs = overlap(
      gcOut.map((g) => ({ from: g.at, to: g.at + g.ms })),
      t,
    );
    const nCalls = calls.filter((x) => x.from >= t.from && x.to <= t.to).length;
    // Each pause over 5 ms in the turn, in or out of a call: its kind (1 scavenge, 4 mark-compact, 8 incremental).
    const pauses = gcs.filter((g) => g.ms > 5 && g.at >= t.from && g.at < t.to).map((g) => `${g.kind}:${r(g.ms)}`);
    return {
      atS: r((t.from - t0) / 1000),
      ms: r(ms),
      cpuMs: r(t.cpu),
      calls: nCalls,
      spawnMs: r(spawnMs),
      gcMs: r(gcMs),
      otherMs: r(ms - spawnMs - gcMs),
      ...(pauses.length ? { gc: pauses.join(" ") } : {}),
    };
  })
  .sort((a, b) => b.cpuMs - a.cpuMs);
const durations = inSpawn.map((t) => t.to - t.from);
const callMs = calls.map((x) => x.to - x.from);
emit({
  figure: "spawn-turns",
  sessions: N,
  createMs: r(createMs),
  loadStart,
  loadEnd: load(),
  spawnCallsS: r(spawnCallsS * 10) / 10,
  spawnAllS: r(spawnAllS * 10) / 10,
  forkedHere,
  ticks: inSpawn.length,
  worstGapMs: r(max(durations)),
  p99GapMs: r(percentile(durations, 99)),
  worstGapCpuMs: r(max(inSpawn.map((t) => t.cpu))),
  blocksOver100: durations.filter((d) => d > 100).length,
  callsTotalMs: r(callMs.reduce((a, b) => a + b, 0)),
  callMaxMs: r(max(callMs)),
  callFirst50Ms: r(callMs.slice(0, 50).reduce((a, b) => a + b, 0)),
  callLast50Ms: r(callMs.slice(-50).reduce((a, b) => a + b, 0)),
  gcTotalMs: r(gcs.filter((g) => g.at >= t0).reduce((a, g) => a + g.ms, 0)),
  gcMaxMs: r(max(gcs.filter((g) => g.at >= t0).map((g) => g.ms))),
  firstTurns: inSpawn.slice(0, 3).map((t) => ({ ms: r(t.to - t.from), cpuMs: r(t.cpu) })),
  slowTurns: slow.slice(0, 15),
});
// V8's profile timestamps and process.hrtime are both CLOCK_MONOTONIC (µs / ns): map performance.now() onto it.
if (process.env.TURNS_OUT) {
  const offUs = Number(process.hrtime.bigint() / 1000n) - performance.now() * 1000;
  const us = (ms) => Math.round(ms * 1000 + offUs);
  const bounds = inSpawn
    .filter((t) => t.to - t.from > SLOW_MS)
    .map((t) => ({ fromUs: us(t.from), toUs: us(t.to), ms: r(t.to - t.from), atS: r((t.from - t0) / 1000) }));
  const spans = calls.map((x) => ({ fromUs: us(x.from), toUs: us(x.to) }));
  writeFileSync(process.env.TURNS_OUT, JSON.stringify(bounds));
  writeFileSync(`${process.env.TURNS_OUT}.calls`, JSON.stringify(spans));
}
await c.shutdown("bench");
process.exit(0);
