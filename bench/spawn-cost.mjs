// What one spawn costs the spawning process's JS thread, side by side in one run: node-pty.spawn
// (forkpty on this thread, what the conductor did before the spawn helper), child_process.spawn
// (uv_spawn: fork, then wait for the child's exec), and the conductor's spawn helper (openpty here,
// the fork in the helper: actors/spawn-helper.ts). The process's RSS is padded to RSS_MB first
// (fork copies its page tables). SPAWNS of `/bin/true` per method, each waited for before the next;
// the synchronous part of the call is what blocks the loop. Minor page faults per spawn show the
// rest of a fork's price: after it every page this process writes faults once (copy-on-write).
import { spawn } from "node:child_process";
import { closeSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { emit, stats } from "./lib.mjs";

const N = Number(process.env.SPAWNS ?? 20);
const RSS_MB = Number(process.env.RSS_MB ?? 80);
const pty = createRequire(import.meta.url)("node-pty");
const { SpawnHelper } = await import("../dist/actors/spawn-helper.js");
const { ptyNative } = await import("../dist/actors/spawn-pty-term.js");

// Live JS objects, like a conductor's heap, in chunks of ~1 MiB of touched pages.
const pad = [];
while (process.memoryUsage().rss < RSS_MB * 2 ** 20) pad.push(Array.from({ length: 2 ** 17 }, (_, i) => i + 0.5));
// Writes every page of the padding, as a GC or a busy heap would after a fork.
const touch = () => {
  for (const a of pad) for (let i = 0; i < a.length; i += 512) a[i] += 1;
};

async function time(label, once) {
  const blocks = [];
  const faults = [];
  for (let i = 0; i < N; i++) {
    touch();
    const t0 = performance.now();
    const done = once();
    blocks.push(performance.now() - t0);
    await done;
    const f0 = process.resourceUsage().minorPageFault;
    touch();
    faults.push(process.resourceUsage().minorPageFault - f0);
  }
  return [label, { block: stats(blocks), faultsAfter: stats(faults) }];
}

const helper = new SpawnHelper({ setsid: "/usr/bin/setsid" });
helper.start();
const rows = [
  await time("node-pty.spawn", () => {
    const p = pty.spawn("/bin/true", [], { cols: 80, rows: 24 });
    return new Promise((r) => p.onExit(r));
  }),
  await time("child_process.spawn", () => {
    const p = spawn("/bin/true", [], { stdio: "ignore" });
    return new Promise((r) => p.once("exit", r));
  }),
  await time("spawn helper (openpty + request)", () => {
    const { master, slave, pty: tty } = ptyNative().open(80, 24);
    closeSync(slave);
    const env = { PATH: "/usr/bin:/bin" };
    return new Promise((r) => {
      helper.spawn({ tty, file: "/bin/true", args: [], cwd: "/", env }, () => r(closeSync(master)));
    });
  }),
];
helper.stop();
emit({
  figure: "spawn-cost",
  rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
  load: Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]),
  spawns: N,
  ...Object.fromEntries(rows),
});
process.exit(0);
