// Shutdown of N sessions whose children spawned grandchildren, side by side: conductor.shutdown()
// (waits until every tree is gone), pm2 `delete all` (its tree-kill), tree-kill called per session
// (one `ps` per call), and the floor: SIGKILL to each process group, waiting for the children's exit.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dist, emit, sleep, tempLogs } from "./lib.mjs";
import { startPm2 } from "./pm2.mjs";

const { createConductor } = await import(dist);
const treeKill = createRequire(import.meta.url)("tree-kill");
const N = Number(process.env.SESSIONS ?? 100);
// tree-kill runs one `ps` per call: 100 of them at once took 105 s under load. Fewer sessions give
// its cost per session (the figure is reported with its own count).
const TREE_KILL_N = Number(process.env.TREE_KILL_SESSIONS ?? Math.min(20, N));
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const cmd = ["bash", "-c", "sleep 1000 & sleep 1000"];
const timed = async (fn) => {
  const t = performance.now();
  await fn();
  return performance.now() - t;
};

async function conductor() {
  const c = createConductor({ logsDir: tempLogs("shutdown"), graceMs: 2_000, handleSignals: false, enableMesh: false });
  for (let i = 0; i < N; i++) c.spawnSession({ id: `s${i}`, agent: "command", command: cmd });
  // These children print nothing (they stay `starting`): wait until each one has a pid.
  while (c.getSnapshot().some((s) => !s.pid)) await sleep(50);
  await sleep(500);
  return timed(() => c.shutdown("bench"));
}

async function pm2Round(pm2) {
  // Started ten at a time (one after the other took a minute under load); only the delete is timed.
  for (let i = 0; i < N; i += 10) {
    const batch = Array.from({ length: Math.min(10, N - i) }, (_, k) => `s${i + k}`);
    await Promise.all(
      batch.map((name) =>
        pm2.start({ name, script: cmd[0], args: cmd.slice(1), interpreter: "none", autorestart: false }),
      ),
    );
  }
  await sleep(1_000);
  return timed(() => pm2.delete("all"));
}

function detachedTrees(n = N) {
  return Array.from({ length: n }, () => spawn(cmd[0], cmd.slice(1), { detached: true, stdio: "ignore" }));
}
const killGroup = (pgid) => {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // ESRCH: the whole group is already gone
  }
};
const exited = (k) => new Promise((r) => (k.exitCode !== null || k.signalCode !== null ? r() : k.once("exit", r)));

async function treeKillRound() {
  const kids = detachedTrees(TREE_KILL_N);
  await sleep(1_000);
  const ms = await timed(() => Promise.all(kids.map((k) => new Promise((r) => treeKill(k.pid, "SIGTERM", () => r())))));
  for (const k of kids) killGroup(k.pid); // tree-kill does not wait: make sure nothing is left
  return ms;
}

async function floor() {
  const kids = detachedTrees();
  await sleep(1_000);
  return timed(async () => {
    for (const k of kids) killGroup(k.pid);
    await Promise.all(kids.map(exited));
  });
}

const pm2 = await startPm2();
const rounds = [];
try {
  for (let round = 0; round < ROUNDS; round++) {
    rounds.push({
      conductor: [await conductor()],
      pm2: [await pm2Round(pm2)],
      tree_kill: [await treeKillRound()],
      process_group_kill: [await floor()],
    });
  }
} finally {
  await pm2.stop();
}
emit({
  figure: "shutdown",
  unit: "ms",
  what: `stop ${N} sessions with grandchildren`,
  sessions: { conductor: N, pm2: N, process_group_kill: N, tree_kill: TREE_KILL_N },
  rounds,
});
process.exit(0);
