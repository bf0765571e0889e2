import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { TransportCommand, TransportEvent } from "../machines/child-run.types.js";
import { createProcessReaper } from "../actors/process-reaper.js";
import { createPtyTransport } from "../actors/pty-transport.js";
import { hostActor } from "./helpers/host-actor.js";

const tmp = mkdtempSync(join(tmpdir(), "pty-transport-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let runNo = 0;

/** The pty transport alone, invoked by a parent that records its reports and sends only what a test says. */
function startTransport(argv: string[]) {
  const dir = join(tmp, `run${++runNo}`);
  const child = {
    sessionId: "t1",
    generation: 1,
    spec: { argv },
    outPath: join(dir, "out.log"),
    errPath: join(dir, "err.log"),
  };
  const host = hostActor<TransportEvent>("transport", createPtyTransport({ reaper: createProcessReaper() }), {
    child,
  });
  const { events, actor, listeners: waiters } = host;
  const send = (cmd: TransportCommand) => host.send(cmd);
  // A generous safety net, not a timing: the test waits for the transport's own reports.
  const until = (what: () => boolean, label: string, ms = 45_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${label}: not within ${ms} ms; got ${types()}`)), ms);
      const check = () => {
        if (!what()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
    });
  const types = () => events.map((e) => e.type);
  const count = (type: TransportEvent["type"]) => events.filter((e) => e.type === type).length;
  return { child, events, send, until, types, count, actor };
}

const errText = (path: string) => (existsSync(path) ? readFileSync(path, "utf8") : "");

describe.runIf(process.platform === "linux")("pty transport", () => {
  it("drains at the marker on its own: the log is complete and closed before the chart asks (DRAIN once)", async () => {
    const t = startTransport(["/bin/sh", "-c", "printf 'last words\\n'; exit 4"]);
    await t.until(() => t.count("RUN.MARKER") === 1, "RUN.MARKER");
    expect(t.events.find((e) => e.type === "RUN.MARKER")).toMatchObject({ exit: { exitCode: 4, signal: null } });
    // No DRAIN was sent: the drain began at the marker and writes its line once the log is closed.
    for (let i = 0; i < 900 && !/exit: code=4 signal=null marker=true/.test(errText(t.child.errPath)); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(errText(t.child.errPath)).toMatch(/exit: code=4 signal=null marker=true/);
    expect(readFileSync(t.child.outPath, "utf8")).toBe("last words\r\n");
    // The chart's DRAIN finds the same drain: one DRAINED, with the output the marker proved complete.
    t.send({ type: "DRAIN", exit: { exitCode: 4, signal: null } });
    t.send({ type: "DRAIN", exit: { exitCode: 4, signal: null } });
    await t.until(() => t.count("RUN.DRAINED") === 2, "two RUN.DRAINED");
    const drained = t.events.filter((e) => e.type === "RUN.DRAINED");
    expect(drained.map((e) => (e as { recentOutput: string }).recentOutput.trim())).toEqual([
      "last words",
      "last words",
    ]);
    expect(errText(t.child.errPath).match(/exit: code=/g)).toHaveLength(1);
    t.send({ type: "ACK" });
    await t.until(() => t.count("RUN.EXITED") === 1, "RUN.EXITED");
    t.send({ type: "REAP", graceMs: 1000 });
    await t.until(() => t.count("RUN.REAPED") === 1, "RUN.REAPED");
    t.send({ type: "CLOSE" });
    await t.until(() => t.count("RUN.CLOSED") === 1, "RUN.CLOSED");
    t.actor.stop();
  });

  /*
   * Why the marker stays the proof, not the master's EIO: on this kernel (6.18) a master read after every
   * slave fd is closed returned only the 4095 bytes already in the line discipline, then EIO; the rest,
   * still in the pty's flip buffer, was gone (30 runs of 3–7 KB written by a child that exited before
   * the first read: 21 lost bytes). Here the reader is blocked until the agent has exited.
   */
  it("an agent that writes 6 KB and exits while the conductor's loop is blocked: every byte is logged", async () => {
    // 6 KB: more than the line discipline holds (4095), less than the pty takes unread (8–16 KB here).
    const go = join(tmp, `go${runNo + 1}`);
    const agent = `while [ ! -e '${go}' ]; do sleep 0.01; done; head -c 6000 /dev/zero | tr '\\0' x; exit 0`;
    const t = startTransport(["/bin/sh", "-c", agent]);
    await t.until(() => t.count("RUN.SPAWNED") === 1, "RUN.SPAWNED");
    const pid = (t.events.find((e) => e.type === "RUN.SPAWNED") as { pid: number }).pid;
    // The loop is held (no read of the master) from before the agent writes until the shim has reaped it:
    // the shim's children file lists the agent while it runs. Each wait is bounded by a generous safety net.
    const children = () => readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    const nap = new Int32Array(new SharedArrayBuffer(4));
    // The reading that saw it, not a second one: once reaped, the shim may fork again (its marker).
    const spinUntil = (done: () => boolean) => {
      for (let i = 0; i < 3000; i++) {
        if (done()) return true;
        Atomics.wait(nap, 0, 0, 10);
      }
      return done();
    };
    expect(spinUntil(() => children() !== "")).toBe(true);
    writeFileSync(go, "");
    expect(spinUntil(() => children() === "")).toBe(true);
    await t.until(() => t.count("RUN.MARKER") === 1, "RUN.MARKER");
    t.send({ type: "DRAIN", exit: { exitCode: 0, signal: null } });
    await t.until(() => t.count("RUN.DRAINED") === 1, "RUN.DRAINED");
    expect(readFileSync(t.child.outPath, "utf8")).toBe("x".repeat(6000));
    t.send({ type: "ACK" });
    await t.until(() => t.count("RUN.EXITED") === 1, "RUN.EXITED");
    t.send({ type: "CLOSE" });
    await t.until(() => t.count("RUN.CLOSED") === 1, "RUN.CLOSED");
    t.actor.stop();
  });
});
