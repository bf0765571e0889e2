// Shared helpers for the benchmarks: they import the built package (run `npm run build` first).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const dist = new URL("../dist/src/index.js", import.meta.url).href;
export const tempLogs = (name) => mkdtempSync(join(tmpdir(), `conductor-bench-${name}-`));
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function median(values) {
  return percentile(values, 50);
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
