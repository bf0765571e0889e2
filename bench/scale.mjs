// Many sessions in one supervisor: N children each printing a line every EVERY ms.
// MODE=conductor: spawnSession ×N (total time, worst event-loop block while spawning), steady-state
// event-loop delay p99, RSS (and the spawn helper's, actors/spawn-helper.ts), then shutdown() (time, and
// whether every session's end reached the log). SPAWN_BATCH calls a turn (default 10).
// MODE=node_pty: the floor, a bare node-pty parent holding the same children (loop p99, RSS).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { dist as builtDist, emit, hasPerl, probeArgv, sleep, tempLogs } from "./lib.mjs";

// DIST=path/to/dist/src/index.js: another build (main's, for a side-by-side run), as spawn-turns.mjs.
const dist = process.env.DIST ? new URL(process.env.DIST, `file://${process.cwd()}/`).href : builtDist;

const N = Number(process.env.SESSIONS ?? 500);
const EVERY = Number(process.env.EVERY_MS ?? 1000);
const STEADY_MS = Number(process.env.STEADY_MS ?? 10_000);
// Spawn calls per turn of the loop, as an embedder's loop would make them (the worst block includes them).
const BATCH = Number(process.env.SPAWN_BATCH ?? 10);
const MODE = process.env.MODE ?? "conductor";
// The same child in both modes: a perl ticker when perl is there (bench/children/ticker.pl says why).
const probe = probeArgv("ticker", String(EVERY));
const prefixed = (p, o) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [p + k[0].toUpperCase() + k.slice(1), v]));
const ms = (ns) => Math.round(ns / 1e4) / 100;
const load = () => Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
/** RSS, PSS and the private part (USS: what would be freed if it exited) of a process, in MB. */
function memoryOf(pid) {
  const kb = (key) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1]);
  const mb = (k) => Math.round(k / 102.4) / 10;
  return { rss: mb(kb("Rss")), pss: mb(kb("Pss")), uss: mb(kb("Private_Clean") + kb("Private_Dirty")) };
}

const spawning = monitorEventLoopDelay({ resolution: 5 });
// Besides the worst block: how many blocks over 100 ms and the p99 gap while spawning, from a 5 ms timer
// chain (each gap between two ticks is a turn's length, as monitorEventLoopDelay samples it).
function blockCounter() {
  const gaps = [];
  let last = performance.now();
  let on = true;
  const tick = () => {
    const t = performance.now();
    gaps.push(t - last);
    last = t;
    if (on) setTimeout(tick, 5).unref();
  };
  setTimeout(tick, 5).unref();
  return () => {
    on = false;
    const sorted = gaps.sort((a, b) => a - b);
    const p99 = sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))] ?? 0;
    return { blocksOver100: gaps.filter((g) => g > 100).length, gapP99Ms: Math.round(p99 * 100) / 100 };
  };
}
const steady = monitorEventLoopDelay({ resolution: 5 });
/**
 * RSS through the steady window, every 250 ms: one reading lands anywhere in V8's old-space cycle (it
 * fills to its limit, then a mark-compact), so `rssMb` is the median, `rssMaxMb` the peak. Also the CPU
 * the process used per second of the window (what a smaller heap would cost in collections).
 */
function rssThroughSteady() {
  const samples = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const timer = setInterval(() => samples.push(process.memoryUsage().rss), 250);
  return () => {
    clearInterval(timer);
    samples.push(process.memoryUsage().rss);
    const { user, system } = process.cpuUsage(cpu0);
    const sorted = samples.sort((a, b) => a - b);
    const mb = (b) => Math.round(b / 2 ** 20);
    return {
      rssMb: mb(sorted[sorted.length >> 1]),
      rssMinMb: mb(sorted[0]),
      rssMaxMb: mb(sorted[sorted.length - 1]),
      steadyCpuMsPerS: Math.round((user + system) / (performance.now() - t0)),
    };
  };
}
const result = {
  figure: "scale",
  mode: MODE,
  sessions: N,
  everyMs: EVERY,
  child: hasPerl ? "perl" : "node",
  loadStart: load(),
  nodeFlags: process.execArgv,
};

if (MODE === "conductor") {
  const { createConductor } = await import(dist);
  const logsDir = tempLogs("scale");
  const c = createConductor({ logsDir, handleSignals: false, enableMesh: false });
  spawning.enable();
  const blocks = blockCounter();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    c.spawnSession({ id: `s${i}`, agent: "command", command: probe });
    if (i % BATCH === BATCH - 1) await sleep(0); // let the loop breathe as an embedder's would
  }
  result.spawnCallsS = Math.round(performance.now() - t0) / 1000;
  // Forks are queued one per turn of the loop: spawned means every session has its child's pid.
  while (c.getSnapshot().filter((s) => s.pid !== null).length < N) await sleep(50);
  result.spawnAllS = Math.round(performance.now() - t0) / 1000;
  while (c.getSnapshot().filter((s) => s.state === "healthy").length < N) await sleep(100);
  result.allHealthyS = Math.round(performance.now() - t0) / 1000;
  spawning.disable();
  result.spawnLoopMaxMs = ms(spawning.max);
  Object.assign(result, prefixed("spawn", blocks()));
  steady.enable();
  const rss = rssThroughSteady();
  await sleep(STEADY_MS);
  steady.disable();
  result.loopP99Ms = ms(steady.percentile(99));
  Object.assign(result, rss());
  result.heapUsedMb = Math.round(process.memoryUsage().heapUsed / 2 ** 20);
  result.heapTotalMb = Math.round(process.memoryUsage().heapTotal / 2 ** 20);
  // The spawn helper is part of the supervisor (actors/spawn-helper.ts): its private memory (USS) is
  // what it adds, since the rest of its RSS is Node's code, the same file pages the conductor maps.
  // `supervisorMb` is what the targets judge: the conductor's RSS plus that.
  const helperPid = await import(new URL("actors/pty-spawn.js", new URL("..", dist)).href)
    .then((m) => m.spawnHelper?.()?.pid)
    .catch(() => undefined);
  const helper = helperPid ? memoryOf(helperPid) : undefined;
  Object.assign(result, {
    helperRssMb: helper?.rss ?? 0,
    helperPssMb: helper?.pss ?? 0,
    helperUssMb: helper?.uss ?? 0,
    supervisorMb: Math.round(result.rssMb + (helper?.uss ?? 0)),
  });
  const t1 = performance.now();
  await c.shutdown("bench");
  result.shutdownS = Math.round(performance.now() - t1) / 1000;
  const lines = readFileSync(c.eventLogPath, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const ended = new Set(lines.filter((l) => l.to === "dead" || l.to === "completed").map((l) => l.session));
  result.sessionsWhoseEndIsLogged = ended.size;
  result.seqGaps = lines.filter((l, i) => i > 0 && l.seq !== lines[i - 1].seq + 1).length;
} else {
  const pty = createRequire(import.meta.url)("node-pty");
  const kids = [];
  spawning.enable();
  const blocks = blockCounter();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const p = pty.spawn(probe[0], probe.slice(1), { cols: 120, rows: 40 });
    p.onData(() => {});
    kids.push(p);
    if (i % BATCH === BATCH - 1) await sleep(0);
  }
  result.spawnAllS = Math.round(performance.now() - t0) / 1000;
  spawning.disable();
  result.spawnLoopMaxMs = ms(spawning.max);
  Object.assign(result, prefixed("spawn", blocks()));
  await sleep(1_000);
  steady.enable();
  const rss = rssThroughSteady();
  await sleep(STEADY_MS);
  steady.disable();
  result.loopP99Ms = ms(steady.percentile(99));
  Object.assign(result, rss());
  result.supervisorMb = result.rssMb;
  const t1 = performance.now();
  await Promise.all(
    kids.map(
      (p) =>
        new Promise((r) => {
          p.onExit(r);
          p.kill("SIGKILL");
        }),
    ),
  );
  result.shutdownS = Math.round(performance.now() - t1) / 1000;
}
result.loadEnd = load();
emit(result);
process.exit(0);
