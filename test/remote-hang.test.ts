/**
 * Seed defect, regression: the seed reached remote hosts with synchronous `ssh`, so a host that
 * hangs froze the whole process (every other session's supervision with it). Here the host accepts
 * the TCP connection and never speaks SSH: for as long as that lasts, the conductor's event loop
 * keeps turning, and the session reports what it waits for instead of hanging silently.
 */
import { mkdtempSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Conductor, createConductor } from "../src/conductor.js";
import { haveRemoteTools, startSshd, type TestSshd } from "./helpers/sshd.js";

/** How long the test watches the hung handshake (the host's own timeout is longer: 10 s). */
const HANG_MS = 3_000;

let sshd: TestSshd;
let mute: Server;
const held: Socket[] = [];

beforeAll(async () => {
  if (!haveRemoteTools) return;
  sshd = await startSshd(); // for its keys and known_hosts: the session dials the mute port instead
  mute = createServer((s) => void held.push(s));
  await new Promise<void>((r) => mute.listen(0, "127.0.0.1", r));
});

afterAll(async () => {
  for (const s of held) s.destroy();
  await new Promise((r) => mute?.close(r));
  await sshd?.stop();
});

describe.runIf(haveRemoteTools)("a remote host that accepts and never answers", () => {
  let c: Conductor | undefined;
  afterAll(async () => {
    await c?.shutdown("test_end");
  });

  it("the event loop keeps turning while the handshake hangs; the session waits in starting", async () => {
    const port = (mute.address() as { port: number }).port;
    c = createConductor({
      logsDir: mkdtempSync(join(tmpdir(), "remote-hang-")),
      handleSignals: false,
      hosts: sshd.hostsFile("box", { port }),
      graceMs: 500,
    });
    const gaps: number[] = [];
    let last = performance.now();
    const tick = setInterval(() => {
      const now = performance.now();
      gaps.push(now - last);
      last = now;
    }, 20);
    const from = performance.now();
    c.spawnSession({ id: "hung", agent: "command", command: ["/bin/sh", "-c", "echo hi"], remote: true, host: "box" });
    while (held.length === 0) await new Promise((r) => setTimeout(r, 20)); // the host took the connection
    await new Promise((r) => setTimeout(r, HANG_MS));
    clearInterval(tick);
    const watched = performance.now() - from;
    // A synchronous connect would show one gap as long as the whole hang, and no ticks inside it.
    expect(Math.max(...gaps)).toBeLessThan(watched / 3);
    expect(gaps.length).toBeGreaterThan(HANG_MS / 20 / 10);
    expect(c.getSnapshot().find((s) => s.id === "hung")).toMatchObject({ state: "starting", pid: null });
  });
});
