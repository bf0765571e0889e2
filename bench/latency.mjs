// Reaction latencies of the conductor on this machine, and event-loop delay under output load.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { dist, median, once, percentile, report, sleep, tempLogs } from "./lib.mjs";

const { createConductor } = await import(dist);
const NODE = process.execPath;
const RUNS = Number(process.env.RUNS ?? 15);

// 1. child exit → `completed` event (child stamps the wall clock just before exiting)
const exitLat = [];
for (let i = 0; i < RUNS; i++) {
  const c = createConductor({ logsDir: tempLogs("exit"), handleSignals: false, enableMesh: false });
  const done = once(c, "completed");
  c.spawnSession({
    id: "x",
    agent: "command",
    command: [NODE, "-e", "console.log('T' + (performance.timeOrigin + performance.now()))"],
  });
  await done;
  const at = performance.timeOrigin + performance.now();
  const out = (await import("node:fs")).readFileSync(c.getSnapshot()[0].outPath, "utf8");
  exitLat.push(at - Number(/T([\d.]+)/.exec(out)[1]));
  await c.shutdown();
}

// 2. stall verdict: when the conductor says `stalled`, minus when the child printed its last byte
const stallMs = 300;
const stallErr = [];
for (let i = 0; i < Math.min(RUNS, 8); i++) {
  const c = createConductor({
    logsDir: tempLogs("stall"),
    handleSignals: false,
    enableMesh: false,
    probeOpts: { stallMs },
  });
  const stalled = once(c, "stateChange", (e) => e.to === "stalled");
  c.spawnSession({
    id: "s",
    agent: "command",
    command: [
      NODE,
      "-e",
      "console.log('T' + (performance.timeOrigin + performance.now())); setInterval(() => {}, 1e6)",
    ],
  });
  await stalled;
  const at = performance.timeOrigin + performance.now();
  const out = (await import("node:fs")).readFileSync(c.getSnapshot()[0].outPath, "utf8");
  stallErr.push(at - Number(/T([\d.]+)/.exec(out)[1]) - stallMs);
  await c.shutdown();
}

// 3. crash → next run spawned (default backoff 0 ms)
const c = createConductor({ logsDir: tempLogs("restart"), handleSignals: false, enableMesh: false, maxRestarts: RUNS });
const restarts = [];
let failedAt = 0;
c.on("stateChange", (e) => {
  if (e.to === "failed") failedAt = performance.now();
  if (e.to === "starting" && e.reason === "respawn") restarts.push(performance.now() - failedAt);
});
const dead = once(c, "dead");
c.spawnSession({ id: "crash", agent: "command", command: [NODE, "-e", "process.exit(1)"] });
await dead;
await c.shutdown();

// 4. event-loop delay while 20 sessions print as fast as they can for 3 s
const h = monitorEventLoopDelay({ resolution: 1 });
const load = createConductor({ logsDir: tempLogs("load"), handleSignals: false, enableMesh: false });
for (let i = 0; i < 20; i++) {
  load.spawnSession({
    id: `l${i}`,
    agent: "command",
    command: [
      NODE,
      "-e",
      "const s='x'.repeat(200)+'\\n'; const end=Date.now()+3000; (function w(){ while(process.stdout.write(s)) if(Date.now()>end) process.exit(0); process.stdout.once('drain', w) })()",
    ],
  });
}
h.enable();
await once(load, "allCompleted");
h.disable();
const bytes = load.getSnapshot().reduce((n, s) => n + s.health.outputBytes, 0);
await load.shutdown();
await sleep(10);

report("latency (medians, this machine)", [
  [
    `child exit → completed event (${RUNS} runs)`,
    `${median(exitLat).toFixed(1)} ms (p90 ${percentile(exitLat, 90).toFixed(1)})`,
  ],
  [
    `stall verdict − (last byte + stallMs), stallMs ${stallMs}`,
    `${median(stallErr).toFixed(1)} ms (max ${Math.max(...stallErr).toFixed(1)})`,
  ],
  [`crash → next run starting (backoff 0)`, `${median(restarts).toFixed(1)} ms`],
  [
    `event-loop delay p99, 20 sessions printing flat out`,
    `${(h.percentile(99) / 1e6).toFixed(1)} ms (max ${(h.max / 1e6).toFixed(1)})`,
  ],
  [`output captured by those 20 sessions in ~3 s`, `${(bytes / 1024 / 1024).toFixed(1)} MB`],
]);
