/**
 * Machine-wide account claims (src/account-claims.ts) on real lock files: another process's claim
 * is respected while it lives and taken over once it is gone; the broker runtime's credential home
 * takes the claim before it copies a login and gives it up only after its dispose.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createActor, setup } from "xstate";
import type { LeaseEvent } from "../machines/session.lease.js";
import { claimFileName, createAccountClaims } from "../src/account-claims.js";
import { createBrokerRuntime } from "../src/broker-runtime.js";
import { processStartTime } from "../actors/process-identity.js";

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "claims-"));
  dirs.push(d);
  return d;
};
const owner = { sessionId: "s1", leaseId: "codex/work#1" };

/** A claim file as another live process would have written it. */
function claimedBy(stateFile: string, pid: number, provider = "codex", accountId = "work") {
  mkdirSync(`${stateFile}.claims`, { recursive: true });
  const file = join(`${stateFile}.claims`, claimFileName(provider, accountId));
  const note = { sessionId: "theirs", leaseId: "codex/work#9" };
  writeFileSync(file, JSON.stringify({ pid, start: processStartTime(pid), at: Date.now(), nonce: "n", note }));
  return file;
}

describe("account claims", () => {
  it("one holder at a time in a process; released, the next claim succeeds", async () => {
    const claims = createAccountClaims(join(tempDir(), "state.json"));
    const first = await claims.claim("codex", "work", owner);
    expect(first.claimed).toBe(true);
    const second = await claims.claim("codex", "work", { sessionId: "s2", leaseId: "codex/work#2" });
    expect(second).toMatchObject({ claimed: false, holder: { pid: process.pid } });
    if (second.claimed) throw new Error("unreachable");
    expect(second.message).toMatch(
      /^account codex\/work is in use by another conductor \(process \d+, session s1, since /,
    );
    // Other accounts and providers are not affected.
    expect((await claims.claim("codex", "other", owner)).claimed).toBe(true);
    expect((await claims.claim("gemini", "work", owner)).claimed).toBe(true);
    if (first.claimed) await first.release();
    expect((await claims.claim("codex", "work", owner)).claimed).toBe(true);
  });

  it("a live process's claim holds; once that process is gone it is taken over", async () => {
    const stateFile = join(tempDir(), "state.json");
    const holder = spawn("sleep", ["30"], { stdio: "ignore" });
    children.push(holder);
    claimedBy(stateFile, holder.pid as number);
    const claims = createAccountClaims(stateFile);
    const busy = await claims.claim("codex", "work", owner);
    expect(busy).toMatchObject({ claimed: false, holder: { pid: holder.pid, note: { sessionId: "theirs" } } });
    holder.kill("SIGKILL");
    await new Promise((r) => holder.once("exit", r));
    expect((await claims.claim("codex", "work", owner)).claimed).toBe(true);
  });

  it("ids cannot leave the claims folder", async () => {
    const stateFile = join(tempDir(), "state.json");
    const claims = createAccountClaims(stateFile);
    expect((await claims.claim("codex", "../../escape", owner)).claimed).toBe(true);
    expect(readdirSync(`${stateFile}.claims`)).toEqual([claimFileName("codex", "../../escape")]);
    expect(claimFileName("codex", "../../escape")).not.toContain("/");
  });
});

describe("the broker runtime's credential home takes the claim", () => {
  function runtime(root: string, stateFile = join(root, "state.json")) {
    const authFile = join(root, "auth.json");
    if (!existsSync(authFile)) writeFileSync(authFile, JSON.stringify({ tokens: { refresh_token: "rt" } }));
    const log: [string, Record<string, unknown>][] = [];
    const rt = createBrokerRuntime({
      accounts: { providers: { codex: [{ id: "work", mode: "auth", authFile }] } },
      stateFile,
      credentialsDir: join(root, "homes"),
      logsDir: root,
      log: (event, data) => void log.push([event, data]),
      heldElsewhereRecheckMs: 1_234,
    });
    return { rt, log, authFile };
  }
  function home({ rt, authFile }: ReturnType<typeof runtime>, sessionId: string) {
    const got: LeaseEvent[] = [];
    const lease = {
      leaseId: `codex/work#${sessionId}`,
      accountId: "work",
      provider: "codex",
      tier: "unknown",
      halfOpen: false,
      mode: "auth",
      authFile,
    };
    // A parent that records what the credential home sends back, as a session does.
    const parent = setup({ types: { events: {} as LeaseEvent }, actors: { creds: rt.credentialHome } }).createMachine({
      invoke: { src: "creds", input: { sessionId, agent: "codex", generation: 1, lease, cwd: tmpdir() } },
      on: { "*": { actions: ({ event }) => void got.push(event) } },
    });
    const actor = createActor(parent).start();
    const next = async () => {
      for (let i = 0; i < 500 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      return got[0];
    };
    return { actor, got, next };
  }

  it("a second conductor on the same state file is told who holds the account; after the first's dispose it gets it", async () => {
    const root = tempDir();
    const a = runtime(root);
    const b = runtime(root);
    const first = home(a, "a1");
    expect(await first.next()).toMatchObject({ type: "CREDENTIALS.READY" });
    const second = home(b, "b1");
    expect(await second.next()).toMatchObject({
      type: "CREDENTIALS.BUSY",
      retryAfterMs: 1_234,
      message: expect.stringMatching(/codex\/work is in use by another conductor \(process \d+, session a1/),
    });
    expect(b.log).toContainEqual([
      "broker.held_elsewhere",
      expect.objectContaining({ accountId: "work", sessionId: "b1" }),
    ]);
    second.actor.stop();
    first.actor.stop();
    await a.rt.settle();
    const third = home(b, "b2");
    expect(await third.next()).toMatchObject({ type: "CREDENTIALS.READY" });
    third.actor.stop();
    await b.rt.settle();
    expect(readdirSync(join(root, "state.json.claims"))).toEqual([]);
  });

  it("a claim that cannot be written does not stop the run: logged as the state file's errors are", async () => {
    const root = tempDir();
    writeFileSync(join(root, "not-a-dir"), "");
    const r = runtime(root, join(root, "not-a-dir", "state.json"));
    const h = home(r, "s1");
    expect(await h.next()).toMatchObject({ type: "CREDENTIALS.READY" });
    expect(r.log).toContainEqual([
      "broker.io_error",
      { error: expect.stringMatching(/^no claim on codex\/work: .*ENOTDIR/) },
    ]);
    h.actor.stop();
    await r.rt.settle();
  });

  it("within one conductor the next run on the account waits for the last one's home to be given up, not 15 s", async () => {
    const root = tempDir();
    const r = runtime(root);
    const first = home(r, "s1");
    expect(await first.next()).toMatchObject({ type: "CREDENTIALS.READY" });
    // The broker frees the account at the release; the home (and the claim) go while the tree ends.
    first.actor.stop();
    const next = home(r, "s2");
    expect(await next.next()).toMatchObject({ type: "CREDENTIALS.READY" });
    expect(r.log.some(([event]) => event === "broker.held_elsewhere")).toBe(false);
    next.actor.stop();
    await r.rt.settle();
  });

  it("a last holder that never gives the account up holds the next run only so long: then its claim says busy", async () => {
    const root = tempDir();
    const r = runtime(root);
    const first = home(r, "s1");
    expect(await first.next()).toMatchObject({ type: "CREDENTIALS.READY" });
    // first is never stopped (its run's tree never reported gone): after the recheck interval the
    // next run tries the claim, which is held, and the session's own bounds take it from there.
    const next = home(r, "s2");
    expect(await next.next()).toMatchObject({ type: "CREDENTIALS.BUSY", retryAfterMs: 1_234 });
    next.actor.stop();
    first.actor.stop();
    await r.rt.settle();
  });

  it("in the broker's own order (the next run's home starts before the last run's is stopped), it waits for it too", async () => {
    // A field review: the broker grants the next lease at the RELEASE, before the session that gave
    // the account back stops its home; the next run found the claim held by its own conductor
    // ("in use by another conductor", this very pid) and waited 15 s for each hand-over.
    const root = tempDir();
    const r = runtime(root);
    const first = home(r, "s1");
    expect(await first.next()).toMatchObject({ type: "CREDENTIALS.READY" });
    const next = home(r, "s2");
    const got = next.next();
    first.actor.stop();
    expect(await got).toMatchObject({ type: "CREDENTIALS.READY" });
    expect(r.log.some(([event]) => event === "broker.held_elsewhere")).toBe(false);
    next.actor.stop();
    await r.rt.settle();
  });
});
