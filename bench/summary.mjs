// Turns the raw scenario results into the figures of issue 13: per-round ratios (side by side, so the
// load of the moment cancels out as far as it can), pooled min/median/p99, and each target's verdict.
import { median, stats } from "./lib.mjs";

const pool = (rounds, who) => rounds.flatMap((r) => r[who] ?? []);
const fmt = (s, unit = "ms") => (s ? `${s.median} ${unit} (min ${s.min}, p99 ${s.p99})` : "—");
const x = (v) => `${(Math.round(v * 100) / 100).toFixed(2)}×`;

/** Median of per-round ratios a/b, and their range. */
function ratio(rounds, a, b, pick = (v) => median(v)) {
  const per = rounds.map((r) => pick(r[a]) / pick(r[b])).filter(Number.isFinite);
  return per.length ? { median: median(per), min: Math.min(...per), max: Math.max(...per) } : null;
}
const fmtRatio = (r) => (r ? `${x(r.median)} (rounds ${x(r.min)}–${x(r.max)})` : "—");

/** tree-kill stops fewer sessions than the others (bench/shutdown.mjs): say how many. */
const treeKillOf = (sd) => {
  const n = sd.sessions?.tree_kill;
  return n !== undefined && n !== sd.sessions.conductor ? ` (${n} sessions)` : "";
};

const SCALE500_TARGET =
  "RSS (with the spawn helper's private memory) ≤ 120 MB, loop p99 ≤ 50 ms, spawn ≤ 30 s, no block > 100 ms, no line lost";
/** The supervisor's memory (bench/scale.mjs): the conductor's RSS plus what its spawn helper adds. */
const memoryOf = (r) =>
  `RSS ${r.rssMb} MB (${r.rssMinMb}–${r.rssMaxMb})` +
  (r.helperUssMb
    ? ` + spawn helper ${r.helperUssMb} MB private (its RSS ${r.helperRssMb}, PSS ${r.helperPssMb}) = **${r.supervisorMb} MB**`
    : "");
/** Issue 13's targets for 500 sessions, for one scale.mjs result. */
const meetsScale500 = (r) =>
  (r.supervisorMb ?? r.rssMb) <= 120 &&
  r.loopP99Ms <= 50 &&
  r.spawnAllS <= 30 &&
  r.spawnLoopMaxMs <= 100 &&
  r.sessionsWhoseEndIsLogged === r.sessions &&
  r.seqGaps === 0;

export function summarise(raw) {
  const rows = [];
  const lat = (key, label, target, met) => {
    const { rounds } = raw[key];
    const s = Object.fromEntries(
      ["conductor", "pm2", "child_process", "node_pty"].map((w) => [w, stats(pool(rounds, w))]),
    );
    const vsPm2 = ratio(rounds, "conductor", "pm2");
    const vsFloor = ratio(rounds, "conductor", "node_pty");
    // A new conductor's first exit, while its spawn helper boots (bench/exit-state.mjs): a start-up cost,
    // said apart as pm2's daemon start is never in its samples; the process's first is also cold code.
    const boot = key === "exitToState" ? pool(rounds, "conductor_boot") : [];
    const ms = (v) => Math.round(v * 100) / 100;
    const bootNote = boot.length ? `; a new conductor's first, its helper booting: ${boot.map(ms).join(", ")} ms` : "";
    rows.push({
      figure: label,
      conductor: `${fmt(s.conductor)}${bootNote}`,
      pm2: fmt(s.pm2),
      floor: `child_process ${fmt(s.child_process)}; node-pty ${fmt(s.node_pty)}`,
      ratio: `${fmtRatio(vsPm2)} of pm2; ${fmtRatio(vsFloor)} of node-pty`,
      target,
      met: met(s, vsPm2),
    });
  };
  lat("restart", "restart: exit line → next first line", "≤ pm2", (_s, r) => r !== null && r.median <= 1);
  lat(
    "exitToState",
    "exit → state reported",
    "≤ pm2, p99 ≤ 10 ms",
    (s, r) => r !== null && r.median <= 1 && s.conductor.p99 <= 10,
  );

  const tp = raw.throughput.rounds;
  const tpRatio = ratio(tp, "conductor", "node_pty", (v) => v.mibPerS);
  const cpuRatio = ratio(tp, "conductor", "node_pty", (v) => v.cpuSPerMib);
  const tpOf = (w) => {
    const m = median(tp.map((r) => r[w].mibPerS));
    const c = median(tp.map((r) => r[w].cpuPercent));
    return `${m.toFixed(1)} MiB/s, ${c.toFixed(0)} % CPU`;
  };
  rows.push({
    figure: `output throughput (${raw.throughput.what})`,
    conductor: tpOf("conductor"),
    pm2: `${tpOf("pm2")}${tp[0]?.pm2?.mib ? ` (${tp[0].pm2.mib} MiB)` : ""}`,
    floor: `pipe ${tpOf("child_process")}; node-pty → file ${tpOf("node_pty")}`,
    ratio: `${fmtRatio(tpRatio)} of node-pty's MiB/s; CPU per MiB ${fmtRatio(cpuRatio)}`,
    target: "≥ 0.9× node-pty, CPU per MiB ≤ node-pty's",
    met: tpRatio !== null && tpRatio.median >= 0.9 && cpuRatio !== null && cpuRatio.median <= 1,
  });

  const [c500, p500] = raw.scale500;
  rows.push({
    figure: `${c500.sessions} sessions × 1 line/s (a default node, as an embedder's)`,
    conductor: `${memoryOf(c500)}, CPU ${c500.steadyCpuMsPerS ?? "—"} ms/s, loop p99 ${c500.loopP99Ms} ms; spawn ×${c500.sessions} ${c500.spawnAllS} s (calls ${c500.spawnCallsS ?? "—"} s; worst loop block ${c500.spawnLoopMaxMs} ms); shutdown ${c500.shutdownS} s, ends logged ${c500.sessionsWhoseEndIsLogged}/${c500.sessions}, seq gaps ${c500.seqGaps}`,
    pm2: "—",
    floor: `node-pty parent: RSS ${p500.rssMb} MB, loop p99 ${p500.loopP99Ms} ms, spawn ${p500.spawnAllS} s (worst loop block ${p500.spawnLoopMaxMs} ms)`,
    ratio: `RSS ${x(c500.rssMb / p500.rssMb)}, with the helper ${x(c500.supervisorMb / p500.rssMb)}, loop p99 ${x(c500.loopP99Ms / Math.max(p500.loopP99Ms, 0.01))} of node-pty`,
    target: SCALE500_TARGET,
    met: meetsScale500(c500),
  });
  // The same 500 sessions with a smaller young generation, beside the default node's row.
  const beside = (v, where) =>
    v && {
      figure: `${v.sessions} sessions × 1 line/s ${where}`,
      conductor: `${memoryOf(v)}, CPU ${v.steadyCpuMsPerS} ms/s, loop p99 ${v.loopP99Ms} ms; spawn ×${v.sessions} ${v.spawnAllS} s (worst loop block ${v.spawnLoopMaxMs} ms); ends logged ${v.sessionsWhoseEndIsLogged}/${v.sessions}`,
      pm2: "—",
      floor: `default node above: RSS ${c500.rssMb} MB (${c500.rssMinMb}–${c500.rssMaxMb}), CPU ${c500.steadyCpuMsPerS} ms/s`,
      ratio: `RSS ${x(v.rssMb / c500.rssMb)}, with the helper ${x(v.supervisorMb / c500.supervisorMb)}, CPU ${x(v.steadyCpuMsPerS / Math.max(c500.steadyCpuMsPerS, 1))} of the default node`,
      target: SCALE500_TARGET,
      met: meetsScale500(v),
    };
  const d500 = raw.scale500Daemon;
  const l500 = raw.scale500Limited;
  for (const row of [
    beside(d500, `in the \`run --detach\` daemon (\`${d500?.nodeFlags.join(" ")}\`)`),
    beside(l500, "in a default node that first calls `limitYoungGeneration()` (2 MiB)"),
  ])
    if (row) rows.push(row);
  const [c100, p100] = raw.scale100x10;
  rows.push({
    figure: `${c100.sessions} sessions × 10 lines/s`,
    conductor: `loop p99 ${c100.loopP99Ms} ms, ${memoryOf(c100)}`,
    pm2: "—",
    floor: `node-pty parent: loop p99 ${p100.loopP99Ms} ms, RSS ${p100.rssMb} MB`,
    ratio: `loop p99 ${x(c100.loopP99Ms / Math.max(p100.loopP99Ms, 0.01))} of node-pty`,
    target: "(issue 13 measured 4.9× the floor)",
    met: null,
  });

  const sd = raw.shutdown.rounds;
  const sdS = Object.fromEntries(
    ["conductor", "pm2", "tree_kill", "process_group_kill"].map((w) => [w, stats(pool(sd, w))]),
  );
  const pm2VsUs = ratio(sd, "pm2", "conductor");
  rows.push({
    figure: `shutdown (${raw.shutdown.what})`,
    conductor: fmt(sdS.conductor),
    pm2: fmt(sdS.pm2),
    floor: `SIGKILL per process group ${fmt(sdS.process_group_kill)}; tree-kill per session ${fmt(sdS.tree_kill)}${treeKillOf(raw.shutdown)}`,
    ratio: `pm2 takes ${fmtRatio(pm2VsUs)} the conductor's time`,
    target: "≥ 10× faster than pm2",
    met: pm2VsUs !== null && pm2VsUs.median >= 10,
  });

  const el = raw.eventLog;
  if (el) {
    const elOf = (w) => `${Math.round(median(el.rounds.map((r) => r[w])) / 1000)}k lines/s`;
    rows.push({
      figure: `event log (${el.what})`,
      conductor: elOf("conductor"),
      pm2: "—",
      floor: `same bytes, writeSync per line ${elOf("write_per_line")}; ${el.batch} lines a write ${elOf("write_batched")}`,
      ratio: `${fmtRatio(ratio(el.rounds, "conductor", "write_per_line", (v) => v))} of writeSync per line`,
      target: "the figure in src/event-log.ts comes from here",
      met: null,
    });
  }
  return rows;
}

export function table(results) {
  const { machine, when, durationS } = results;
  const head = `One run of \`npm run bench\`, ${when}, ${durationS} s; ${machine.cpus} CPUs, Node ${machine.node}, load average ${machine.loadavgAtStart.toFixed(1)} at start, ${machine.loadavgAtEnd.toFixed(1)} at end.\n`;
  const verdict = (m) => (m === null ? "—" : m ? "met" : "**missed**");
  const lines = [
    "| figure | conductor | pm2 | floor | ratio | target | verdict |",
    "|---|---|---|---|---|---|---|",
    ...results.summary.map(
      (r) => `| ${r.figure} | ${r.conductor} | ${r.pm2} | ${r.floor} | ${r.ratio} | ${r.target} | ${verdict(r.met)} |`,
    ),
  ];
  return `${head}\n${lines.join("\n")}\n`;
}
