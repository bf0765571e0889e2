// Where the supervisor's memory goes (issue 13: 500 sessions ≤ 120 MB RSS). One process, four stages:
// bare node, after importing dist/src/index.js, after 1 session, after SESSIONS (default 500) steady
// (each child prints a line every EVERY_MS, the same perl ticker as bench/scale.mjs). At each stage:
// RSS, heapTotal/heapUsed per V8 space (v8.getHeapSpaceStatistics), external/arrayBuffers, and RSS by
// mapping from /proc/self/smaps (anonymous, [heap], the node binary, each .so, files).
// SNAPSHOT=dir also writes a heap snapshot at 1 and at N sessions; then
// `node --max-old-space-size=4096 bench/memory-breakdown.mjs --diff a.heapsnapshot b.heapsnapshot`
// prints self size and count by constructor (b − a, per session) and, for the top ones, who holds them
// (retainer constructor + edge name), to attribute per-session objects.
// ALLOC=1 samples allocations (collected ones included) during the steady window and prints the
// bytes allocated per second by function and by file: what churns the young generation.
// ALLOC=promoted leaves out what the young generation collected: what is left is what outlived two
// scavenges (promoted to old space, where it waits for a mark-compact) or is still live at the end.
// IMPORTS=1 prints the RSS an import of each listed module costs alone (a fresh node per module).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";

const MB = 2 ** 20;
const mb = (b) => Math.round((b / MB) * 10) / 10;

/** RSS by mapping: anonymous memory (V8 heap, malloc arenas, node-pty buffers) vs. code and files. */
function smapsByMapping() {
  const out = new Map();
  let name = "";
  for (const line of readFileSync("/proc/self/smaps", "utf8").split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const path = head[1] ?? "";
      // A copy, not a slice: a sliced string would keep this whole smaps text alive in the stages.
      name = Buffer.from(
        path === "" ? "[anon]" : path.startsWith("[") ? path : (path.split("/").pop() ?? ""),
      ).toString();
      if (/\.node$/.test(name)) name = `native:${name}`;
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) out.set(name, (out.get(name) ?? 0) + Number(rss[1]) * 1024);
  }
  return out;
}

function stage(label) {
  const m = process.memoryUsage();
  const spaces = Object.fromEntries(
    v8.getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]),
  );
  return {
    label,
    rss: m.rss,
    heapTotal: m.heapTotal,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    spaces,
    smaps: smapsByMapping(),
  };
}

function printStages(stages) {
  const cols = stages.map((s) => s.label);
  const row = (name, f) => console.log(`${name.padEnd(34)}${stages.map((s) => String(f(s)).padStart(14)).join("")}`);
  console.log(`${"MB".padEnd(34)}${cols.map((c) => c.padStart(14)).join("")}`);
  row("RSS", (s) => mb(s.rss));
  row("heapTotal", (s) => mb(s.heapTotal));
  row("heapUsed", (s) => mb(s.heapUsed));
  row("external", (s) => mb(s.external));
  row("  of which arrayBuffers", (s) => mb(s.arrayBuffers));
  for (const space of Object.keys(stages[0].spaces))
    row(`  ${space} size/used`, (s) => `${mb(s.spaces[space]?.size ?? 0)}/${mb(s.spaces[space]?.used ?? 0)}`);
  const names = new Set(stages.flatMap((s) => [...s.smaps.keys()]));
  const big = [...names]
    .map((n) => [n, Math.max(...stages.map((s) => s.smaps.get(n) ?? 0))])
    .sort((a, b) => b[1] - a[1]);
  console.log("RSS by mapping (smaps)");
  let rest = stages.map(() => 0);
  for (const [n, max] of big) {
    if (max >= 0.5 * MB) row(`  ${n.slice(0, 32)}`, (s) => mb(s.smaps.get(n) ?? 0));
    else rest = rest.map((r, i) => r + (stages[i].smaps.get(n) ?? 0));
  }
  row("  (smaller mappings)", (s) => mb(rest[stages.indexOf(s)]));
}

/** A heap snapshot → per-constructor { count, self } and the nodes' retainers, for the diff. */
function summarise(file) {
  const snap = JSON.parse(readFileSync(file, "utf8"));
  const {
    node_fields: nf,
    edge_fields: ef,
    node_types: [nodeTypes],
    edge_types: [edgeTypes],
  } = snap.snapshot.meta;
  const N = nf.length;
  const E = ef.length;
  const [iType, iName, iSize, iEdges] = ["type", "name", "self_size", "edge_count"].map((f) => nf.indexOf(f));
  const [eType, eName, eTo] = ["type", "name_or_index", "to_node"].map((f) => ef.indexOf(f));
  const { nodes, edges, strings } = snap;
  const count = nodes.length / N;
  const key = (n) => {
    const t = nodeTypes[nodes[n * N + iType]];
    return t === "object" || t === "closure"
      ? `${t === "closure" ? "fn " : ""}${strings[nodes[n * N + iName]]}`
      : `(${t})`;
  };
  const by = new Map();
  const retainers = new Map();
  let e = 0;
  for (let n = 0; n < count; n++) {
    const k = key(n);
    const cur = by.get(k) ?? { count: 0, self: 0 };
    cur.count++;
    cur.self += nodes[n * N + iSize];
    by.set(k, cur);
    const parent = key(n);
    for (let j = 0; j < nodes[n * N + iEdges]; j++, e++) {
      const t = edgeTypes[edges[e * E + eType]];
      if (t === "weak") continue;
      const child = edges[e * E + eTo] / N;
      const ck = key(child);
      const en = t === "element" || t === "hidden" ? `[${t}]` : strings[edges[e * E + eName]];
      const r = retainers.get(ck) ?? new Map();
      const rk = `${parent}.${en}`;
      r.set(rk, (r.get(rk) ?? 0) + 1);
      retainers.set(ck, r);
    }
  }
  return { by, retainers };
}

function diff(a, b, sessions) {
  const A = summarise(a);
  const B = summarise(b);
  const rows = [...B.by].map(([k, v]) => {
    const o = A.by.get(k) ?? { count: 0, self: 0 };
    return { k, dCount: v.count - o.count, dSelf: v.self - o.self };
  });
  rows.sort((x, y) => y.dSelf - x.dSelf);
  const total = rows.reduce((s, r) => s + r.dSelf, 0);
  console.log(`self size b − a: ${mb(total)} MB, ${Math.round(total / sessions)} B per session (${sessions} sessions)`);
  console.log(
    `${"constructor".padEnd(44)}${"Δ MB".padStart(8)}${"Δ count".padStart(10)}${"B/session".padStart(11)}${"n/session".padStart(10)}`,
  );
  for (const r of rows.slice(0, 40)) {
    console.log(
      `${r.k.slice(0, 43).padEnd(44)}${String(mb(r.dSelf)).padStart(8)}${String(r.dCount).padStart(10)}${String(Math.round(r.dSelf / sessions)).padStart(11)}${(r.dCount / sessions).toFixed(1).padStart(10)}`,
    );
  }
  console.log("\nwho holds them (top retainer edges, b − a)");
  for (const r of rows.slice(0, 20)) {
    const rb = B.retainers.get(r.k) ?? new Map();
    const ra = A.retainers.get(r.k) ?? new Map();
    const top = [...rb]
      .map(([k, n]) => [k, n - (ra.get(k) ?? 0)])
      .filter(([, n]) => n > 0)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 5)
      .map(([k, n]) => `${k} ×${n}`);
    console.log(`  ${r.k.slice(0, 40)}: ${top.join("; ")}`);
  }
}

/** Allocation sampling over `ms` (inspector HeapProfiler, garbage included): top functions and files. */
async function sampleAllocations(ms, withYoung) {
  const { Session } = await import("node:inspector/promises");
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: withYoung,
  });
  await new Promise((r) => setTimeout(r, ms));
  const { profile } = await session.post("HeapProfiler.stopSampling");
  session.disconnect();
  const byFn = new Map();
  const byFile = new Map();
  const walk = (node) => {
    const f = node.callFrame;
    const file = f.url.replace(/^.*\/(dist|node_modules)\//, "$1/") || "(native)";
    const fnKey = `${f.functionName || "(anon)"} ${file}:${f.lineNumber + 1}`;
    byFn.set(fnKey, (byFn.get(fnKey) ?? 0) + node.selfSize);
    byFile.set(file, (byFile.get(file) ?? 0) + node.selfSize);
    for (const c of node.children) walk(c);
  };
  walk(profile.head);
  const total = [...byFile.values()].reduce((a, b) => a + b, 0);
  const what = withYoung ? "allocated" : "promoted or kept";
  console.log(`${what}: ${mb(total / (ms / 1000))} MB/s over ${ms / 1000} s (sampled)`);
  for (const [name, map] of [
    ["file", byFile],
    ["function", byFn],
  ]) {
    console.log(`by ${name} (KB/s)`);
    for (const [k, v] of [...map].sort((a, b) => b[1] - a[1]).slice(0, 25))
      console.log(`  ${String(Math.round(v / 1024 / (ms / 1000))).padStart(7)}  ${k}`);
  }
}

/** RSS a fresh node has after importing one module alone. */
function importCosts() {
  const root = new URL("..", import.meta.url);
  const mods = [
    "",
    "zod",
    "zod/mini",
    "xstate",
    "node-pty",
    "dist/src/schema/primitives.js",
    "dist/src/schema/session.js",
    "dist/src/schema/conductor.js",
    "dist/machines/session.machine.js",
    "dist/machines/conductor.machine.js",
    "dist/src/conductor.js",
    "dist/src/index.js",
  ];
  for (const m of mods) {
    const spec = m.startsWith("dist/") ? new URL(m, root).href : m;
    const code = `${m ? `await import(${JSON.stringify(spec)});` : ""}const u=process.memoryUsage();console.log(JSON.stringify([u.rss,u.heapUsed,u.heapTotal]))`;
    const [rss, used, total] = JSON.parse(
      execFileSync(process.execPath, ["--input-type=module", "-e", code], {
        encoding: "utf8",
        cwd: fileURLToPath(root),
      }),
    );
    console.log(`${(m || "(bare node)").padEnd(40)} RSS ${mb(rss)}  heapUsed ${mb(used)}  heapTotal ${mb(total)}`);
  }
}

if (process.argv[2] === "--diff") {
  diff(process.argv[3], process.argv[4], Number(process.env.SESSIONS ?? 500) - 1);
} else if (process.env.IMPORTS === "1") {
  importCosts();
} else {
  const { dist, sleep, tempLogs } = await import("./lib.mjs");
  const N = Number(process.env.SESSIONS ?? 500);
  const EVERY = Number(process.env.EVERY_MS ?? 1000);
  const STEADY_MS = Number(process.env.STEADY_MS ?? 10_000);
  const SNAP = process.env.SNAPSHOT;
  const probe = ["perl", fileURLToPath(new URL("./children/ticker.pl", import.meta.url)), String(EVERY)];
  const stages = [stage("bare node")];
  const { createConductor } = await import(dist);
  stages.push(stage("import"));
  const c = createConductor({ logsDir: tempLogs("memory"), handleSignals: false, enableMesh: false });
  const healthy = () => c.getSnapshot().filter((s) => s.state === "healthy").length;
  c.spawnSession({ id: "s0", agent: "command", command: probe });
  while (healthy() < 1) await sleep(50);
  await sleep(2 * EVERY);
  stages.push(stage("1 session"));
  if (SNAP) v8.writeHeapSnapshot(join(SNAP, "one.heapsnapshot"));
  for (let i = 1; i < N; i++) {
    c.spawnSession({ id: `s${i}`, agent: "command", command: probe });
    if (i % 10 === 9) await sleep(0);
  }
  while (healthy() < N) await sleep(100);
  // One RSS reading lands anywhere in V8's old-space cycle (fills to its limit, mark-compact, again):
  // sampled through the steady window, the trough is about the live heap, the peak about the limit.
  const samples = [];
  const sampler = setInterval(() => {
    const u = process.memoryUsage();
    samples.push([u.rss, u.heapUsed, u.heapTotal]);
  }, 250);
  if (process.env.ALLOC) await sampleAllocations(STEADY_MS, process.env.ALLOC !== "promoted");
  else await sleep(STEADY_MS);
  clearInterval(sampler);
  stages.push(stage(`${N} steady`));
  printStages(stages);
  const spread = (i) => {
    const v = samples.map((x) => x[i]).sort((a, b) => a - b);
    return `min ${mb(v[0])}  median ${mb(v[v.length >> 1])}  max ${mb(v[v.length - 1])}`;
  };
  console.log(
    `steady window, ${samples.length} samples: RSS ${spread(0)}; heapUsed ${spread(1)}; heapTotal ${spread(2)}`,
  );
  console.log(`load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
  if (SNAP) {
    v8.writeHeapSnapshot(join(SNAP, "many.heapsnapshot"));
    console.log(`snapshots in ${SNAP}: one.heapsnapshot, many.heapsnapshot`);
  }
  await c.shutdown("bench");
  process.exit(0);
}
