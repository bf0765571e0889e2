// Where an exit → `completed` goes, per sample (issue 13's exit p99): the child's stamp, the kernel's view
// (perl's exit, the shim scheduled, the conductor woken: `perf sched` tracepoints when PERF=1 and perf runs),
// and the conductor's own steps (marker read, drain's reading, log closed, `completed`), side by side with
// the node-pty floor (its onExit, in bench/exit-state.mjs's floors' process) in alternate samples. Not part
// of `npm run bench`: a diagnosis tool.
//   SAMPLES=300 PERF=1 node bench/exit-breakdown.mjs
// TIMELINE=1 (with PERF=1): every context switch on both cores in the median and the two worst samples.
// THREADS=1: CPU of each of this process's threads in the two windows. PROFILE=1: V8 samples by function
// in marker → completed (PROFILE_WINDOW=output: in the turn of the agent's output, PROFILE_STACK=1: callers,
// PROFILE_BY=file: by the module of ours nearest to each sample,
// PROFILE_BY=inclusive: by each function of ours on the stack, PROFILE_BY=all: by every function on it). LATE=1: also, in turn, sessions whose
// one line comes 30 ms before their exit (children/stamp-exit-late.pl): the exit without the output's turn.
import { spawn } from "node:child_process";
import fs, { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import { startFloors } from "./exit-state.mjs";
import { fileURLToPath } from "node:url";
import { dist, once, percentile, probeArgv, stamps, tempLogs } from "./lib.mjs";

const distUrl = (p) => new URL(`../dist/${p}`, import.meta.url).href;
const { createConductor } = await import(dist);
const { ShimChannel } = await import(distUrl("actors/pty-shim-channel.js"));
const { ScreenTail } = await import(distUrl("actors/screen-tail.js"));
const { RotatingWriteStream } = await import(distUrl("actors/log-rotation.js"));
const { MasterTerm } = await import(distUrl("actors/spawn-pty-term.js"));
const SAMPLES = Number(process.env.SAMPLES ?? 100);
const probe = probeArgv("stamp-exit", "0");
const now = () => performance.now();
/**
 * Every thread's CPU so far (ms) by tid (THREADS=1): which of V8's and libuv's threads ran in a window.
 * schedstat moves at ticks and switches: a thread running while it is read (this one) shows less.
 */
const threadsCpu = () =>
  new Map(
    fs
      .readdirSync("/proc/self/task")
      .map((t) => [Number(t), Number(readFileSync(`/proc/self/task/${t}/schedstat`, "utf8").split(" ")[0]) / 1e6]),
  );
const byThread = { output: new Map(), exit: new Map() };
const addThreads = (into, a, b) => {
  for (const [t, v] of b) into.set(t, (into.get(t) ?? 0) + v - (a.get(t) ?? v));
};

// The conductor's steps, stamped by wrapping its classes' methods (one session runs at a time).
let cur = {};
const push = ShimChannel.prototype.push;
ShimChannel.prototype.push = function (chunk) {
  const t = now();
  if (cur.firstRead === undefined) {
    // The conductor's turn on the agent's first (here: last) output, up to the next idle check: it
    // shares the 2 cores with the exiting agent and the shim that must wake.
    const rec = cur;
    rec.firstRead = t;
    const cpu = process.cpuUsage();
    const threads = process.env.THREADS && threadsCpu();
    setImmediate(() => {
      rec.outputTurn = now();
      if (threads) addThreads(byThread.output, threads, threadsCpu());
      const u = process.cpuUsage(cpu);
      rec.outputCpu = (u.user + u.system) / 1000;
    });
  }
  const before = this.proven;
  const r = push.call(this, chunk);
  if (!before && this.proven) {
    cur.marker = t;
    // The marker's push returns after the drain was begun and the child-run chart took RUN.MARKER.
    cur.markerPushed = now();
    cur.cpu0 = process.cpuUsage();
    if (process.env.THREADS) cur.threads0 = threadsCpu();
  }
  return r;
};
// When the master is first read (the spawn helper's answer handled): output waits in the pty until then.
const onData = MasterTerm.prototype.onData;
MasterTerm.prototype.onData = function (fn) {
  cur.readStart ??= now();
  return onData.call(this, fn);
};
const recent = ScreenTail.prototype.recent;
ScreenTail.prototype.recent = function (...a) {
  cur.reading ??= now();
  return recent.apply(this, a);
};

// Synchronous file writes on this thread (event log lines, the output log's last writev): their time.
const syncs = [];
for (const name of ["writeSync", "writevSync", "closeSync", "fsyncSync"]) {
  const orig = fs[name];
  fs[name] = function (...a) {
    const t = now();
    try {
      return orig.apply(this, a);
    } finally {
      syncs.push({ start: t, end: now() });
    }
  };
}
syncBuiltinESMExports();
const endSoon = RotatingWriteStream.prototype.endSoon;
RotatingWriteStream.prototype.endSoon = function (cb) {
  const rec = cur;
  return endSoon.call(this, () => {
    rec.logClosed ??= now();
    cb?.();
  });
};

const gcs = [];
new PerformanceObserver((l) => {
  for (const e of l.getEntries()) gcs.push({ start: e.startTime, end: e.startTime + e.duration });
}).observe({ entryTypes: ["gc"] });
const overlap = (list, a, b) => list.reduce((s, g) => s + Math.max(0, Math.min(b, g.end) - Math.max(a, g.start)), 0);

const wallToNow = (w) => w - performance.timeOrigin;

/** LATE=1: a session of stamp-exit-late.pl, whose one line comes 30 ms before its exit; its figure. */
async function lateSample(c, i) {
  const id = `late${i}`;
  const file = join(stampDir, id);
  const done = once(c, "completed", (e) => e.sessionId === id).then(() => now());
  c.spawnSession({
    id,
    agent: "command",
    command: ["perl", fileURLToPath(new URL("./children/stamp-exit-late.pl", import.meta.url)), file],
  });
  const at = await done;
  return at - wallToNow(stamps(readFileSync(file, "utf8"), "T")[0]);
}

async function conductorSample(c, i) {
  cur = {};
  const id = `b${i}`;
  const done = new Promise((resolve) => {
    const st = (e) => {
      if (e.sessionId === id && e.to === "completed") cur.state = now();
    };
    const fn = (e) => {
      if (e.sessionId !== id) return;
      cur.completed = now();
      if (cur.threads0) addThreads(byThread.exit, cur.threads0, threadsCpu());
      const u = process.cpuUsage(cur.cpu0);
      cur.cpu = (u.user + u.system) / 1000;
      c.off("completed", fn);
      c.off("stateChange", st);
      resolve();
    };
    c.on("stateChange", st);
    c.on("completed", fn);
  });
  cur.spawnCall = now();
  c.spawnSession({ id, agent: "command", command: probe });
  cur.spawnReturn = now();
  const pid = c.getSnapshot().find((s) => s.id === id)?.pid;
  await done;
  const snap = c.getSnapshot().find((s) => s.id === id);
  const stamp = wallToNow(stamps(readFileSync(snap.outPath, "utf8"), "T")[0]);
  return {
    ...cur,
    stamp,
    pid: pid ?? snap.pid,
    gc: overlap(gcs, stamp, cur.completed),
    sync: overlap(syncs, stamp, cur.completed),
  };
}

/** The node-pty floor, in the floors' process of bench/exit-state.mjs (a fork here would tax our heap). */
async function ptySample() {
  const { at, stamp, pid } = await floors.sample("node_pty", true);
  return { stamp: wallToNow(stamp), completed: wallToNow(at), pid };
}

let perf;
const perfFile = join(tmpdir(), `exit-breakdown-${process.pid}.data`);
if (process.env.PERF === "1") {
  const ev = "sched:sched_switch,sched:sched_wakeup,sched:sched_process_exit,sched:sched_process_fork";
  perf = spawn("perf", ["record", "-q", "-k", "CLOCK_MONOTONIC", "-e", ev, "-a", "-o", perfFile], {
    stdio: "ignore",
  });
  await new Promise((r) => setTimeout(r, 1500));
}

// PROFILE=1: V8 CPU samples, kept only inside marker → completed windows, summed by function (self time).
let profiler;
if (process.env.PROFILE === "1") {
  const { Session } = await import("node:inspector");
  profiler = new Session();
  profiler.connect();
  const post = (m, p) => new Promise((r, j) => profiler.post(m, p, (e, v) => (e ? j(e) : r(v))));
  profiler.call = post;
  await post("Profiler.enable");
  await post("Profiler.setSamplingInterval", { interval: 50 });
  await post("Profiler.start");
}

const floors = startFloors();
const c = createConductor({ logsDir: tempLogs("exit-bd"), handleSignals: false, enableMesh: false });
const ours = [];
const floor = [];
const late = [];
const stampDir = mkdtempSync(join(tmpdir(), "exit-bd-late-"));
for (let i = 0; i < SAMPLES; i++) {
  ours.push(await conductorSample(c, i));
  floor.push(await ptySample());
  if (process.env.LATE === "1") late.push(await lateSample(c, i));
}
await c.shutdown();
floors.stop();
// performance.now() → CLOCK_MONOTONIC ms (perf's clock), for the kernel's stamps.
const monoOff = Number(process.hrtime.bigint()) / 1e6 - now();

if (profiler) {
  const { profile } = await profiler.call("Profiler.stop");
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parents = new Map();
  for (const n of profile.nodes) for (const ch of n.children ?? []) parents.set(ch, n);
  // PROFILE_FIRST: only the first sample, from its spawn call on (the cold exit).
  // PROFILE_WINDOW=output: the turn of the first read (the probe's stamp line), the conductor's
  // work while the agent exits and the shim wakes (it shares the 2 cores with them).
  const [from, to] = process.env.PROFILE_WINDOW === "output" ? ["firstRead", "outputTurn"] : ["marker", "completed"];
  const windows = process.env.PROFILE_FIRST
    ? [[ours[0].spawnCall + monoOff, ours[0].completed + monoOff]]
    : ours.map((x) => [x[from] + monoOff, x[to] + monoOff]);
  const self = new Map();
  let t = profile.startTime / 1000;
  let inWin = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] / 1000;
    if (!windows.some(([a, b]) => t >= a && t <= b)) continue;
    inWin++;
    const n = byId.get(profile.samples[i]);
    const f = n.callFrame;
    const name = (fr) => `${fr.functionName || "(anon)"} ${fr.url.split("/").slice(-2).join("/")}:${fr.lineNumber + 1}`;
    // Natives and the engine's internals are charged with their nearest caller of ours too.
    let key = name(f);
    if (process.env.PROFILE_BY === "file") {
      // Charged to the nearest frame of ours (dist/actors, machines, src): XState's and Node's own work
      // goes to the module whose call caused it.
      key = `(outside our modules) ${name(f)}`;
      for (let p = n; p; p = parents.get(p.id)) {
        const m = /\/dist\/((?:actors|machines|src)\/.+)$/.exec(p.callFrame.url);
        if (m) {
          key = m[1];
          break;
        }
      }
    } else if (process.env.PROFILE_BY === "inclusive" || process.env.PROFILE_BY === "all") {
      const all = process.env.PROFILE_BY === "all";
      // Each function of ours once per sample it is on the stack of: what a call costs with its callees.
      const seen = new Set();
      for (let p = n; p; p = parents.get(p.id))
        if (all || /\/dist\/(actors|machines|src)\//.test(p.callFrame.url)) seen.add(name(p.callFrame));
      for (const k of seen) self.set(k, (self.get(k) ?? 0) + 1);
      continue;
    } else if (process.env.PROFILE_STACK) {
      const chain = [];
      for (let p = parents.get(n.id); p && chain.length < 6; p = parents.get(p.id)) chain.push(name(p.callFrame));
      key += ` <- ${chain.join(" <- ")}`;
    }
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  console.log(`profile: ${inWin} samples in the windows`);
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.PROFILE_TOP ?? 40)))
    console.log(`  ${String(v).padStart(5)} ${k}`);
}

if (perf) {
  perf.kill("SIGINT");
  await new Promise((r) => perf.once("exit", r));
  attachKernel(ours, floor);
}

function attachKernel(ours, floor) {
  const out = spawnSyncText("perf", ["script", "-i", perfFile, "-F", "tid,time,event,trace"]);
  const forks = new Map(); // parent pid → first child
  const exits = new Map();
  const switches = new Map(); // next_pid → times
  const wakeups = new Map(); // pid → times
  const mainOn = []; // this process's main thread switched in (on) or out
  const add = (m, k, t) => (m.get(k) ?? m.set(k, []).get(k)).push(t);
  for (const line of out.split("\n")) {
    const m = /^\s*(\d+)\s+([\d.]+):\s+sched:(\w+):\s+(.*)$/.exec(line);
    if (!m) continue;
    const t = Number(m[2]) * 1000 - monoOff;
    const [, , , ev, rest] = m;
    if (ev === "sched_process_fork") {
      const f = /pid=(\d+) child_comm=\S+ child_pid=(\d+)/.exec(rest);
      if (f && !forks.has(Number(f[1]))) forks.set(Number(f[1]), Number(f[2]));
    } else if (ev === "sched_process_exit") {
      const f = /pid=(\d+)/.exec(rest);
      if (f) exits.set(Number(f[1]), t);
    } else if (ev === "sched_switch") {
      const f = /prev_pid=(\d+).*next_pid=(\d+)/.exec(rest);
      if (f) add(switches, Number(f[2]), t);
      if (f && Number(f[1]) === process.pid) mainOn.push({ t, on: false });
      if (f && Number(f[2]) === process.pid) mainOn.push({ t, on: true });
    } else if (ev === "sched_wakeup") {
      const f = /pid=(\d+)/.exec(rest);
      if (f) add(wakeups, Number(f[1]), t);
    }
  }
  const after = (list, t) => list?.find((x) => x >= t);
  const before = (list, t, lo) => list?.findLast((x) => x <= t && x >= lo);
  for (const s of ours) {
    const agent = forks.get(s.pid);
    s.agentExit = exits.get(agent);
    if (s.agentExit === undefined) continue;
    s.shimRun = after(switches.get(s.pid), s.agentExit);
    s.shimWake = after(wakeups.get(s.pid), s.agentExit);
    // Was the conductor's thread on a core when the shim was woken (its turn on the agent's output)?
    if (s.shimWake !== undefined) s.mainBusyAtShimWake = mainOn.findLast((x) => x.t <= s.shimWake)?.on ? 1 : 0;
    // The conductor's last wakeup before it read the marker (none if it was running anyway).
    s.condWake = before(wakeups.get(process.pid), s.marker, s.shimRun);
  }
  for (const s of floor) s.agentExit = exits.get(s.pid);
}

// TIMELINE=1: what ran on each CPU from the stamp to `completed` in the median sample and the two worst
// (every context switch, ms after the stamp): who held the cores while the agent's exit travelled.
function timeline(ours) {
  const out = spawnSyncText("perf", ["script", "-i", perfFile, "-F", "cpu,time,event,trace"]);
  const events = [];
  for (const line of out.split("\n")) {
    const m = /^\s*\[(\d+)\]\s+([\d.]+):\s+sched:(\w+):\s+(.*)$/.exec(line);
    if (m) events.push({ cpu: m[1], t: Number(m[2]) * 1000 - monoOff, ev: m[3], rest: m[4] });
  }
  const byTotal = [...ours].sort((a, b) => total(a) - total(b));
  const picks = [
    ["median", byTotal[byTotal.length >> 1]],
    ["worst-1", byTotal.at(-2)],
    ["worst", byTotal.at(-1)],
  ];
  for (const [label, s] of picks) {
    if (!s) continue;
    console.log(`timeline, ${label} sample (${r2(total(s))} ms; marker read at ${r2(s.marker - s.stamp)}):`);
    for (const e of events) {
      if (e.t < s.stamp - 0.1 || e.t > s.completed) continue;
      const what =
        e.ev === "sched_switch"
          ? e.rest.replace(/prev_comm=(\S+) prev_pid=(\d+).*next_comm=(\S+) next_pid=(\d+).*/, "$1/$2 → $3/$4")
          : e.rest.replace(/^comm=(\S+) pid=(\d+).*/, "$1/$2");
      console.log(`  ${r2(e.t - s.stamp).padStart(7)} cpu${e.cpu} ${e.ev.replace("sched_", "").padEnd(12)} ${what}`);
    }
  }
}

function spawnSyncText(cmd, args) {
  return createRequire(import.meta.url)("node:child_process").execFileSync(cmd, args, {
    encoding: "utf8",
    maxBuffer: 1 << 30,
    stdio: ["ignore", "pipe", "ignore"],
  });
}

// Report: the total, then each step's share, for the median sample and for the worst 5 %.
const total = (s) => s.completed - s.stamp;
const d = (a, b) => (a === undefined || b === undefined ? Number.NaN : b - a);
const steps = [
  ["stamp → agent exit (kernel)", (s) => d(s.stamp, s.agentExit)],
  ["agent exit → shim runs", (s) => d(s.agentExit, s.shimRun)],
  ["  of which shim woken → runs", (s) => d(s.shimWake, s.shimRun)],
  ["  share woken while our thread ran", (s) => s.mainBusyAtShimWake],
  ["shim runs → marker read", (s) => d(s.shimRun, s.marker)],
  ["  of which conductor woken → read", (s) => d(s.condWake, s.marker)],
  ["spawn call → stamp", (s) => d(s.spawnCall, s.stamp)],
  ["stamp → master read from (<0: before)", (s) => d(s.stamp, s.readStart)],
  ["stamp → first read (JS)", (s) => d(s.stamp, s.firstRead)],
  ["first read → its turn ends (setImmediate)", (s) => d(s.firstRead, s.outputTurn)],
  ["  CPU of this process in that turn", (s) => s.outputCpu],
  ["stamp → marker read (JS)", (s) => d(s.stamp, s.marker)],
  ["marker → drain's reading", (s) => d(s.marker, s.reading)],
  ["  of which the marker's push (RUN.MARKER step)", (s) => d(s.marker, s.markerPushed)],
  ["drained (reading, log closed) → stateChange", (s) => d(Math.max(s.reading, s.logClosed), s.state)],
  ["stateChange → completed", (s) => d(s.state, s.completed)],
  ["CPU of this process, marker → completed", (s) => s.cpu],
  ["GC inside the window", (s) => s.gc],
  ["sync fs writes inside the window", (s) => s.sync],
];
const r2 = (v) => (Number.isFinite(v) ? v.toFixed(2) : "-");
const mean = (xs) => {
  const f = xs.filter(Number.isFinite);
  return f.length ? f.reduce((a, b) => a + b, 0) / f.length : Number.NaN;
};
const sorted = [...ours].sort((a, b) => total(a) - total(b));
const tail = sorted.slice(Math.floor(sorted.length * 0.95));
const mid = sorted.slice(Math.floor(sorted.length * 0.4), Math.ceil(sorted.length * 0.6));
const fl = floor.map(total);
const flExit = floor.map((s) => d(s.stamp, s.agentExit)).filter(Number.isFinite);
console.log(`load ${readFileSync("/proc/loadavg", "utf8").trim()}  samples ${SAMPLES}`);
console.log(
  `conductor: median ${r2(percentile(ours.map(total), 50))} p95 ${r2(percentile(ours.map(total), 95))} p99 ${r2(percentile(ours.map(total), 99))} max ${r2(Math.max(...ours.map(total)))}`,
);
console.log(
  `node-pty:  median ${r2(percentile(fl, 50))} p95 ${r2(percentile(fl, 95))} p99 ${r2(percentile(fl, 99))} max ${r2(Math.max(...fl))}` +
    (flExit.length
      ? `  (stamp → agent exit median ${r2(percentile(flExit, 50))} p99 ${r2(percentile(flExit, 99))})`
      : ""),
);
if (late.length)
  console.log(
    `conductor, output 30 ms before the exit (LATE=1): median ${r2(percentile(late, 50))} p95 ${r2(percentile(late, 95))} p99 ${r2(percentile(late, 99))}`,
  );
console.log(`${"step (mean ms)".padEnd(42)} ${"p40-60".padStart(8)} ${"worst 5%".padStart(9)}`);
for (const [name, f] of steps)
  console.log(`${name.padEnd(42)} ${r2(mean(mid.map(f))).padStart(8)} ${r2(mean(tail.map(f))).padStart(9)}`);
if (process.env.ALL)
  for (const s of ours)
    console.log(`  #${ours.indexOf(s)} ${r2(total(s))}: ${steps.map(([, f]) => r2(f(s))).join(" ")}`);
console.log("worst samples (total: steps as above)");
for (const s of tail.slice(-8)) console.log(`  ${r2(total(s))}: ${steps.map(([, f]) => r2(f(s))).join(" ")}`);
if (perf && process.env.TIMELINE) timeline(ours);
if (process.env.THREADS)
  for (const [k, m] of Object.entries(byThread))
    console.log(
      `CPU by thread (ms over all samples), ${k === "output" ? "first read's turn" : "marker → completed"}: ${[...m]
        .sort((a, b) => a[0] - b[0])
        .map(([t, v]) => `${t === process.pid ? "main" : t - process.pid}:${r2(v)}`)
        .join(" ")}`,
    );
rmSync(perfFile, { force: true });
process.exit(0);
