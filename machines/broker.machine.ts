/**
 * The account broker: one actor (`systemId: "broker"` in the conductor's system) that owns one
 * account actor per configured account and hands out leases. Pure: its clock is injected
 * (`input.now`, SimulatedClock's `now` in tests) and only stamps events and ETAs; every timer lives
 * in the account actors as a named delay. It never sees a secret: accounts arrive as public specs
 * (env variable NAMES only; values are resolved by the runtime after a grant).
 *
 * Events, replies and emitted shapes: broker.types.ts. Lease selection: broker.policy.ts.
 */
import { type ActorRefFrom, enqueueActions, setup } from "xstate";
import { accountMachine } from "./account.machine.js";
import { resolveAccountPolicy } from "./account.policy.js";
import type { AccountNotice } from "./account.types.js";
import { accountKey, keysFor, tierOf } from "./broker.policy.js";
import { reply, serve } from "./broker.serve.js";
import type {
  AccountRef,
  BrokerAccountSpec,
  BrokerContext,
  BrokerEmitted,
  BrokerEvent,
  BrokerInput,
  ReleaseEvent,
  RequestEvent,
  Until,
  Waiter,
} from "./broker.types.js";

// Split modules re-exported here: callers import them from this module.
export { ANY_HOST, accountKey, nextAvailableEta } from "./broker.policy.js";
export type {
  BrokerAccountSpec,
  BrokerContext,
  BrokerEmitted,
  BrokerEvent,
  BrokerInput,
  BrokerReply,
  Lease,
  UnavailableCode,
} from "./broker.types.js";

/** How many ended leases are kept to tell a duplicate release from an unknown one. */
const ENDED_KEPT = 256;

export const brokerMachine = setup({
  types: {
    input: {} as BrokerInput,
    context: {} as BrokerContext,
    events: {} as BrokerEvent,
    emitted: {} as BrokerEmitted,
  },
  actors: { account: accountMachine },
  actions: {
    request: enqueueActions(({ context, event, enqueue }) => {
      const e = event as RequestEvent;
      // Queued requests keep their place: they are served before the new one.
      // A session asking again while queued keeps its place and is answered again.
      const again = (w: Waiter) => w.provider === e.provider && w.sessionId === e.sessionId;
      const queued = context.waiters
        .filter((w) => w.provider === e.provider)
        .map((w) =>
          again(w)
            ? { ...w, replyTo: e.replyTo ?? w.replyTo, wait: true, fresh: true }
            : { ...w, wait: true, fresh: false },
        );
      const fresh = {
        provider: e.provider,
        sessionId: e.sessionId,
        requireHost: e.requireHost,
        replyTo: e.replyTo,
        wait: e.wait === true,
        fresh: true,
      };
      const out = serve(context, enqueue, context.waiters.some(again) ? queued : [...queued, fresh]);
      const others = context.waiters.filter((w) => w.provider !== e.provider);
      enqueue.assign({
        leases: out.leases,
        lastPick: out.lastPick,
        seq: out.seq,
        waiters: [...others, ...out.waiters],
      });
    }),
    serveWaiters: enqueueActions(({ context, event, enqueue }) => {
      const provider = (event as Extract<AccountNotice, { type: "ACCOUNT.AVAILABLE" }>).provider;
      const queued = context.waiters.filter((w) => w.provider === provider);
      if (queued.length === 0) return;
      const out = serve(
        context,
        enqueue,
        queued.map((w) => ({ ...w, wait: true, fresh: false })),
      );
      const others = context.waiters.filter((w) => w.provider !== provider);
      enqueue.assign({
        leases: out.leases,
        lastPick: out.lastPick,
        seq: out.seq,
        waiters: [...others, ...out.waiters],
      });
    }),
    cancel: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<BrokerEvent, { type: "LEASE.CANCEL" }>;
      const keep = (w: Waiter) =>
        !(w.sessionId === e.sessionId && (e.provider === undefined || w.provider === e.provider));
      enqueue.assign({ waiters: context.waiters.filter(keep) });
    }),
    renew: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<BrokerEvent, { type: "LEASE.RENEW" }>;
      const now = context.now();
      const leases = { ...context.leases };
      for (const [id, l] of Object.entries(leases)) {
        if (l.lease.accountId !== e.accountId || l.lease.sessionId !== e.sessionId) continue;
        if (e.provider !== undefined && l.lease.provider !== e.provider) continue;
        leases[id] = { ...l, lease: { ...l.lease, expiresAt: now + context.policy.leaseTtlMs } };
        enqueue.sendTo(context.accounts[l.key] as AccountRef, { type: "RENEW", leaseId: id, at: now });
      }
      enqueue.assign({ leases });
    }),
    release: enqueueActions(({ context, event, enqueue }) => {
      const e = event as ReleaseEvent;
      const now = context.now();
      const match = Object.entries(context.leases).find(
        ([, l]) =>
          l.lease.accountId === e.accountId &&
          l.lease.sessionId === e.sessionId &&
          (e.provider === undefined || l.lease.provider === e.provider),
      );
      if (!match) {
        const ended = [...context.ended]
          .reverse()
          .find((x) => x.sessionId === e.sessionId && keysFor(context, e.accountId, e.provider).includes(x.key));
        const why = ended === undefined ? "unknown_lease" : ended.why === "expired" ? "expired" : "already_released";
        enqueue.emit({
          type: "duplicateRelease",
          provider: e.provider ?? ended?.key.split("/")[0] ?? "",
          accountId: e.accountId,
          sessionId: e.sessionId,
          why,
        });
        // A rate limit seen after the lease expired is still true of the account.
        if (why === "expired" && e.failureMode === "rate_limited" && ended) {
          enqueue.sendTo(context.accounts[ended.key] as AccountRef, {
            type: "COOL_DOWN",
            ms: e.retryAfterMs ?? context.policy.cooldownMs,
            at: now,
          });
        }
        return;
      }
      const [leaseId, active] = match;
      const leases = { ...context.leases };
      delete leases[leaseId];
      enqueue.assign({
        leases,
        ended: [...context.ended, { leaseId, key: active.key, sessionId: e.sessionId, why: "released" as const }].slice(
          -ENDED_KEPT,
        ),
      });
      enqueue.emit({
        type: "release",
        provider: active.lease.provider,
        accountId: e.accountId,
        sessionId: e.sessionId,
        leaseId,
        ok: e.ok,
        failureMode: e.ok ? null : (e.failureMode ?? null),
      });
      enqueue.sendTo(context.accounts[active.key] as AccountRef, {
        type: "RELEASE",
        leaseId,
        ok: e.ok,
        at: now,
        ...(e.failureMode !== undefined ? { failureMode: e.failureMode } : {}),
        ...(e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}),
        ...(e.skipCircuit !== undefined ? { skipCircuit: e.skipCircuit } : {}),
      });
    }),
    markRateLimited: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<BrokerEvent, { type: "MARK_RATE_LIMITED" }>;
      const now = context.now();
      for (const k of keysFor(context, e.accountId, e.provider)) {
        enqueue.sendTo(context.accounts[k] as AccountRef, { type: "COOL_DOWN", ms: e.ms, at: now });
      }
    }),
    sync: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<BrokerEvent, { type: "SYNC" }>;
      const now = context.now();
      const send = (u: Until, kind: "COOL_DOWN" | "TRIP") => {
        const ref = context.accounts[accountKey(u.provider, u.accountId)];
        if (ref && u.until > now) enqueue.sendTo(ref, { type: kind, ms: u.until - now, at: now });
      };
      for (const u of e.cooldowns ?? []) send(u, "COOL_DOWN");
      for (const u of e.circuits ?? []) send(u, "TRIP");
    }),
    leaseExpired: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<AccountNotice, { type: "ACCOUNT.LEASE_EXPIRED" }>;
      const active = context.leases[e.leaseId];
      const leases = { ...context.leases };
      delete leases[e.leaseId];
      const key = accountKey(e.provider, e.accountId);
      enqueue.assign({
        leases,
        ended: [...context.ended, { leaseId: e.leaseId, key, sessionId: e.sessionId, why: "expired" as const }].slice(
          -ENDED_KEPT,
        ),
      });
      enqueue.emit({
        type: "leaseExpired",
        provider: e.provider,
        accountId: e.accountId,
        sessionId: e.sessionId,
        leaseId: e.leaseId,
      });
      if (active) reply(enqueue, active.replyTo, { type: "LEASE.EXPIRED", lease: active.lease });
    }),
    /** Account notices become event-log entries, with the account machine's own field names. */
    relay: enqueueActions(({ event, enqueue }) => {
      const e = event as AccountNotice;
      const who = { provider: e.provider, accountId: e.accountId };
      switch (e.type) {
        case "ACCOUNT.COOLDOWN":
          return enqueue.emit({
            type: "cooldown",
            ...who,
            ms: e.ms,
            until: e.until,
            ...(e.heldElsewhere ? { heldElsewhere: true as const } : {}),
          });
        case "ACCOUNT.CIRCUIT_OPEN":
          return enqueue.emit({ type: "circuitOpen", ...who, ms: e.ms, until: e.until, failures: e.failures });
        case "ACCOUNT.CIRCUIT_HALF_OPEN":
          return enqueue.emit({ type: "circuitHalfOpen", ...who });
        case "ACCOUNT.CIRCUIT_CLOSE":
          return enqueue.emit({ type: "circuitClose", ...who });
      }
    }),
  },
}).createMachine({
  id: "broker",
  context: ({ input, spawn, self }) => {
    const specs: Record<string, BrokerAccountSpec> = {};
    const accounts: Record<string, AccountRef> = {};
    for (const spec of input.accounts) {
      const key = accountKey(spec.provider, spec.id);
      if (specs[key]) throw new Error(`broker: account "${key}" is listed twice; ids must be unique per provider`);
      specs[key] = spec;
      accounts[key] = spawn("account", {
        id: `account:${key}`,
        input: { provider: spec.provider, id: spec.id, tier: tierOf(spec), policy: input.policy ?? {}, notify: self },
      }) as AccountRef;
    }
    return {
      accounts,
      specs,
      leases: {},
      ended: [],
      lastPick: {},
      waiters: [],
      seq: 0,
      policy: resolveAccountPolicy(input.policy),
      now: input.now ?? (() => Date.now()),
    };
  },
  on: {
    "LEASE.REQUEST": { actions: "request" },
    "LEASE.RENEW": { actions: "renew" },
    "LEASE.CANCEL": { actions: "cancel" },
    RELEASE: { actions: "release" },
    MARK_RATE_LIMITED: { actions: "markRateLimited" },
    SYNC: { actions: "sync" },
    "ACCOUNT.AVAILABLE": { actions: "serveWaiters" },
    "ACCOUNT.LEASE_EXPIRED": { actions: "leaseExpired" },
    "ACCOUNT.COOLDOWN": { actions: "relay" },
    "ACCOUNT.CIRCUIT_OPEN": { actions: "relay" },
    "ACCOUNT.CIRCUIT_HALF_OPEN": { actions: "relay" },
    "ACCOUNT.CIRCUIT_CLOSE": { actions: "relay" },
  },
});

export type BrokerMachine = typeof brokerMachine;
export type BrokerSnapshot = ReturnType<ActorRefFrom<BrokerMachine>["getSnapshot"]>;
