/**
 * Refusals of the host itself (a key it does not accept, a host key not in known_hosts, no tmux):
 * a spawn error before, restarted maxRestarts times in a blink against the host's cached refusal,
 * and a restart after the user fixed it still met that refusal (a field review). Now the session
 * is not restarted (failureMode `config`, the refusal as its error), and the user's restart tries
 * the host again. Real sshd on 127.0.0.1, real tmux, the facade.
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Conductor } from "../src/conductor.js";
import { readEventLog } from "../src/event-log.js";
import { haveRemoteTools, killTmuxServer, remoteConductor, startSshd, type TestSshd } from "./helpers/sshd.js";

const SOCKET = `cond-refusal-${process.pid}`;
let sshd: TestSshd;
let c: Conductor;
let strangerKey = "";
let emptyKnownHosts = "";

beforeAll(async () => {
  if (!haveRemoteTools) return;
  sshd = await startSshd();
  const dir = mkdtempSync(join(tmpdir(), "conductor-remote-refusal-"));
  strangerKey = join(dir, "stranger_key");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", strangerKey]);
  emptyKnownHosts = join(dir, "known_hosts_empty");
  writeFileSync(emptyKnownHosts, "");
  const base = {
    host: "127.0.0.1",
    port: sshd.port,
    user: sshd.user,
    identityFile: sshd.userKey,
    knownHosts: sshd.knownHosts,
  };
  const hosts = join(dir, "hosts.json");
  writeFileSync(
    hosts,
    JSON.stringify({
      hosts: {
        wrongkey: { ...base, identityFile: strangerKey },
        unknownkey: { ...base, knownHosts: emptyKnownHosts },
        notmux: { ...base, multiplexer: "psmux" },
      },
    }),
  );
  c = remoteConductor(sshd, SOCKET, { logsDir: join(dir, "logs"), hosts });
});

afterAll(async () => {
  await c?.shutdown("test_end");
  await killTmuxServer(SOCKET);
  await sshd?.stop();
});

const ended = (id: string) =>
  new Promise<"completed" | "dead">((r) => {
    c.on("completed", (e: { sessionId: string }) => e.sessionId === id && r("completed"));
    c.on("dead", (e: { sessionId: string }) => e.sessionId === id && r("dead"));
  });

async function refusedRun(id: string, host: string) {
  const end = ended(id);
  c.spawnSession({ id, agent: "command", command: ["/bin/sh", "-c", "echo ran"], remote: true, host, maxRestarts: 3 });
  expect(await end).toBe("dead");
  return c.getSnapshot().find((s) => s.id === id);
}

describe.runIf(haveRemoteTools)("a host that refuses the run", () => {
  it("a key it does not accept: dead at once, not restarted; the user's restart after the fix runs it", async () => {
    const s = await refusedRun("wk", "wrongkey");
    expect(s).toMatchObject({ restarts: 0, failureMode: "config", reason: "not_restartable:config" });
    expect(s?.lastError).toMatch(/authentication refused for .*check the key is in the user's authorized_keys/);
    // The user adds the key, then restarts the session: the host is tried again, not its old refusal.
    appendFileSync(join(sshd.dir, "authorized_keys"), readFileSync(`${strangerKey}.pub`));
    const again = ended("wk");
    await c.restartSession("wk");
    expect(await again).toBe("completed");
    const log = await readEventLog(c.eventLogPath);
    expect(log.filter((l) => l.event === "ssh.connecting" && l.host === "wrongkey")).toHaveLength(2);
  });

  it("a host key not in known_hosts: dead at once; restarted after the ssh-keyscan, it runs", async () => {
    const s = await refusedRun("uk", "unknownkey");
    expect(s).toMatchObject({ restarts: 0, failureMode: "config" });
    expect(s?.lastError).toMatch(/Host key of "unknownkey" .* is not in .*ssh-keyscan -p/);
    appendFileSync(emptyKnownHosts, `${sshd.knownHostsLine}\n`);
    const again = ended("uk");
    await c.restartSession("uk");
    expect(await again).toBe("completed");
  });

  it("no tmux on the host: dead at once, not restarted, saying so", async () => {
    const s = await refusedRun("nt", "notmux");
    expect(s).toMatchObject({ restarts: 0, failureMode: "config" });
    expect(s?.lastError).toMatch(/tmux control mode failed on notmux: .*psmux.*not found/);
  });
});
