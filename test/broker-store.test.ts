/** The broker state file: atomic replace, the O_EXCL lock with stale takeover, and several processes at once. */
import { execFile, spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { mkdtemp, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import {
  applyBrokerEvent,
  type BrokerState,
  BrokerStoreError,
  createBrokerStore,
  emptyBrokerState,
  persistsBrokerEvent,
  syncEventOf,
} from "../src/broker-store.js";
import { isProcessAlive, processStartTime } from "../actors/process-identity.js";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "..");
const DIST_STORE = path.join(ROOT, "dist/src/broker-store.js");
const tmp = () => mkdtemp(path.join(tmpdir(), "broker-store-"));

/** A pid that certainly belonged to a process that has exited (and was reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""]);
  await new Promise((r) => child.on("exit", r));
  return child.pid as number;
}

describe("broker store in one process", () => {
  it("an absent file is an empty state; updates persist with 0600, expired entries are dropped", async () => {
    let now = 1_000;
    const file = path.join(await tmp(), "state.json");
    const store = createBrokerStore(file, { now: () => now });
    expect(await store.load()).toEqual(emptyBrokerState());
    await store.update((s) => {
      s.cooldowns["codex/a"] = { until: 5_000 };
      s.circuits["codex/b"] = { until: 2_000 };
    });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({
      version: 1,
      cooldowns: { "codex/a": { until: 5_000 } },
      circuits: { "codex/b": { until: 2_000 } },
    });
    now = 3_000;
    expect(await store.load()).toEqual({ version: 1, cooldowns: { "codex/a": { until: 5_000 } }, circuits: {} });
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it("does not rewrite the file when nothing changed", async () => {
    const file = path.join(await tmp(), "state.json");
    const store = createBrokerStore(file, { now: () => 0 });
    await store.update((s) => {
      s.cooldowns["codex/a"] = { until: 10 };
    });
    const before = statSync(file).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    await store.update((s) => ({ ...s }));
    expect(statSync(file).mtimeMs).toBe(before);
  });

  it("concurrent updates in one process are serialised (no lost update)", async () => {
    const file = path.join(await tmp(), "state.json");
    const a = createBrokerStore(file, { now: () => 0 });
    const b = createBrokerStore(file, { now: () => 0 });
    const bump = (s: BrokerState) => {
      s.cooldowns["codex/n"] = { until: (s.cooldowns["codex/n"]?.until ?? 0) + 1 };
    };
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).update(bump)));
    expect((await a.load()).cooldowns["codex/n"]).toEqual({ until: 40 });
  });

  it("a failing update leaves the file and the lock as they were", async () => {
    const file = path.join(await tmp(), "state.json");
    const store = createBrokerStore(file, { now: () => 0 });
    await store.update((s) => {
      s.cooldowns["codex/a"] = { until: 10 };
    });
    await expect(
      store.update(() => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    await expect(store.update(() => ({ nope: true }) as unknown as BrokerState)).rejects.toThrow(BrokerStoreError);
    expect((await store.load()).cooldowns).toEqual({ "codex/a": { until: 10 } });
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it("reports a file that is not JSON or not a state, naming it", async () => {
    const file = path.join(await tmp(), "state.json");
    await writeFile(file, "{ half");
    await expect(createBrokerStore(file).load()).rejects.toThrow(/state\.json is not valid JSON/);
    await writeFile(file, JSON.stringify({ version: 2 }));
    await expect(createBrokerStore(file).load()).rejects.toThrow(/does not hold a broker state/);
  });
});

describe("the lock", () => {
  it("takes over a lock whose process is dead", async () => {
    const file = path.join(await tmp(), "state.json");
    await writeFile(`${file}.lock`, JSON.stringify({ pid: await deadPid(), start: null, at: Date.now(), nonce: "x" }));
    const store = createBrokerStore(file, { now: () => 0, lockTimeoutMs: 2_000 });
    await store.update((s) => {
      s.cooldowns["codex/a"] = { until: 1 };
    });
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it("waits for a live holder and times out naming it; takes over once it has died", async () => {
    const file = path.join(await tmp(), "state.json");
    const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"]);
    const pid = holder.pid as number;
    await writeFile(`${file}.lock`, JSON.stringify({ pid, start: processStartTime(pid), at: Date.now(), nonce: "y" }));
    const store = createBrokerStore(file, { now: () => 0, lockTimeoutMs: 150 });
    await expect(store.update(() => undefined)).rejects.toThrow(
      new RegExp(`timed out after 150 ms waiting for the lock .*held by pid ${pid}`),
    );
    const exited = new Promise((r) => holder.on("exit", r));
    holder.kill("SIGKILL");
    await exited;
    await store.update((s) => {
      s.circuits["codex/a"] = { until: 1 };
    });
    expect((await store.load()).circuits).toEqual({ "codex/a": { until: 1 } });
  });

  it("a reused pid (same pid, other start time) is not the holder", async () => {
    const file = path.join(await tmp(), "state.json");
    const live = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"]);
    try {
      await writeFile(`${file}.lock`, JSON.stringify({ pid: live.pid, start: "1", at: Date.now(), nonce: "z" }));
      await createBrokerStore(file, { now: () => 0, lockTimeoutMs: 2_000 }).update(() => undefined);
    } finally {
      live.kill("SIGKILL");
    }
  });

  it("an unreadable lock is respected while fresh and taken over once old", async () => {
    const file = path.join(await tmp(), "state.json");
    await writeFile(`${file}.lock`, "");
    const store = createBrokerStore(file, { now: () => 0, lockTimeoutMs: 100 });
    await expect(store.update(() => undefined)).rejects.toThrow(/held by a process that has not written it yet/);
    const old = new Date(Date.now() - 60_000);
    await utimes(`${file}.lock`, old, old);
    await store.update(() => undefined);
  });

  it("isProcessAlive looks at /proc and the start time", async () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(process.pid, processStartTime(process.pid))).toBe(true);
    expect(isProcessAlive(process.pid, "0")).toBe(false);
    expect(isProcessAlive(await deadPid())).toBe(false);
    expect(isProcessAlive(-1)).toBe(false);
  });
});

describe("several processes hammering one file", () => {
  beforeAll(async () => {
    // Child processes import the built module (npm test builds first; build here when stale).
    const src = statSync(path.join(ROOT, "src/broker-store.ts")).mtimeMs;
    if (!existsSync(DIST_STORE) || statSync(DIST_STORE).mtimeMs < src) {
      await run("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: ROOT }).catch(() => undefined);
    }
    expect(existsSync(DIST_STORE)).toBe(true);
  }, 180_000);

  it("loses no update and never shows a reader anything but valid JSON", async () => {
    const file = path.join(await tmp(), "state.json");
    const done = `${file}.done`;
    const url = pathToFileURL(DIST_STORE).href;
    const BASE = Date.now() + 10 ** 9;
    const WRITERS = 3;
    const EACH = 40;
    const writer = (w: number) => `
      import { createBrokerStore } from ${JSON.stringify(url)};
      const store = createBrokerStore(${JSON.stringify(file)}, { lockTimeoutMs: 30000 });
      for (let i = 0; i < ${EACH}; i++) {
        await store.update((s) => {
          const n = s.cooldowns["codex/counter"]?.until ?? ${BASE};
          s.cooldowns["codex/counter"] = { until: n + 1 };
          s.circuits["codex/w${w}-" + i] = { until: ${BASE} };
        });
      }`;
    const reader = `
      import { readFileSync, existsSync } from "node:fs";
      let reads = 0, bad = 0;
      // Bounded: if the test dies before writing the done file, this hot loop must not live on.
      const parent = process.ppid, deadline = Date.now() + 120000;
      while (!existsSync(${JSON.stringify(done)}) && process.ppid === parent && Date.now() < deadline) {
        try { JSON.parse(readFileSync(${JSON.stringify(file)}, "utf8")); reads++; }
        catch (e) { if (e.code !== "ENOENT") bad++; }
      }
      console.log(JSON.stringify({ reads, bad }));`;
    const node = (code: string) => run(process.execPath, ["--input-type=module", "-e", code], { cwd: ROOT });
    const readerRun = node(reader);
    try {
      await Promise.all(Array.from({ length: WRITERS }, (_, w) => node(writer(w))));
    } finally {
      await writeFile(done, "");
    }
    const { reads, bad } = JSON.parse((await readerRun).stdout) as { reads: number; bad: number };
    expect(bad).toBe(0);
    expect(reads).toBeGreaterThan(0);
    const state = await createBrokerStore(file).load();
    expect(state.cooldowns["codex/counter"]).toEqual({ until: BASE + WRITERS * EACH });
    expect(Object.keys(state.circuits)).toHaveLength(WRITERS * EACH);
    expect(existsSync(`${file}.lock`)).toBe(false);
  }, 60_000);
});

describe("broker events ↔ state", () => {
  it("folds cooldown / circuit events in, later ends win, a closed circuit is forgotten", () => {
    const who = { provider: "codex", accountId: "a" };
    let s = emptyBrokerState();
    s = applyBrokerEvent(s, { type: "cooldown", ...who, ms: 1, until: 500 });
    s = applyBrokerEvent(s, { type: "cooldown", ...who, ms: 1, until: 400 });
    s = applyBrokerEvent(s, { type: "circuitOpen", ...who, ms: 1, until: 900, failures: 3 });
    expect(s).toEqual({
      version: 1,
      cooldowns: { "codex/a": { until: 500 } },
      circuits: { "codex/a": { until: 900 } },
    });
    expect(applyBrokerEvent(s, { type: "circuitClose", ...who }).circuits).toEqual({});
    expect(applyBrokerEvent(s, { type: "circuitHalfOpen", ...who }).circuits).toEqual({});
    expect(applyBrokerEvent(s, { type: "leaseExpired", ...who, sessionId: "s", leaseId: "l" })).toBe(s);
    expect(
      ["cooldown", "circuitOpen", "circuitClose", "circuitHalfOpen"].every((type) => persistsBrokerEvent({ type })),
    ).toBe(true);
    expect(persistsBrokerEvent({ type: "lease" })).toBe(false);
    // Cooling only until another conductor's run may be over: the holder must not read it as its own.
    expect(persistsBrokerEvent({ type: "cooldown", heldElsewhere: true })).toBe(false);
  });

  it("turns a state into the broker's SYNC event (only what is still running)", () => {
    const s: BrokerState = {
      version: 1,
      cooldowns: { "codex/a": { until: 500 }, "gemini/g.1": { until: 50 } },
      circuits: { "claude/c-2": { until: 900 } },
    };
    expect(syncEventOf(s, 100)).toEqual({
      type: "SYNC",
      cooldowns: [{ provider: "codex", accountId: "a", until: 500 }],
      circuits: [{ provider: "claude", accountId: "c-2", until: 900 }],
    });
  });
});
