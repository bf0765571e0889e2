// Shutdown of N sessions whose children spawned grandchildren: the conductor's batched reaper
// (one /proc snapshot per batch) against tree-kill called per session (one `ps` per call).
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dist, report, sleep, tempLogs } from "./lib.mjs";

const { createConductor } = await import(dist);
const treeKill = createRequire(import.meta.url)("tree-kill");
const N = Number(process.env.SESSIONS ?? 50);
const cmd = ["bash", "-c", "sleep 1000 & sleep 1000"];

// 1. conductor.shutdown()
const c = createConductor({ logsDir: tempLogs("shutdown"), graceMs: 2_000, handleSignals: false, enableMesh: false });
for (let i = 0; i < N; i++) c.spawnSession({ id: `s${i}`, agent: "command", command: cmd });
await sleep(1_000);
let t = performance.now();
await c.shutdown("bench");
const ours = performance.now() - t;

// 2. the same trees, killed with tree-kill per session (as pm2-style supervisors do)
const kids = [];
for (let i = 0; i < N; i++) kids.push(spawn(cmd[0], cmd.slice(1), { detached: true, stdio: "ignore" }));
await sleep(1_000);
t = performance.now();
await Promise.all(kids.map((k) => new Promise((r) => treeKill(k.pid, "SIGTERM", () => r()))));
const perSession = performance.now() - t;

report(`shutdown of ${N} sessions with grandchildren`, [
  ["conductor.shutdown() (batched /proc snapshot, waits for trees gone)", `${ours.toFixed(0)} ms`],
  ["tree-kill per session (one ps each, does not wait)", `${perSession.toFixed(0)} ms`],
  ["ratio tree-kill / conductor", `${(perSession / ours).toFixed(2)}x`],
]);
