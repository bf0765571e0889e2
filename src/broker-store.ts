/**
 * The broker's state file: cool-downs and open circuits that must outlive a conductor and be
 * shared by every conductor on the machine.
 *
 *   const store = createBrokerStore("~/.conductor/broker-state.json");
 *   broker.send(syncEventOf(await store.load(), Date.now()));              // at start
 *   broker.on("*", (e) => persistsBrokerEvent(e) && store.update((s) => applyBrokerEvent(s, e)));
 *
 * The file is only ever replaced whole (write temp + fsync + rename + fsync dir), so a reader
 * sees the old or the new version, never half of one. Read-modify-write runs under a lock file
 * (lock-file.ts: O_EXCL, the holder's pid and start time, stale locks taken over without a race).
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { open, readFile, rename, unlink } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import type { BrokerEmitted } from "../machines/broker.machine.js";
import { ConductorError, type ConductorErrorOptions } from "../machines/conductor-error.js";
import { acquireLock } from "./lock-file.js";

export interface BrokerState {
  version: 1;
  /** key `${provider}/${accountId}` → end of the cool-down (epoch ms). */
  cooldowns: Record<string, { until: number }>;
  /** key `${provider}/${accountId}` → when the open circuit may go half-open (epoch ms). */
  circuits: Record<string, { until: number }>;
}

const entry = z.object({ until: z.number().finite() });
const stateSchema = z.object({
  version: z.literal(1),
  cooldowns: z.record(z.string(), entry),
  circuits: z.record(z.string(), entry),
});

export const emptyBrokerState = (): BrokerState => ({ version: 1, cooldowns: {}, circuits: {} });

/** The state file could not be read, parsed or written: one of the `ConductorError` family (code `BROKER_STORE`). */
export class BrokerStoreError extends ConductorError {
  override readonly name: string = "BrokerStoreError";
  constructor(message: string, options: Omit<ConductorErrorOptions, "code"> = {}) {
    super(message, { ...options, code: "BROKER_STORE" });
  }
}

export interface BrokerStoreOptions {
  /** Give up waiting for the lock after this long (a live holder never takes that long). */
  lockTimeoutMs?: number;
  /** Entries that ended before `now()` are dropped. */
  now?: () => number;
}

export interface BrokerStore {
  readonly file: string;
  /** The current state (expired entries dropped); an absent file is an empty state. */
  load(): Promise<BrokerState>;
  /** The same, read synchronously (for a synchronous API that must not lease before it knows). */
  loadSync(): BrokerState;
  /** Read-modify-write under the lock. `fn` may mutate its argument or return a new state. */
  // biome-ignore lint/suspicious/noConfusingVoidType: a mutator may change the state in place and return nothing
  update(fn: (state: BrokerState) => BrokerState | void | Promise<BrokerState | void>): Promise<BrokerState>;
}

/** In-process queue per lock file: updates from one process wait for each other, not for polling. */
const queues = new Map<string, Promise<unknown>>();

export function createBrokerStore(file: string, opts: BrokerStoreOptions = {}): BrokerStore {
  const full = path.resolve(file);
  const lockPath = `${full}.lock`;
  const now = opts.now ?? Date.now;
  const lockTimeoutMs = opts.lockTimeoutMs ?? 10_000;

  async function read(): Promise<BrokerState> {
    let text: string;
    try {
      text = await readFile(full, "utf8");
    } catch (e) {
      return unreadable(e);
    }
    return parse(text);
  }

  function readSync(): BrokerState {
    let text: string;
    try {
      text = readFileSync(full, "utf8");
    } catch (e) {
      return unreadable(e);
    }
    return parse(text);
  }

  function unreadable(e: unknown): BrokerState {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return emptyBrokerState();
    throw new BrokerStoreError(`cannot read the broker state file ${full}: ${(e as Error).message}`);
  }

  function parse(text: string): BrokerState {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new BrokerStoreError(
        `the broker state file ${full} is not valid JSON (${(e as Error).message}); this module only replaces it atomically, so something else wrote it: move it away to start afresh`,
      );
    }
    const parsed = stateSchema.safeParse(json);
    if (!parsed.success)
      throw new BrokerStoreError(
        `the broker state file ${full} does not hold a broker state (version 1): move it away to start afresh`,
      );
    return prune(parsed.data, now());
  }

  async function update(fn: Parameters<BrokerStore["update"]>[0]): Promise<BrokerState> {
    const before = queues.get(lockPath) ?? Promise.resolve();
    const run = before
      .catch(() => undefined)
      .then(async () => {
        const release = await acquireLock(lockPath, lockTimeoutMs, (m) => new BrokerStoreError(m));
        try {
          const current = await read();
          const draft = structuredClone(current);
          const returned = await fn(draft);
          const next = prune(validate(returned ?? draft, full), now());
          if (JSON.stringify(next) !== JSON.stringify(current))
            await writeAtomically(full, `${JSON.stringify(next, null, 2)}\n`);
          return next;
        } finally {
          await release();
        }
      });
    queues.set(lockPath, run);
    void run
      .finally(() => {
        if (queues.get(lockPath) === run) queues.delete(lockPath);
      })
      .catch(() => undefined);
    return run;
  }

  return { file: full, load: read, loadSync: readSync, update };
}

function validate(state: unknown, file: string): BrokerState {
  const parsed = stateSchema.safeParse(state);
  if (!parsed.success)
    throw new BrokerStoreError(
      `update of ${file}: the new state is not a broker state (${parsed.error.issues[0]?.message})`,
    );
  return parsed.data;
}

function prune(state: BrokerState, now: number): BrokerState {
  const live = (r: Record<string, { until: number }>) =>
    Object.fromEntries(
      Object.entries(r)
        .filter(([, v]) => v.until > now)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
  return { version: 1, cooldowns: live(state.cooldowns), circuits: live(state.circuits) };
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fh = await open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(text, "utf8");
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  // The rename itself must reach the disk, or a crash could bring the old file back.
  const dir = await open(path.dirname(file), "r");
  try {
    await dir.sync();
  } catch {
    // some file systems refuse fsync on a directory; the rename is still atomic
  } finally {
    await dir.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Broker events ↔ state
// ---------------------------------------------------------------------------------------------

const PERSISTED = new Set<BrokerEmitted["type"]>(["cooldown", "circuitOpen", "circuitHalfOpen", "circuitClose"]);

/**
 * Does this broker event change the state file? Not a cool-down that only waits for another
 * conductor's run on the account (`heldElsewhere`): that one would hold back the holder itself.
 */
export function persistsBrokerEvent(e: { type: string; heldElsewhere?: unknown }): e is BrokerEmitted {
  return PERSISTED.has(e.type as BrokerEmitted["type"]) && e.heldElsewhere !== true;
}

/** Folds one broker event into the state (pure; later ends win, a closed circuit is forgotten). */
export function applyBrokerEvent(state: BrokerState, e: BrokerEmitted): BrokerState {
  const key = "accountId" in e ? `${e.provider}/${e.accountId}` : null;
  if (key === null) return state;
  const later = (old: { until: number } | undefined, until: number) => ({
    until: Math.max(old?.until ?? -Infinity, until),
  });
  switch (e.type) {
    case "cooldown":
      return { ...state, cooldowns: { ...state.cooldowns, [key]: later(state.cooldowns[key], e.until) } };
    case "circuitOpen":
      return { ...state, circuits: { ...state.circuits, [key]: later(state.circuits[key], e.until) } };
    case "circuitHalfOpen":
    case "circuitClose": {
      const circuits = { ...state.circuits };
      delete circuits[key];
      return { ...state, circuits };
    }
    default:
      return state;
  }
}

/** The broker's SYNC event for a state: what is still cooling or open at `now`. */
export function syncEventOf(state: BrokerState, now: number) {
  const list = (r: Record<string, { until: number }>) =>
    Object.entries(r)
      .filter(([, v]) => v.until > now)
      .map(([key, v]) => {
        const slash = key.indexOf("/");
        return { provider: key.slice(0, slash), accountId: key.slice(slash + 1), until: v.until };
      });
  return { type: "SYNC" as const, cooldowns: list(state.cooldowns), circuits: list(state.circuits) };
}
