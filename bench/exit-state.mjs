// Exit → state: the child stamps the clock as its last act; how long until the supervisor says so.
// Side by side in each round: the conductor (`completed` event), pm2 (`exit` on its bus), and the
// floors (child_process `exit`, node-pty `onExit`). The child is perl when there is one: a Node
// child's own exit after its stamp (10–70 ms under load) was most of every contender's figure.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dist, emit, probeArgv, stamps, tempLogs, wallNow } from "./lib.mjs";
import { startPm2 } from "./pm2.mjs";

const { createConductor } = await import(dist);
const pty = createRequire(import.meta.url)("node-pty");
const SAMPLES = Number(process.env.SAMPLES ?? 15);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const probe = probeArgv("stamp-exit", "0");

/** One conductor a round; `sample(i)` runs its i-th session and resolves with that sample. */
function conductorRound(round) {
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

const sampleOf = (run) => new Promise(run).then(({ at, text }) => at - stamps(text, "T")[0]);
const viaChildProcess = (resolve) => {
  let text = "";
  const p = spawn(probe[0], probe.slice(1), { stdio: ["ignore", "pipe", "inherit"] });
  p.stdout.setEncoding("utf8").on("data", (d) => (text += d));
  p.on("exit", () => {
    const at = wallNow();
    p.on("close", () => resolve({ at, text }));
  });
};
const viaPty = (resolve) => {
  let text = "";
  const p = pty.spawn(probe[0], probe.slice(1), { cols: 120, rows: 40 });
  p.onData((d) => (text += d));
  p.onExit(() => {
    const at = wallNow();
    setTimeout(() => resolve({ at, text }), 50); // node-pty may deliver the last data after exit (#72)
  });
};

const pm2 = await startPm2();
const rounds = [];
try {
  for (let round = 0; round < ROUNDS; round++) {
    // The conductor and the floors take turns, sample by sample: a load that comes and goes (this machine
    // is shared) falls on all three alike, not on whichever ran its whole block at that moment. pm2
    // restarts its one app by itself, so it runs its samples in a block of its own.
    const r = { conductor: [], pm2: [], child_process: [], node_pty: [] };
    const c = conductorRound(round);
    for (let i = 0; i < SAMPLES; i++) {
      r.conductor.push(await c.sample(i));
      r.child_process.push(await sampleOf(viaChildProcess));
      r.node_pty.push(await sampleOf(viaPty));
    }
    await c.close();
    r.pm2 = await pm2Round(pm2, round);
    rounds.push(r);
  }
} finally {
  await pm2.stop();
}
emit({ figure: "exit_to_state", unit: "ms", what: "child's last stamp → supervisor reports the exit", rounds });
process.exit(0); // pm2's bus keeps a socket open
