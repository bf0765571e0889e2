// Restart: a child's exit line → the next child's first line, as the children stamp them.
// Side by side in each round: the conductor, pm2, and the bare floors (child_process, node-pty).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { child, dist, emit, restartGaps, tempLogs } from "./lib.mjs";
import { startPm2 } from "./pm2.mjs";

const { createConductor } = await import(dist);
const pty = createRequire(import.meta.url)("node-pty");
const RESTARTS = Number(process.env.RESTARTS ?? 10);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const NODE = process.execPath;
const probe = [child("crash-loop"), "30"];

async function conductor() {
  const c = createConductor({
    logsDir: tempLogs("restart"),
    handleSignals: false,
    enableMesh: false,
    maxRestarts: RESTARTS,
  });
  const dead = new Promise((r) => c.on("dead", r));
  c.spawnSession({ id: "crash", agent: "command", command: [NODE, ...probe] });
  await dead;
  const text = readFileSync(c.getSnapshot()[0].outPath, "utf8");
  await c.shutdown();
  return restartGaps(text);
}

async function pm2Round(pm2, round) {
  const name = `crash-${round}`;
  // pm2 counts runs, not restarts: max_restarts R gives R runs, then "restart overlimit".
  const exits = pm2.countEvents(name, "restart overlimit", 1);
  await pm2.start({
    name,
    script: probe[0],
    args: probe.slice(1),
    autorestart: true,
    max_restarts: RESTARTS + 1,
    min_uptime: 60_000,
    restart_delay: 0,
  });
  await exits;
  await pm2.delete(name);
  return restartGaps(await pm2.settledLog(name));
}

/** The floor: a parent that respawns on exit and does nothing else. */
function floor(spawnOnce) {
  return new Promise((resolve) => {
    let text = "";
    let runs = 0;
    const next = () => {
      runs++;
      spawnOnce(
        (d) => (text += d),
        () => (runs <= RESTARTS ? next() : resolve(restartGaps(text))),
      );
    };
    next();
  });
}
const viaChildProcess = (onData, onExit) => {
  const p = spawn(NODE, probe, { stdio: ["ignore", "pipe", "inherit"] });
  p.stdout.setEncoding("utf8").on("data", onData);
  p.on("close", onExit);
};
const viaPty = (onData, onExit) => {
  const p = pty.spawn(NODE, probe, { cols: 120, rows: 40 });
  p.onData(onData);
  p.onExit(() => setImmediate(onExit));
};

const pm2 = await startPm2();
const rounds = [];
try {
  for (let round = 0; round < ROUNDS; round++) {
    rounds.push({
      conductor: await conductor(),
      pm2: await pm2Round(pm2, round),
      child_process: await floor(viaChildProcess),
      node_pty: await floor(viaPty),
    });
  }
} finally {
  await pm2.stop();
}
emit({ figure: "restart", unit: "ms", what: "child's exit line → next child's first line", rounds });
process.exit(0); // pm2's bus keeps a socket open
