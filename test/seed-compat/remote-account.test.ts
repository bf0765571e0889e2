/**
 * A remote session with a leased account (the seed's host-bound accounts, `lease({ provider, remote:
 * true })`), through `spawnSession({ remote: true, host, account })` against a real sshd on 127.0.0.1
 * and a private tmux server: each run leases an account bound to the session's host; its env (or
 * codex profile) reaches the remote command; the secret never reaches the event log or err log.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Conductor, ConductorError, createConductor, readEventLog } from "../../src/index.js";
import { haveRemoteTools, killTmuxServer, startSshd, type TestSshd } from "../helpers/sshd.js";

const SOCKET = `seed-acct-${process.pid}`;
const haveTools = haveRemoteTools;

// A fresh secret per run, resolved from the environment as `${VAR}` in the accounts file.
const SECRET = `sk-remote-${randomBytes(6).toString("hex")}`;
const KEY_VAR = `SEED_REMOTE_KEY_${process.pid}`;
const accounts = {
  providers: {
    codex: [
      { id: "box-env", mode: "env", env: { OPENAI_API_KEY: `\${${KEY_VAR}}` }, host: "box", tier: "pro" },
      { id: "box-prof", mode: "profile", profile: "remote-work", host: "box", tier: "free" },
      { id: "elsewhere", mode: "env", env: { OPENAI_API_KEY: "x" }, host: "other-host" },
      { id: "local", mode: "env", env: { OPENAI_API_KEY: "local-key" } },
    ],
  },
};

let sshd: TestSshd;
let c: Conductor;
let logsDir: string;

beforeAll(async () => {
  if (!haveTools) return;
  process.env[KEY_VAR] = SECRET;
  sshd = await startSshd();
  logsDir = mkdtempSync(join(tmpdir(), "seed-remote-account-"));
  c = createConductor({
    logsDir,
    handleSignals: false,
    hosts: sshd.hostsFile("box"),
    tmuxSocketName: SOCKET,
    accounts,
    graceMs: 500,
  });
});

afterAll(async () => {
  await c?.shutdown("test_end");
  await killTmuxServer(SOCKET);
  await sshd?.stop();
  delete process.env[KEY_VAR];
});

const final = (id: string) =>
  new Promise<string>((resolve) => {
    const on = (state: string) => (e: { sessionId: string }) => e.sessionId === id && resolve(state);
    c.on("completed", on("completed"));
    c.on("dead", on("dead"));
  });
const snap = (id: string) => c.getSnapshot().find((s) => s.id === id);

describe.runIf(haveTools)("remote session with a leased account", () => {
  it("env mode: the host's account is leased, its variables reach the remote command, never the logs", async () => {
    const done = final("env");
    const accounts: string[] = [];
    c.on("account", (e) => e.sessionId === "env" && accounts.push(e.accountId));
    c.spawnSession({
      id: "env",
      agent: "command",
      command: ["/bin/sh", "-c", 'echo "key=$OPENAI_API_KEY account=$CONDUCTOR_ACCOUNT"'],
      remote: true,
      host: "box",
      account: "codex",
    });
    expect(await done).toBe("completed");
    expect(accounts).toEqual(["box-env"]); // best tier of the accounts bound to "box"
    expect(snap("env")).toMatchObject({ remote: true, host: "box", account: null }); // released when final
    // The agent printed what it got: the secret reached the remote command.
    expect(readFileSync(snap("env")?.outPath ?? "", "utf8")).toContain(`key=${SECRET} account=codex/box-env`);
    // Nothing the conductor wrote itself holds it: the event log, the err log, any other file.
    const files = readdirSync(logsDir, { recursive: true, encoding: "utf8" })
      .map((f) => join(logsDir, f))
      .filter((f) => statSync(f).isFile() && !f.endsWith(".out.log"));
    expect(files).toContain(c.eventLogPath);
    for (const f of files) expect(readFileSync(f, "utf8"), f).not.toContain(SECRET);
    const log = await readEventLog(c.eventLogPath);
    expect(log.some((l) => l.event === "session.account" && l.accountId === "box-env")).toBe(true);
  });

  it("profile mode (codex): the leased --profile on the remote command line", async () => {
    // box-env is free again (released ok); lease it first so the profile account is the one left.
    const hold = final("hold");
    // The lease is granted inside spawnSession: listen first.
    const holding = new Promise<void>((resolve) => c.on("account", (e) => e.sessionId === "hold" && resolve()));
    c.spawnSession({
      id: "hold",
      agent: "command",
      command: ["/bin/sh", "-c", "sleep 30"],
      remote: true,
      host: "box",
      account: "codex",
    });
    await holding;
    const done = final("prof");
    const leased = new Promise<string>((resolve) =>
      c.on("account", (e) => e.sessionId === "prof" && resolve(e.accountId)),
    );
    c.spawnSession({
      id: "prof",
      agent: "codex",
      prompt: "hi",
      bin: "/bin/echo",
      remote: true,
      host: "box",
      account: true,
    });
    expect(await leased).toBe("box-prof");
    expect(await done, JSON.stringify(snap("prof"))).toBe("completed");
    const printed = readFileSync(snap("prof")?.outPath ?? "", "utf8");
    expect(printed).toMatch(/exec --profile remote-work /);
    await c.killSession("hold", "test");
    await hold;
  });

  it("an account bound to another host is never leased: refused at spawnSession, naming the accounts there are", async () => {
    const other = createConductor({
      logsDir: mkdtempSync(join(tmpdir(), "seed-remote-account-")),
      handleSignals: false,
      hosts: sshd.hostsFile("box"),
      tmuxSocketName: SOCKET,
      accounts: { providers: { codex: [accounts.providers.codex[2] as never, accounts.providers.codex[3] as never] } },
      leaseWaitMs: 1_000,
      maxRestarts: 0,
    });
    try {
      // It waited out leaseWaitMs (10 min by default), then died no_account; now the call says why.
      expect(() =>
        other.spawnSession({
          id: "nohost",
          agent: "command",
          command: ["true"],
          remote: true,
          host: "box",
          account: "codex",
        }),
      ).toThrow(
        /session "nohost" needs a codex account bound to host "box", but the accounts configure none \(they have: codex on other-host/,
      );
      expect(other.getSnapshot()).toEqual([]);
    } finally {
      await other.shutdown("test_end");
    }
  });

  it("a host-bound auth-mode account is refused when the accounts file is read", () => {
    let error: unknown;
    try {
      createConductor({
        logsDir: mkdtempSync(join(tmpdir(), "seed-remote-account-")),
        handleSignals: false,
        accounts: { providers: { codex: [{ id: "a", mode: "auth", authFile: "/dev/null", host: "box" }] } },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConductorError);
    expect(String((error as Error).message)).toMatch(/host-bound account cannot be "mode": "auth"/);
  });
});
