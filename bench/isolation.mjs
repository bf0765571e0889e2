// Pty master fds held per session child: 5 sessions of `sleep 300`, each agent's fd table read
// from /proc (fds pointing at /dev/ptmx are other sessions' masters). `node bench/isolation.mjs`.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { dist, report, sleep, tempLogs } from "./lib.mjs";

const { createConductor } = await import(dist);
const mark = randomBytes(8).toString("hex");
const c = createConductor({ logsDir: tempLogs("isolation"), graceMs: 200, handleSignals: false });
const rows = [];
for (let i = 0; i < 5; i++) {
  c.spawnSession({ id: `s${i}`, agent: "command", command: ["sleep", "300"], env: { CONDUCTOR_TEST_MARK: mark } });
  // One at a time, so "child #N" is well defined.
  let agent;
  for (let t = 0; t < 400 && !agent; t++, await sleep(25)) {
    agent = readdirSync("/proc").find((p) => {
      try {
        const env = readFileSync(`/proc/${p}/environ`, "latin1");
        const comm = readFileSync(`/proc/${p}/comm`, "latin1").trim();
        return comm === "sleep" && env.includes(`CONDUCTOR_TEST_MARK=${mark}`) && !rows.some((r) => r.pid === p);
      } catch {
        return false;
      }
    });
  }
  const fds = readdirSync(`/proc/${agent}/fd`);
  const masters = fds.filter((fd) => {
    try {
      return readlinkSync(`/proc/${agent}/fd/${fd}`).includes("ptmx");
    } catch {
      return false;
    }
  });
  rows.push({ pid: agent, fds: fds.length, masters: masters.length });
}
await c.shutdown("bench");
report("fds held by each session's agent (child #1..#5)", [
  ["open fds", rows.map((r) => r.fds).join(" ")],
  ["of which other sessions' pty masters", rows.map((r) => r.masters).join(" ")],
]);
