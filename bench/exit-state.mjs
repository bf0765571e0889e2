// Exit → state: the child stamps the clock as its last act; how long until the supervisor says so.
// Side by side in each round: the conductor (`completed` event), pm2 (`exit` on its bus), and the
// floors (child_process `exit`, node-pty `onExit`). The child is perl when there is one: a Node
// child's own exit after its stamp (10–70 ms under load) was most of every contender's figure.
// The floors run in a process of their own (this file with `--floors`), as pm2's daemon does: a fork
// on the conductor's thread (node-pty's, libuv's) left its heap pages copy-on-write, and its next
// sample paid a page fault, and a TLB shootdown on 2 cores, for every page it wrote: a cost of the
// bench, not of a supervisor, which forks nothing on its thread (the spawn helper forks).
// `DIST_B=/path/to/dist` adds another build of the conductor (e.g. main's, built in a temp dir) as
// `conductor_b`, taking its turn in every sample beside the others: before and after in one run.
// `PM2=0` leaves pm2 out (a quick before/after of two builds).
// Each round's conductor is new, and its spawn helper boots (a node process) beside its first session:
// that first exit is a start-up cost, as pm2's daemon start is, which pm2's samples never include. So
// a round's first sample is taken while the helper boots and kept apart (`conductor_boot`, reported
// on its own); the round's samples start once the helper is ready, as pm2's once its daemon is up.
import { fork, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dist, emit, probeArgv, stamps, tempLogs, wallNow } from "./lib.mjs";

const SAMPLES = Number(process.env.SAMPLES ?? 15);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const probe = probeArgv("stamp-exit", "0");

const entry = process.argv[1] === fileURLToPath(import.meta.url);
if (entry && process.argv.includes("--floors")) serveFloors();
else if (entry) await main();

/** The floors' process: one sample of the floor named in each message, its figure sent back. */
function serveFloors() {
  const pty = createRequire(import.meta.url)("node-pty");
  // The figure, and the child's pid and both wall times for bench/exit-breakdown.mjs.
  const sampleOf = (run) =>
    new Promise(run).then(({ at, text, pid }) => ({
      value: at - stamps(text, "T")[0],
      at,
      stamp: stamps(text, "T")[0],
      pid,
    }));
  const viaChildProcess = (resolve) => {
    let text = "";
    const p = spawn(probe[0], probe.slice(1), { stdio: ["ignore", "pipe", "inherit"] });
    p.stdout.setEncoding("utf8").on("data", (d) => (text += d));
    p.on("exit", () => {
      const at = wallNow();
      p.on("close", () => resolve({ at, text, pid: p.pid }));
    });
  };
  const viaPty = (resolve) => {
    let text = "";
    const p = pty.spawn(probe[0], probe.slice(1), { cols: 120, rows: 40 });
    p.onData((d) => (text += d));
    p.onExit(() => {
      const at = wallNow();
      setTimeout(() => resolve({ at, text, pid: p.pid }), 50); // node-pty may deliver the last data after exit (#72)
    });
  };
  process.on("message", async (floor) => process.send(await sampleOf(floor === "node_pty" ? viaPty : viaChildProcess)));
  process.on("disconnect", () => process.exit(0));
}

export function startFloors() {
  const p = fork(fileURLToPath(import.meta.url), ["--floors"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return {
    /** The floor's figure; `detail` resolves with { value, at, stamp, pid } instead. */
    sample: (floor, detail = false) =>
      new Promise((resolve) => {
        p.once("message", (m) => resolve(detail ? m : m.value));
        p.send(floor);
      }),
    stop: () => p.disconnect(),
  };
}

/** Resolves once the spawn helper of the build at `distRoot` is up (or cannot be: node-pty forks then). */
async function helperUp(distRoot) {
  const { spawnHelper } = await import(new URL("actors/pty-spawn.js", distRoot).href);
  await spawnHelper()
    ?.whenReady()
    .catch(() => undefined);
}

/** One conductor a round; `sample(i)` runs its i-th session and resolves with that sample. */
function conductorRound(createConductor, round) {
  const c = createConductor({ logsDir: tempLogs("exit"), handleSignals: false, enableMesh: false });
  const sample = async (i) => {
    const id = `x${round}-${i}`;
    // Stamped in the listener, as bench/pm2.mjs stamps pm2's bus event: a `.then` after it would add the
    // rest of the emitting step and a microtask hop to the conductor's figure alone.
    const done = new Promise((resolve) => {
      const fn = (e) => {
        if (e.sessionId !== id) return;
        const at = wallNow();
        c.off("completed", fn);
        resolve(at);
      };
      c.on("completed", fn);
    });
    c.spawnSession({ id, agent: "command", command: probe });
    const at = await done;
    const path = c.getSnapshot().find((s) => s.id === id).outPath;
    return at - stamps(readFileSync(path, "utf8"), "T")[0];
  };
  return { sample, close: () => c.shutdown() };
}

/** One app a round that pm2 restarts SAMPLES - 1 times (a start and a delete per sample took minutes). */
async function pm2Round(pm2, round) {
  const name = `x${round}`;
  const exits = pm2.eventTimes(name, "exit", SAMPLES);
  // pm2 counts runs, not restarts: max_restarts R gives R runs (bench/restart.mjs).
  const app = { name, script: probe[0], args: probe.slice(1), interpreter: "none", autorestart: true };
  await pm2.start({ ...app, max_restarts: SAMPLES, min_uptime: 60_000, restart_delay: 0 });
  const at = await exits;
  const text = await pm2.settledLog(name);
  await pm2.delete(name);
  const t = stamps(text, "T");
  return at.map((a, i) => a - (t[i] ?? Number.NaN)).filter(Number.isFinite);
}

async function main() {
  const { createConductor } = await import(dist);
  const distB = process.env.DIST_B && pathToFileURL(`${process.env.DIST_B.replace(/\/$/, "")}/src/index.js`).href;
  const rootOf = (index) => new URL("../", index);
  const createB = distB ? (await import(distB)).createConductor : undefined;
  const pm2 = process.env.PM2 === "0" ? undefined : await (await import("./pm2.mjs")).startPm2();
  const floors = startFloors();
  const rounds = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // The conductor and the floors take turns, sample by sample: a load that comes and goes (this machine
      // is shared) falls on all three alike, not on whichever ran its whole block at that moment. pm2
      // restarts its one app by itself, so it runs its samples in a block of its own.
      const r = { conductor: [], conductor_boot: [], pm2: [], child_process: [], node_pty: [] };
      const c = conductorRound(createConductor, round);
      const b = createB && conductorRound(createB, `b${round}`);
      if (b) r.conductor_b = [];
      r.conductor_boot.push(await c.sample("boot"));
      await helperUp(rootOf(dist));
      if (b) await helperUp(rootOf(distB));
      for (let i = 0; i < SAMPLES; i++) {
        // Which build goes first alternates: neither always follows the floors' samples.
        if (b && i % 2 === 1) r.conductor_b.push(await b.sample(i));
        r.conductor.push(await c.sample(i));
        if (b && i % 2 === 0) r.conductor_b.push(await b.sample(i));
        r.child_process.push(await floors.sample("child_process"));
        r.node_pty.push(await floors.sample("node_pty"));
      }
      await c.close();
      await b?.close();
      if (pm2) r.pm2 = await pm2Round(pm2, round);
      rounds.push(r);
    }
  } finally {
    await pm2?.stop();
    floors.stop();
  }
  emit({ figure: "exit_to_state", unit: "ms", what: "child's last stamp → supervisor reports the exit", rounds });
  process.exit(0); // pm2's bus keeps a socket open
}
