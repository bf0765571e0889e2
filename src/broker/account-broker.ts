/**
 * The seed's account-broker object (`lease`, `release`, `markRateLimited`, `nextAvailableEta`,
 * `tierFallback`), as a thin synchronous view of our broker statechart: code that leased accounts
 * from triflux's broker by hand keeps working. The conductor itself does not use it (sessions talk
 * to the broker actor directly, docs/accounts.md).
 *
 * With `stateFile`, cool-downs and open circuits persist as the seed's did, in the conductor's own
 * format and file protocol (broker-store.ts: atomic replace under a lock), so a restarted process, and
 * every conductor given the same file, honours them. The file is read synchronously at creation (a
 * lease right after must already know); writes are asynchronous: `settle()` resolves once they are done.
 */
import { EventEmitter } from "node:events";
import { createActor } from "xstate";
import { ANY_HOST, type BrokerEmitted, brokerMachine, nextAvailableEta } from "../../machines/broker.machine.js";
import { type AccountsConfig, brokerInputOf, checkedAccountsConfig, resolveLease } from "../accounts-config.js";
import { applyBrokerEvent, createBrokerStore, persistsBrokerEvent, syncEventOf } from "../broker-store.js";
import { ConductorError } from "../errors.js";
import { createWallClock } from "../../actors/wall-clock.js";

/** What the seed's `lease()` returned: the account and how to use it. */
export interface SeedLease {
  id: string;
  provider: string;
  mode: "profile" | "env" | "auth";
  tier: string;
  /** The account is bound to a host (`host` in the accounts file). */
  remote: boolean;
  host: string | null;
  /** This lease is the circuit's one trial after it opened. */
  halfOpen: boolean;
  profile?: string;
  /** Resolved values (`${VAR}` from the environment): keep them out of logs. */
  env?: Record<string, string>;
  authFile?: string;
}

export interface ReleaseOptions {
  ok: boolean;
  failureMode?: string;
  skipCircuit?: boolean;
}

export interface AccountBrokerOptions {
  /** Epoch ms clock; default `Date.now`. */
  now?: () => number;
  /** Environment for `${VAR}` in `env` accounts; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Persist cool-downs and open circuits here (shared with conductors given the same `brokerStateFile`). */
  stateFile?: string;
}

/** `config` is `parseAccountsConfig`'s result or the file's JSON content (`{ providers: … }`). */
export function createAccountBroker(config: AccountsConfig | { providers: unknown }, opts: AccountBrokerOptions = {}) {
  const accounts = checkedAccountsConfig(config, "accounts");
  // Its cool-downs also end on the wall clock: a suspend stops Node's timers (actors/wall-clock.ts).
  const clock = createWallClock();
  const actor = createActor(brokerMachine, { input: brokerInputOf(accounts, opts.now), clock }).start();
  const emitter = new EventEmitter();
  const now = opts.now ?? Date.now;
  const store = opts.stateFile ? createBrokerStore(opts.stateFile, { now }) : null;
  const writes = new Set<Promise<unknown>>();
  if (store) actor.send(syncEventOf(store.loadSync(), now()));
  // The seed released by account id: remember which lease (session) holds each account.
  const held = new Map<string, { sessionId: string; provider: string }>();
  let seq = 0;
  // The broker decides a request in the same step: its `lease` for that request id, if any, lands here.
  const granted = new Map<string, Extract<BrokerEmitted, { type: "lease" }>["lease"]>();
  actor.on("*", (e) => {
    if (e.type === "lease") granted.set(e.lease.sessionId, e.lease);
    if (e.type === "tierFallback") emitter.emit("tierFallback", e);
    if (store && persistsBrokerEvent(e)) {
      // A failed write is the caller's to hear: settle() rejects with it.
      const w = store.update((s) => applyBrokerEvent(s, e));
      writes.add(w);
      void w.then(
        () => writes.delete(w),
        () => undefined,
      );
    }
  });

  function lease(req: { provider: string; remote?: boolean }): SeedLease | null {
    if (!req || typeof req.provider !== "string")
      throw new ConductorError('lease({ provider }): provider is required, e.g. lease({ provider: "codex" })', {
        code: "INVALID_OPTIONS",
        field: "provider",
      });
    const sessionId = `lease-${++seq}`;
    actor.send({
      type: "LEASE.REQUEST",
      provider: req.provider,
      sessionId,
      ...(req.remote ? { requireHost: ANY_HOST } : {}),
    });
    const grant = granted.get(sessionId);
    granted.delete(sessionId);
    if (!grant) return null;
    const l = resolveLease(grant, accounts, opts.env ?? process.env);
    held.set(l.accountId, { sessionId, provider: l.provider });
    return {
      id: l.accountId,
      provider: l.provider,
      mode: l.mode,
      tier: l.tier,
      remote: l.host !== undefined,
      host: l.host ?? null,
      halfOpen: l.halfOpen,
      ...(l.profile !== undefined ? { profile: l.profile } : {}),
      ...(l.env !== undefined ? { env: l.env } : {}),
      ...(l.authFile !== undefined ? { authFile: l.authFile } : {}),
    };
  }

  /** Exactly once per lease; a release of an account not on lease is reported by the broker and changes nothing. */
  function release(id: string, o: ReleaseOptions = { ok: true }): void {
    const h = held.get(id);
    held.delete(id);
    actor.send({
      type: "RELEASE",
      accountId: id,
      sessionId: h?.sessionId ?? "",
      ok: o.ok,
      ...(h ? { provider: h.provider } : {}),
      ...(o.failureMode !== undefined ? { failureMode: o.failureMode } : {}),
      ...(o.skipCircuit !== undefined ? { skipCircuit: o.skipCircuit } : {}),
    });
  }

  return Object.freeze({
    lease,
    release,
    markRateLimited(id: string, ms: number): void {
      actor.send({ type: "MARK_RATE_LIMITED", accountId: id, ms });
    },
    /** Epoch ms when an account of `provider` frees up (now if one is free), or null when none is configured. */
    nextAvailableEta(provider: string, o: { remote?: boolean } = {}): number | null {
      const snap = actor.getSnapshot();
      const eta = nextAvailableEta(snap, provider, undefined, o.remote ? ANY_HOST : undefined);
      return eta === null ? null : snap.context.now() + eta;
    },
    on(event: "tierFallback", fn: (e: Extract<BrokerEmitted, { type: "tierFallback" }>) => void) {
      emitter.on(event, fn);
    },
    off(event: "tierFallback", fn: (e: Extract<BrokerEmitted, { type: "tierFallback" }>) => void) {
      emitter.off(event, fn);
    },
    /** The broker actor, for XState users. */
    actor,
    /** The state file, or null without `stateFile`. */
    stateFile: store?.file ?? null,
    /** Resolves when every state-file write so far is on disk; rejects with a write's error. */
    async settle(): Promise<void> {
      while (writes.size > 0) {
        const pending = [...writes];
        await Promise.all(pending);
        for (const w of pending) writes.delete(w);
      }
    },
    stop(): void {
      actor.stop();
    },
  });
}

export type AccountBroker = ReturnType<typeof createAccountBroker>;
