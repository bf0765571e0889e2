// Memory over many spawn+kill cycles: with every finished session kept (the seed's only choice)
// and with each released by removeSession. Both rounds run side by side in one process, one after
// the other, with a GC before each reading (run with --expose-gc for stable figures).
import { dist, report, tempLogs } from "./lib.mjs";

const { createConductor } = await import(dist);
const CYCLES = Number(process.env.CYCLES ?? 1000);
const BATCH = Number(process.env.BATCH ?? 20);
const mb = () => {
  globalThis.gc?.();
  return process.memoryUsage().rss / 2 ** 20;
};

async function round(release) {
  const c = createConductor({ logsDir: tempLogs("churn"), graceMs: 1_000, handleSignals: false, enableMesh: false });
  const before = mb();
  for (let i = 0; i < CYCLES; i += BATCH) {
    const ids = [];
    for (let j = i; j < Math.min(CYCLES, i + BATCH); j++) {
      ids.push(c.spawnSession({ id: `s${j}`, agent: "command", command: ["/bin/sh", "-c", "sleep 30"] }));
    }
    await Promise.all(ids.map((id) => c.killSession(id)));
    if (release) for (const id of ids) c.removeSession(id);
  }
  const after = mb();
  const kept = c.sessionCount;
  await c.shutdown("bench");
  return { before, after, kept };
}

const rows = [];
for (const release of [false, true]) {
  const t = Date.now();
  const r = await round(release);
  rows.push([
    `${CYCLES} spawn+kill, ${release ? "removeSession after each kill" : "finished sessions kept"}`,
    `RSS ${r.before.toFixed(0)} → ${r.after.toFixed(0)} MB (+${(r.after - r.before).toFixed(0)}), ` +
      `${r.kept} kept, ${((Date.now() - t) / 1000).toFixed(0)} s`,
  ]);
}
report("Session churn (RSS after GC)", rows);
