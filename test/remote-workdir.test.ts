/**
 * A remote session's workdir is a directory on its host. tmux's `new-session -c` falls back to
 * the home directory when it is missing there, so the agent ran in the wrong tree as if all were
 * well (a field review); and a relative one was resolved against this machine's directory. Real
 * sshd on 127.0.0.1, real tmux, the facade.
 */
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Conductor } from "../src/conductor.js";
import { haveRemoteTools, killTmuxServer, remoteConductor, startSshd, type TestSshd } from "./helpers/sshd.js";

const SOCKET = `cond-workdir-${process.pid}`;
let sshd: TestSshd;
let c: Conductor;
let logsDir = "";

beforeAll(async () => {
  if (haveRemoteTools) sshd = await startSshd();
});

afterEach(async () => {
  await c?.shutdown("test_end");
});

afterAll(async () => {
  await killTmuxServer(SOCKET);
  await sshd?.stop();
});

function conductor() {
  logsDir = mkdtempSync(join(tmpdir(), "conductor-remote-workdir-"));
  c = remoteConductor(sshd, SOCKET, { logsDir });
  return c;
}

const ended = (id: string) =>
  new Promise<string>((r) => {
    c.on("completed", (e: { sessionId: string }) => e.sessionId === id && r("completed"));
    c.on("dead", (e: { sessionId: string }) => e.sessionId === id && r("dead"));
  });

describe.runIf(haveRemoteTools)("a remote session's workdir", () => {
  it("missing on the host: the agent never runs (not in the home directory), the run says which and where", async () => {
    conductor();
    const missing = join(sshd.dir, "no-such-tree");
    const end = ended("nowd");
    c.spawnSession({
      id: "nowd",
      agent: "command",
      command: ["/bin/sh", "-c", "echo RAN-IN $(pwd)"],
      remote: true,
      host: "box",
      workdir: missing,
    });
    // A config failure: dead after this one run, its restarts not spent on it.
    expect(await end).toBe("dead");
    expect(c.getSnapshot().find((s) => s.id === "nowd")).toMatchObject({ failureMode: "config", restarts: 0 });
    const out = readFileSync(join(logsDir, "nowd.out.log"), "utf8");
    expect(out).not.toContain("RAN-IN");
    expect(out).toContain(`conductor: workdir ${missing} does not exist on host box`);
    expect(c.getSnapshot().find((s) => s.id === "nowd")?.exit?.exitCode).toBe(1);
  });

  it("relative: relative to the remote user's home, not to this process's directory", async () => {
    conductor();
    mkdirSync(join(sshd.dir, "home", "proj"), { recursive: true });
    const end = ended("relwd");
    c.spawnSession({
      id: "relwd",
      agent: "command",
      command: ["/bin/sh", "-c", 'echo "RAN-IN $(pwd -P)"'],
      remote: true,
      host: "box",
      workdir: "proj",
    });
    expect(await end).toBe("completed");
    const out = readFileSync(join(logsDir, "relwd.out.log"), "utf8");
    expect(out).toContain(`RAN-IN ${join(sshd.dir, "home", "proj")}`);
  });
});
