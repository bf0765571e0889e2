// Shared helpers for the benchmarks: they import the built package (run `npm run build` first).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const dist = new URL("../dist/src/index.js", import.meta.url).href;
/** Log directories of this scenario: removed when its process exits (`KEEP_LOGS=1` keeps them). A throughput round alone writes 128 MiB. */
const made = [];
export const tempLogs = (name) => {
  const dir = mkdtempSync(join(tmpdir(), `conductor-bench-${name}-`));
  if (made.length === 0 && process.env.KEEP_LOGS !== "1")
    process.on("exit", () => {
      for (const d of made) rmSync(d, { recursive: true, force: true });
    });
  made.push(dir);
  return dir;
};
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** The middle value; of an even count, the mean of the two middle ones (of two rounds: not the higher). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Resolves with the payload of the first `event` for which `pred` holds. */
export function once(conductor, event, pred = () => true) {
  return new Promise((resolve) => {
    const fn = (e) => {
      if (!pred(e)) return;
      conductor.off(event, fn);
      resolve(e);
    };
    conductor.on(event, fn);
  });
}

export function report(title, rows) {
  console.log(`\n## ${title}`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(58)} ${v}`);
}

/** The same clock the probe children stamp with (ms since the epoch, sub-ms precision). */
export const wallNow = () => performance.timeOrigin + performance.now();

/** min / median / p99 of a sample, rounded for the report. */
export function stats(values) {
  if (values.length === 0) return null;
  const r = (v) => Math.round(v * 100) / 100;
  return { n: values.length, min: r(Math.min(...values)), median: r(median(values)), p99: r(percentile(values, 99)) };
}

/** Stamps `<letter><ms>` printed by the probe children, in order. */
export function stamps(text, letter) {
  return [...text.matchAll(new RegExp(`^${letter}([\\d.]+)`, "gm"))].map((m) => Number(m[1]));
}

/** Pairs each exit stamp with the next run's first stamp: the restart gap as a child sees it. */
export function restartGaps(text) {
  const events = [...text.matchAll(/^([FX])([\d.]+)/gm)].map((m) => ({ k: m[1], t: Number(m[2]) }));
  const gaps = [];
  for (let i = 0; i + 1 < events.length; i++) {
    if (events[i].k === "X" && events[i + 1].k === "F") gaps.push(events[i + 1].t - events[i].t);
  }
  return gaps;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
export function procCpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

export const child = (name) => fileURLToPath(new URL(`./children/${name}.mjs`, import.meta.url));

/** perl is there: probes that must start and exit in a few ms use it (a Node child's start and exit cost 10s of ms). */
export const hasPerl = (() => {
  try {
    execFileSync("perl", ["-e", "1"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** argv of a probe child: bench/children/<name>.pl under perl when there is one, else <name>.mjs under Node. */
export const probeArgv = (name, ...args) =>
  hasPerl
    ? ["perl", fileURLToPath(new URL(`./children/${name}.pl`, import.meta.url)), ...args]
    : [process.execPath, child(name), ...args];

/** Prints the scenario's result for bench/run.mjs (the last stdout line is the JSON). */
export function emit(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
