// `npm run bench`: every figure side by side in one run: the conductor, pm2 (private PM2_HOME) and the
// bare floors. Writes bench/results.json and the table in bench/README.md. Ratios are what to read: the
// machines are shared, so absolute times move with the load; targets live here, never in tests.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { summarise, table } from "./summary.mjs";

const here = (f) => fileURLToPath(new URL(f, import.meta.url));
/** How long each scenario took (the whole run must stay under 10 minutes on 2 cores). */
const took = [];

// pm2 and the agents must not reach past this machine: as root, run inside a new network namespace
// that has only loopback (pm2's version check is also switched off in bench/pm2.mjs).
if (process.getuid?.() === 0 && !process.env.BENCH_NETNS) {
  const args = [
    "-n",
    "sh",
    "-c",
    'ip link set lo up 2>/dev/null; exec "$0" "$@"',
    process.execPath,
    ...process.argv.slice(1),
  ];
  const p = spawn("unshare", args, { stdio: "inherit", env: { ...process.env, BENCH_NETNS: "1" } });
  p.on("exit", (code) => process.exit(code ?? 1));
  p.on("error", () => process.exit(1));
} else {
  await main();
}

function scenario(file, env = {}, nodeFlags = []) {
  const started = performance.now();
  process.stderr.write(`· ${[...nodeFlags, file].join(" ")} ${JSON.stringify(env)} … `);
  const out = execFileSync(process.execPath, [...nodeFlags, here(file)], {
    env: { ...process.env, ...env },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 1 << 26,
    timeout: 600_000,
  });
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  took.push({ file, env, ...(nodeFlags.length ? { nodeFlags } : {}), seconds });
  process.stderr.write(`${seconds} s\n`);
  return JSON.parse(out.trim().split("\n").at(-1));
}

/** The node flags of the `conductor run --detach` daemon, as built. */
async function daemonFlags() {
  const { SUPERVISOR_V8_FLAGS } = await import(here("../dist/src/cli/supervisor-node-flags.js"));
  return [...SUPERVISOR_V8_FLAGS];
}

async function main() {
  // Every scenario's files (logs, pm2's home) in one directory, removed at the end (KEEP_LOGS=1 keeps it).
  const scratch = mkdtempSync(join(tmpdir(), "conductor-bench-"));
  process.env.TMPDIR = scratch;
  if (process.env.KEEP_LOGS !== "1") process.on("exit", () => rmSync(scratch, { recursive: true, force: true }));
  const quick = process.argv.includes("--quick");
  const started = Date.now();
  const load0 = loadavg()[0];
  // Sized to finish in under 10 minutes on 2 shared cores (the 09:45 run took 998 s): rounds where a
  // ratio needs them, one round where the gap is an order of magnitude (shutdown: pm2 15× slower; tree-kill
  // on 20 sessions), 128 MiB of throughput (a run's fixed ~60 ms of start and drain stays a few % of it; pm2 32: its rate settles within seconds), pm2 restarting one
  // app for exit → state (not a start and a delete per sample), 6 s of steady state at scale.
  const steady = quick ? "2000" : "6000";
  const raw = {
    restart: scenario("restart.mjs", quick ? { ROUNDS: "1", RESTARTS: "3" } : { ROUNDS: "2", RESTARTS: "8" }),
    // 120 exits: with 60 the p99 was the largest sample, which is the process's cold first run (~30 ms).
    exitToState: scenario("exit-state.mjs", quick ? { ROUNDS: "1", SAMPLES: "3" } : { ROUNDS: "3", SAMPLES: "40" }),
    throughput: scenario("throughput.mjs", quick ? { ROUNDS: "1", MIB: "8" } : { ROUNDS: "3", MIB: "128" }),
    scale500: ["conductor", "node_pty"].map((MODE) =>
      scenario("scale.mjs", { MODE, STEADY_MS: steady, ...(quick ? { SESSIONS: "20" } : {}) }),
    ),
    // The same conductor in the process `conductor run --detach` starts: only a supervisor in it, so
    // it runs with the node flags src/cli/supervisor-node-flags.ts gives it (a smaller young generation).
    scale500Daemon: scenario(
      "scale.mjs",
      { MODE: "conductor", STEADY_MS: steady, ...(quick ? { SESSIONS: "20" } : {}) },
      await daemonFlags(),
    ),
    // A default node whose main module first calls limitYoungGeneration() (the `young-generation` entry).
    scale500Limited: scenario(
      "scale.mjs",
      { MODE: "conductor", STEADY_MS: steady, ...(quick ? { SESSIONS: "20" } : {}) },
      ["--import", here("limit-young-generation.mjs")],
    ),
    scale100x10: ["conductor", "node_pty"].map((MODE) =>
      scenario("scale.mjs", { MODE, SESSIONS: quick ? "10" : "100", EVERY_MS: "100", STEADY_MS: steady }),
    ),
    shutdown: scenario("shutdown.mjs", quick ? { ROUNDS: "1", SESSIONS: "10" } : { ROUNDS: "1" }),
    eventLog: scenario("event-log.mjs", quick ? { ROUNDS: "1", LINES: "5000" } : {}),
  };
  const results = {
    when: new Date(started).toISOString(),
    durationS: Math.round((Date.now() - started) / 1000),
    machine: { cpus: cpus().length, node: process.version, loadavgAtStart: load0, loadavgAtEnd: loadavg()[0] },
    quick,
    took,
    raw,
    summary: summarise(raw),
  };
  if (quick) {
    console.log(table(results));
    return;
  }
  writeFileSync(here("results.json"), `${JSON.stringify(results, null, 2)}\n`);
  const readme = readFileSync(here("README.md"), "utf8");
  const begin = "<!-- bench:begin -->";
  const end = "<!-- bench:end -->";
  const i = readme.indexOf(begin);
  const j = readme.indexOf(end);
  const body = `${begin}\n${table(results)}\n${end}`;
  writeFileSync(
    here("README.md"),
    i >= 0 && j > i ? readme.slice(0, i) + body + readme.slice(j + end.length) : `${readme}\n${body}\n`,
  );
  console.log(table(results));
}
