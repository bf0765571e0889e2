// Remote sessions over a real sshd on 127.0.0.1 (ssh2 + tmux control mode): latency from
// remote output to the session's state change, and the conductor's event-loop delay with 20
// remote sessions printing. Run after `npx tsc -p tsconfig.build.json` (it imports dist/).
import { rmSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createActor } from "xstate";
import { median, percentile, report, sleep, tempLogs } from "./lib.mjs";
const { killTmuxServer, startSshd } = await import(new URL("../dist/src/testing/sshd.js", import.meta.url).href);

const d = (p) => new URL(`../dist/${p}`, import.meta.url).href;
const { createRemoteSessionLogic } = await import(d("actors/remote-session.js"));
const { createSshHostPool } = await import(d("actors/ssh-host.js"));
const { loadHostsFile } = await import(d("src/hosts-config.js"));
const { sessionMachine } = await import(d("machines/session.machine.js"));

const RUNS = Number(process.env.RUNS ?? 5);
const TICKS = Number(process.env.TICKS ?? 6);
const SESSIONS = Number(process.env.SESSIONS ?? 20);
const SOCKET = `cond-bench-${process.pid}`;
const now = () => performance.timeOrigin + performance.now();

const sshd = await startSshd();
const pool = createSshHostPool(loadHostsFile(sshd.hostsFile("bench")));
const remotes = new Map();
const logic = createRemoteSessionLogic({
  hosts: pool,
  socketName: SOCKET,
  resolveRemote: (i) => remotes.get(i.sessionId),
});
const logs = tempLogs("remote");
let n = 0;

function session(argv, policy = {}) {
  const id = `b${++n}`;
  remotes.set(id, { host: "bench" });
  const actor = createActor(sessionMachine.provide({ actors: { ptyProcess: logic } }), {
    input: {
      id,
      agent: "command",
      spec: { argv, cols: 120, rows: 40 },
      outPath: `${logs}/${id}.out.log`,
      errPath: `${logs}/${id}.err.log`,
      policy,
    },
  });
  return actor;
}
const until = (actor, pred) =>
  new Promise((resolve) => {
    const sub = actor.on("stateChange", (e) => {
      if (!pred(e)) return;
      sub.unsubscribe();
      resolve(e);
    });
  });

try {
  // Warm up: connect and attach the control client once (connect + auth + one exec).
  const t0 = now();
  const warm = session(["/bin/sh", "-c", "echo __TRIFLUX_DONE__; sleep 5"]);
  warm.start();
  const warmDone = until(warm, (e) => e.to === "completed");
  warm.send({ type: "START" });
  await warmDone;
  const firstSession = now() - t0;

  // 1. output → state change: the agent goes quiet past stallMs, then prints a wall-clock stamp;
  // the session moves stalled → healthy when that output arrives. Latency = move − stamp.
  const lat = [];
  for (let r = 0; r < RUNS; r++) {
    const script = `for i in $(seq ${TICKS}); do sleep 0.5; echo "T$(date +%s%N)"; done; echo __TRIFLUX_DONE__; sleep 5`;
    const a = session(["/bin/sh", "-c", script], { stallMs: 250, stallTimeoutMs: null, inputQuietMs: 60_000 });
    const sub = a.on("stateChange", (e) => {
      if (e.from !== "stalled" || e.to !== "healthy") return;
      const at = now();
      const stamps = [
        ...a
          .getSnapshot()
          .context.screenTail.join("\n")
          .matchAll(/T(\d{19})/g),
      ];
      const last = stamps.at(-1);
      if (last) lat.push(at - Number(last[1]) / 1e6);
    });
    a.start();
    const done = until(a, (e) => e.to === "completed" || e.to === "dead");
    a.send({ type: "START" });
    await done;
    sub.unsubscribe();
  }

  // 2. event-loop delay with SESSIONS remote sessions printing (steady, then flat out).
  async function load(script, seconds) {
    const actors = [];
    for (let i = 0; i < SESSIONS; i++) {
      const a = session(["/bin/sh", "-c", script], { stallMs: 60_000 });
      a.start();
      a.send({ type: "START" });
      actors.push(a);
    }
    await Promise.all(
      actors.map((a) => (a.getSnapshot().context.state === "healthy" ? null : until(a, (e) => e.to === "healthy"))),
    );
    const h = monitorEventLoopDelay({ resolution: 1 });
    const cpu0 = process.cpuUsage();
    h.enable();
    await sleep(seconds * 1000);
    h.disable();
    const cpu = process.cpuUsage(cpu0);
    const cpuPct = ((cpu.user + cpu.system) / 1e4 / seconds).toFixed(0);
    const bytes = actors.reduce((s, a) => s + a.getSnapshot().context.outputBytes, 0);
    for (const a of actors) a.send({ type: "KILL", reason: "bench_done" });
    await sleep(1500); // cleanup (TERM, kill-window) runs in the background
    // DEBUG_ELD=1: sample count and p50/p90/p99/max (few samples = long turns, p99 ≈ max).
    if (process.env.DEBUG_ELD)
      console.log("eld", h.count, h.percentile(50) / 1e6, h.percentile(90) / 1e6, h.percentile(99) / 1e6, h.max / 1e6);
    return { p99: h.percentile(99) / 1e6, max: h.max / 1e6, mean: h.mean / 1e6, bytes, cpuPct };
  }
  // perl, not a shell loop: 20 shells forking `sleep` 100×/s would starve 2 cores by themselves.
  const steady = await load(
    `exec perl -e '$|=1; for ($i=0;;$i++) { printf "line %d %080d\\n", $i, $i; select(undef,undef,undef,0.01) }'`,
    5,
  );
  const flat = process.env.FLAT === "0" ? null : await load(`yes "$(printf 'x%.0s' $(seq 100))"`, 3);

  report("Remote sessions (ssh2 + tmux control mode, sshd on 127.0.0.1, 2 vCPU)", [
    ["first session: connect + auth + control attach + run → completed", `${firstSession.toFixed(0)} ms`],
    [
      `remote output → stalled→healthy, median (p90) of ${lat.length}`,
      lat.length ? `${median(lat).toFixed(1)} ms (${percentile(lat, 90).toFixed(1)})` : "n/a",
    ],
    [
      `event-loop delay p99 (max), ${SESSIONS} sessions × ~100 lines/s, 5 s`,
      `${steady.p99.toFixed(1)} ms (${steady.max.toFixed(1)}), ${(steady.bytes / 1e6).toFixed(1)} MB, conductor CPU ${steady.cpuPct}%`,
    ],
    ...(flat
      ? [
          [
            `event-loop delay p99 (max), ${SESSIONS} sessions printing flat out, 3 s`,
            `${flat.p99.toFixed(1)} ms (${flat.max.toFixed(1)}), ${(flat.bytes / 1e6).toFixed(1)} MB, conductor CPU ${flat.cpuPct}%`,
          ],
        ]
      : []),
    ["target", "p99 < 20 ms"],
  ]);
} finally {
  await logic.close();
  pool.close();
  await killTmuxServer(SOCKET);
  await sshd.stop();
  rmSync(logs, { recursive: true, force: true });
}
