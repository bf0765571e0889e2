// Output throughput: a child writes MIB MiB as fast as it can; the supervisor captures it to a file.
// Figures per contender: MiB/s (wall, spawn → exit reported and file closed) and the supervisor's
// CPU seconds per MiB (this process for the in-process ones, the daemon for pm2).
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { child, dist, emit, procCpuSeconds, tempLogs } from "./lib.mjs";
import { startPm2 } from "./pm2.mjs";

const { createConductor } = await import(dist);
const pty = createRequire(import.meta.url)("node-pty");
const MIB = Number(process.env.MIB ?? 200);
// pm2 writes its logs at a few MiB/s: a quarter of the output gives its rate in a quarter of the time.
const PM2_MIB = Number(process.env.PM2_MIB ?? Math.max(1, Math.round(MIB / 4)));
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const NODE = process.execPath;
const blast = (mib) => [child("blast"), String(mib)];
const probe = blast(MIB);

/** Bytes in a log and the files it rotated to (`<log>.1`, `<log>.2`, …): nothing lost means all of them. */
function loggedBytes(path) {
  let n = 0;
  for (let i = 0; existsSync(i ? `${path}.${i}` : path); i++) n += statSync(i ? `${path}.${i}` : path).size;
  return n;
}

/** Runs `body` and measures wall time and this process's CPU time (all threads). */
async function measure(body, cpuOf = () => process.cpuUsage(), mib = MIB) {
  const cpu0 = cpuOf();
  const t0 = performance.now();
  await body();
  const wallS = (performance.now() - t0) / 1000;
  const cpu1 = cpuOf();
  const cpuS = typeof cpu1 === "number" ? cpu1 - cpu0 : (cpu1.user - cpu0.user + cpu1.system - cpu0.system) / 1e6;
  return { mibPerS: mib / wallS, cpuSPerMib: cpuS / mib, cpuPercent: (100 * cpuS) / wallS, mib };
}

// spawn → `completed` (EXIT: every byte is in out.log, the file closed). Creating the conductor and its
// shutdown() are not in the figure, nor is the reap after the exit (a fixed cost per run: bench/exit-state).
async function conductor(mib = MIB) {
  const c = createConductor({ logsDir: tempLogs("tput"), handleSignals: false, enableMesh: false });
  const r = await measure(
    async () => {
      const done = new Promise((resolve) => c.on("completed", resolve));
      c.spawnSession({ id: "blast", agent: "command", command: [NODE, ...blast(mib)] });
      await done;
    },
    undefined,
    mib,
  );
  r.logged = loggedBytes(c.getSnapshot()[0].outPath);
  await c.shutdown();
  return r;
}

async function floorPty(mib = MIB) {
  const path = join(tempLogs("tput-pty"), "out.log");
  const r = await measure(
    () =>
      new Promise((resolve) => {
        const file = createWriteStream(path);
        const p = pty.spawn(NODE, blast(mib), { cols: 120, rows: 40 });
        p.onData((d) => file.write(d));
        p.onExit(() => setTimeout(() => file.end(resolve), 20)); // late data after exit (node-pty#72)
      }),
    undefined,
    mib,
  );
  r.logged = loggedBytes(path);
  return r;
}

const floorPipe = () =>
  measure(
    () =>
      new Promise((resolve) => {
        const file = createWriteStream(join(tempLogs("tput-pipe"), "out.log"));
        const p = spawn(NODE, probe, { stdio: ["ignore", "pipe", "inherit"] });
        p.stdout.pipe(file);
        file.on("finish", resolve);
      }),
  );

async function pm2Round(pm2, round) {
  const name = `blast-${round}`;
  return measure(
    async () => {
      const exited = pm2.nextEvent(name, "exit");
      await pm2.start({ name, script: probe[0], args: [String(PM2_MIB)], autorestart: false });
      await exited;
      await pm2.settledLog(name);
      await pm2.delete(name);
    },
    () => procCpuSeconds(pm2.daemonPid()),
    PM2_MIB,
  );
}

// Unmeasured first runs: the first session of a process compiles the conductor's code (JIT, lazy
// modules), which the first measured round carried alone (its CPU per MiB up to 2× the next rounds').
await conductor(4);
await floorPty(4);

const pm2 = await startPm2();
const rounds = [];
try {
  for (let round = 0; round < ROUNDS; round++) {
    rounds.push({
      conductor: await conductor(),
      pm2: await pm2Round(pm2, round),
      child_process: await floorPipe(),
      node_pty: await floorPty(),
    });
  }
} finally {
  await pm2.stop();
}
emit({ figure: "throughput", unit: "MiB/s", what: `${MIB} MiB of output captured to a file`, rounds });
process.exit(0);
