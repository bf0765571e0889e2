// What one output event costs the supervisor: bytes allocated and CPU time per CHILD.OUTPUT (issue 13:
// 500 sessions' RSS and the GC while spawning; the session chart's output path was ~34 KB an event).
//   MODE=chart (default): the session statechart alone (dist/machines/session.machine.js), `SESSIONS`
//     actors with a stand-in child, each fed `EVENTS` outputs whose screen changes every time (progress,
//     the common case) — the chart's own cost, no I/O, no noise from children.
//   MODE=conductor: createConductor with `SESSIONS` sessions (agent "command", a perl ticker printing a line
//     every `EVERY_MS`, default 200 ≥ the 100 ms coalescing window, so one line is one event), measured over
//     `STEADY_MS` once all are healthy: the whole output path (pty, screen, log, charts). Events are
//     counted from the output logs' lines.
// Bytes: V8's sampling heap profiler with collected objects included (so garbage counts), summed;
// `TOP=n` prints the n functions that allocate most. CPU: process.cpuUsage() over a second pass without
// the profiler (chart) or over the window (conductor). Chart mode also reports the heap each live
// session retains (after a full collection asked through the inspector, with and without them).
// `DIST=/path/to/dist` measures another build (e.g. main's, built in a temp dir) so that before/after
// run side by side on the same machine.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { sleep, tempLogs } from "./lib.mjs";

const MODE = process.env.MODE ?? "chart";
const N = Number(process.env.SESSIONS ?? (MODE === "chart" ? 200 : 100));
const EVENTS = Number(process.env.EVENTS ?? 50);
const EVERY = Number(process.env.EVERY_MS ?? 200);
const STEADY_MS = Number(process.env.STEADY_MS ?? 10_000);
const TOP = Number(process.env.TOP ?? 0);
const distRoot = process.env.DIST
  ? pathToFileURL(`${process.env.DIST.replace(/\/$/, "")}/`).href
  : new URL("../dist/", import.meta.url).href;
const load = () => Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);

const inspector = new Session();
inspector.connect();
await inspector.post("HeapProfiler.enable");

/** Bytes allocated while `work` runs (garbage included) and, with TOP, where. */
async function allocated(work) {
  await inspector.post("HeapProfiler.startSampling", {
    samplingInterval: 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  await work();
  const { profile } = await inspector.post("HeapProfiler.stopSampling");
  const bySite = new Map();
  let total = 0;
  const walk = (node) => {
    total += node.selfSize;
    const f = node.callFrame;
    const site = `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*\/(dist|node_modules)\//, "")}:${f.lineNumber + 1}`;
    bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
    for (const c of node.children) walk(c);
  };
  walk(profile.head);
  return { total, top: [...bySite].sort((a, b) => b[1] - a[1]).slice(0, TOP) };
}

const cpuOf = (u) => u.user + u.system;
const result = { figure: "output-alloc", mode: MODE, dist: distRoot, sessions: N, loadStart: load() };

if (MODE === "chart") {
  const { createActor, fromCallback } = await import("xstate");
  const { sessionMachine } = await import(new URL("machines/session.machine.js", distRoot).href);
  const machine = sessionMachine.provide({ actors: { ptyProcess: fromCallback(() => undefined) } });
  const start = () =>
    Array.from({ length: N }, (_, i) => {
      const a = createActor(machine, { input: { id: `s${i}`, agent: "command", spec: { argv: ["ticker"] } } });
      a.start();
      a.send({ type: "START" });
      a.send({ type: "CHILD.SPAWNED", generation: 1, pid: 1000 + i });
      return a;
    });
  // Precomputed so the events themselves are not counted: what a transport hands over.
  const events = Array.from({ length: EVENTS }, (_, k) => ({
    type: "CHILD.OUTPUT",
    generation: 1,
    bytes: 7 * (k + 1),
    lagMs: 0,
    screenTail: ["$ ticker", `tick ${k}`],
  }));
  const feed = (actors) => {
    for (const e of events) for (const a of actors) a.send(e);
  };
  const warm = start();
  feed(warm); // JIT warm-up on its own actors
  for (const a of warm) a.stop();
  const profiled = start();
  const { total, top } = await allocated(async () => feed(profiled));
  const states = new Set(profiled.map((a) => a.getSnapshot().value));
  for (const a of profiled) a.stop();
  // Retained: heap in use with the sessions alive and fed, against without them, each after a full
  // collection the inspector asks for (what stays per session, not what the next scavenge frees).
  const heapUsed = async () => {
    await inspector.post("HeapProfiler.collectGarbage");
    return process.memoryUsage().heapUsed;
  };
  const h0 = await heapUsed();
  const timed = start();
  const c0 = process.cpuUsage();
  feed(timed);
  const cpu = cpuOf(process.cpuUsage(c0));
  result.retainedBytesPerSession = Math.round(((await heapUsed()) - h0) / N);
  for (const a of timed) a.stop();
  result.events = N * EVENTS;
  result.finalStates = [...new Set([...states].map((s) => JSON.stringify(s)))].join(",");
  result.bytesPerEvent = Math.round(total / result.events);
  result.cpuUsPerEvent = Math.round((cpu / result.events) * 100) / 100;
  if (TOP) result.top = top.map(([site, b]) => `${Math.round(b / result.events)} B ${site}`);
} else {
  const { createConductor } = await import(new URL("src/index.js", distRoot).href);
  let probe = ["perl", fileURLToPath(new URL("./children/ticker.pl", import.meta.url)), String(EVERY)];
  try {
    execFileSync("perl", ["-e", "1"], { stdio: "ignore" });
  } catch {
    probe = [process.execPath, fileURLToPath(new URL("./children/ticker.mjs", import.meta.url)), String(EVERY)];
  }
  const c = createConductor({ logsDir: tempLogs("output-alloc"), handleSignals: false, enableMesh: false });
  for (let i = 0; i < N; i++) {
    c.spawnSession({ id: `s${i}`, agent: "command", command: probe });
    if (i % 10 === 9) await sleep(0);
  }
  while (c.getSnapshot().filter((s) => s.state === "healthy").length < N) await sleep(100);
  await sleep(1000);
  const lines = () =>
    c.getSnapshot().reduce((n, s) => n + (s.outPath ? readFileSync(s.outPath, "utf8").split("\n").length - 1 : 0), 0);
  const l0 = lines();
  const c0 = process.cpuUsage();
  const { total, top } = await allocated(() => sleep(STEADY_MS));
  const cpu = cpuOf(process.cpuUsage(c0));
  result.events = lines() - l0;
  result.bytesPerEvent = Math.round(total / result.events);
  result.cpuUsPerEvent = Math.round((cpu / result.events) * 100) / 100;
  result.rssMb = Math.round(process.memoryUsage().rss / 2 ** 20);
  if (TOP) result.top = top.map(([site, b]) => `${Math.round(b / result.events)} B ${site}`);
  await c.shutdown("bench");
}
result.loadEnd = load();
inspector.disconnect();
console.log(JSON.stringify(result, null, 1));
