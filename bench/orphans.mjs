// Supervisor death → survivors. For each fault (a signal to the embedding process), runs
// test/fixtures/orphan-embedder.mjs (4 sessions: plain, HUP/TERM-ignoring, background grandchildren,
// a setsid + double-fork escapee), waits until every marked process is up, delivers the fault, then
// counts processes still carrying the run's marker (env CONDUCTOR_TEST_MARK) after WAIT_MS.
// `SIGKILL+watchdog` SIGKILLs the embedder and its orphan watchdog at once: the defence of last
// resort is gone too, so what survives is what only a later conductor's survivor sweep can end.
// Survivors are killed afterwards. `RUNS=3 node bench/orphans.mjs` (after `npm run build`).
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { report, sleep, tempLogs } from "./lib.mjs";

const embedder = fileURLToPath(new URL("../test/fixtures/orphan-embedder.mjs", import.meta.url));
const RUNS = Number(process.env.RUNS ?? 3);
const WAIT_MS = Number(process.env.WAIT_MS ?? 5000);
const FAULTS = (process.env.FAULTS ?? "SIGKILL,SIGHUP,SIGTERM,SIGINT,SIGKILL+watchdog").split(",");

export function marked(mark) {
  const out = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const env = readFileSync(`/proc/${name}/environ`, "latin1");
      if (!env.split("\0").includes(`CONDUCTOR_TEST_MARK=${mark}`)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, "latin1");
      if (/\) [ZX] /.test(stat)) continue;
      out.push({ pid: Number(name), comm: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) });
    } catch {}
  }
  return out;
}

/** The embedder's orphan watchdog: actors/orphan-watchdog.ts runs `sh -c <script> conductor-watchdog …`. */
function watchdogOf(parent) {
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "latin1");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const args = readFileSync(`/proc/${name}/cmdline`, "latin1").split("\0");
      if (ppid === parent && args[1] === "-c" && args[3] === "conductor-watchdog") return Number(name);
    } catch {}
  }
  return null;
}

async function once(fault) {
  const logs = tempLogs("orphans");
  const mark = randomBytes(8).toString("hex");
  const child = spawn(process.execPath, [embedder, logs, mark], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((r) => child.stdout.on("data", (d) => String(d).includes("ready") && r()));
  // Every shape is up when the count stops growing at its full size (13 with dash as /bin/sh).
  let before = [];
  for (let i = 0; i < 200 && before.length < 13; i++, await sleep(50)) before = marked(mark);
  if (fault === "SIGKILL+watchdog") {
    const watchdog = watchdogOf(child.pid);
    child.kill("SIGKILL");
    if (watchdog === null) throw new Error("the embedder has no conductor-watchdog child: the fault cannot be made");
    process.kill(watchdog, "SIGKILL");
  } else child.kill(fault);
  await sleep(WAIT_MS);
  const after = marked(mark);
  for (const p of after)
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {}
  rmSync(logs, { recursive: true, force: true });
  return { before: before.length, after };
}

const rows = [];
for (const fault of FAULTS) {
  const survivors = [];
  let before = 0;
  for (let i = 0; i < RUNS; i++) {
    const r = await once(fault);
    before = r.before;
    survivors.push(r.after.length);
    if (r.after.length) console.error(fault, "survivors:", r.after.map((p) => `${p.pid}:${p.comm}`).join(" "));
  }
  rows.push([`${fault} to the embedder: survivors of ${before} marked, per run`, survivors.join(" ")]);
}
report(`supervisor death (${RUNS} runs each, counted ${WAIT_MS} ms after the fault)`, rows);
