// Output log cost: the same writes (pty-sized 4 KiB chunks, MIB MiB) through a plain append stream
// and through the rotating one (never rotating: the common path; and rotating every 8 MiB), side by
// side in one run, interleaved over ROUNDS. Figures: CPU seconds per MiB and the ratio to plain.
import { createWriteStream, rmSync } from "node:fs";
import { join } from "node:path";
import { report, tempLogs } from "./lib.mjs";

const { RotatingWriteStream } = await import(new URL("../dist/actors/log-rotation.js", import.meta.url).href);
const MIB = Number(process.env.MIB ?? 256);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const chunk = Buffer.alloc(4096, 0x61);

async function run(open) {
  const dir = tempLogs("outlog");
  const s = open(join(dir, "s.out.log"));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < (MIB * 1024 * 1024) / chunk.length; i++) {
    if (!s.write(chunk)) await new Promise((r) => s.once("drain", r));
  }
  await new Promise((r) => s.end(r));
  const cpu = process.cpuUsage(cpu0);
  const wallS = (performance.now() - t0) / 1000;
  rmSync(dir, { recursive: true, force: true });
  return { cpuSPerMib: (cpu.user + cpu.system) / 1e6 / MIB, mibPerS: MIB / wallS };
}

const contenders = {
  plain: (f) => createWriteStream(f, { flags: "a", mode: 0o600 }),
  "rotating, no rotation": (f) => new RotatingWriteStream(f, { maxBytes: 1024 ** 4, keep: 3 }, 0o600),
  "rotating every 8 MiB, keep 100 (nothing deleted)": (f) =>
    new RotatingWriteStream(f, { maxBytes: 8 * 1024 ** 2, keep: 100 }, 0o600),
  // Here each rotation also deletes an 8 MiB file (the kernel frees its pages: system CPU).
  "rotating every 8 MiB, keep 3": (f) => new RotatingWriteStream(f, { maxBytes: 8 * 1024 ** 2, keep: 3 }, 0o600),
};
const results = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
for (let r = 0; r < ROUNDS; r++) for (const [k, open] of Object.entries(contenders)) results[k].push(await run(open));
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = med(results.plain.map((x) => x.cpuSPerMib));
report(
  `output log writes: ${MIB} MiB in 4 KiB chunks, median of ${ROUNDS} interleaved rounds`,
  Object.entries(results).map(([k, xs]) => {
    const cpu = med(xs.map((x) => x.cpuSPerMib));
    const mibs = med(xs.map((x) => x.mibPerS));
    return [k, `${(cpu * 1000).toFixed(2)} ms CPU/MiB (${(cpu / base).toFixed(2)}× plain), ${mibs.toFixed(0)} MiB/s`];
  }),
);
