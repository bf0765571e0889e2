// Event log appends: lines/s of the conductor's log (one writeSync per line, so a crash of the
// conductor loses nothing appended) against, in the same round, the floor of its own design (the same
// bytes, pre-serialised, one writeSync each) and batched writes (the same bytes, BATCH lines a write,
// what a log that buffers would reach and what it would lose on a kill).
import { closeSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { dist, emit, tempLogs } from "./lib.mjs";

const { createEventLog } = await import(new URL("event-log.js", dist).href);
const LINES = Number(process.env.LINES ?? 50_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const BATCH = 256;

// The shape of the conductor's most frequent line (session.state_change), as versionedAppend passes it.
const data = (i) => ({ v: 2, session: `s${i % 100}`, from: "healthy", to: "stalled", reason: "L1_stall", restarts: 0 });

function linesPerS(body) {
  const t0 = performance.now();
  body();
  return Math.round((LINES / (performance.now() - t0)) * 1000);
}

async function conductor() {
  const log = createEventLog(join(tempLogs("elog"), "events.jsonl"));
  const rate = linesPerS(() => {
    for (let i = 0; i < LINES; i++) log.append("session.state_change", data(i));
  });
  await log.close();
  return rate;
}

/** The same lines, serialised before the clock starts. */
function prepared() {
  const ts = new Date().toISOString();
  return Array.from({ length: LINES }, (_, i) =>
    Buffer.from(`${JSON.stringify({ seq: i + 1, ts, event: "session.state_change", ...data(i) })}\n`),
  );
}

function floor(lines, batch) {
  const fd = openSync(join(tempLogs("elog-floor"), "events.jsonl"), "a");
  const rate = linesPerS(() => {
    for (let i = 0; i < lines.length; i += batch) {
      const buf = batch === 1 ? lines[i] : Buffer.concat(lines.slice(i, i + batch));
      writeSync(fd, buf, 0, buf.length);
    }
  });
  closeSync(fd);
  return rate;
}

const rounds = [];
for (let round = 0; round < ROUNDS; round++) {
  const lines = prepared();
  rounds.push({
    conductor: await conductor(),
    write_per_line: floor(lines, 1),
    write_batched: floor(lines, BATCH),
  });
}
emit({ figure: "event_log", unit: "lines/s", what: `${LINES} appends of a state-change line`, batch: BATCH, rounds });
