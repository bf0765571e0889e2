// Output throughput: a child writes MIB MiB as fast as it can; the supervisor captures it to a file.
// Figures per contender: MiB/s (wall, spawn → exit reported and file closed) and the supervisor's
// CPU seconds per MiB (this process for the in-process ones, the daemon for pm2).
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { child, dist, emit, procCpuSeconds, tempLogs } from "./lib.mjs";
import { startPm2 } from "./pm2.mjs";

const { createConductor } = await import(dist);
const pty = createRequire(import.meta.url)("node-pty");
const MIB = Number(process.env.MIB ?? 200);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const NODE = process.execPath;
const probe = [child("blast"), String(MIB)];

/** Runs `body` and measures wall time and this process's CPU time (all threads). */
async function measure(body, cpuOf = () => process.cpuUsage()) {
  const cpu0 = cpuOf();
  const t0 = performance.now();
  await body();
  const wallS = (performance.now() - t0) / 1000;
  const cpu1 = cpuOf();
  const cpuS = typeof cpu1 === "number" ? cpu1 - cpu0 : (cpu1.user - cpu0.user + cpu1.system - cpu0.system) / 1e6;
  return { mibPerS: MIB / wallS, cpuSPerMib: cpuS / MIB, cpuPercent: (100 * cpuS) / wallS };
}

const conductor = () =>
  measure(async () => {
    const c = createConductor({ logsDir: tempLogs("tput"), handleSignals: false, enableMesh: false });
    const done = new Promise((r) => c.on("completed", r));
    c.spawnSession({ id: "blast", agent: "command", command: [NODE, ...probe] });
    await done;
    await c.shutdown();
  });

const floorPty = () =>
  measure(
    () =>
      new Promise((resolve) => {
        const file = createWriteStream(join(tempLogs("tput-pty"), "out.log"));
        const p = pty.spawn(NODE, probe, { cols: 120, rows: 40 });
        p.onData((d) => file.write(d));
        p.onExit(() => setTimeout(() => file.end(resolve), 20)); // late data after exit (node-pty#72)
      }),
  );

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
      await pm2.start({ name, script: probe[0], args: probe.slice(1), autorestart: false });
      await exited;
      await pm2.settledLog(name);
      await pm2.delete(name);
    },
    () => procCpuSeconds(pm2.daemonPid()),
  );
}

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
