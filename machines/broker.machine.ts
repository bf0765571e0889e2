/**
 * The account broker: one actor (`systemId: "broker"` in the conductor's system) that owns one
 * account actor per configured account and hands out leases. Pure: its clock is injected
 * (`input.now`, SimulatedClock's `now` in tests) and only stamps events and ETAs; every timer lives
 * in the account actors as a named delay. It never sees a secret: accounts arrive as public specs
 * (env variable NAMES only; values are resolved by the runtime after a grant).
 *
 * Events IN
 *   { type: "LEASE.REQUEST", provider, sessionId, requireHost?, wait?, replyTo? }
 *       requireHost: only accounts bound to that host; without it only accounts with no host.
 *       wait: when none is free, queue the request (FIFO) and grant it when one frees up.
 *   { type: "LEASE.RENEW", accountId, sessionId, provider? }       restarts the lease TTL
 *   { type: "LEASE.CANCEL", sessionId, provider? }                 drops a queued request
 *   { type: "RELEASE", accountId, sessionId, ok, failureMode?, retryAfterMs?, skipCircuit?, provider? }
 *       exactly once per lease; a second (or late, or unknown) release is only reported.
 *   { type: "MARK_RATE_LIMITED", accountId, ms, provider? }       cool the account down for ms
 *   { type: "SYNC", cooldowns: [{ provider, accountId, until }], circuits: [{ provider, accountId, until }] }
 *       cool-downs and open circuits from the state file (a restart, or another conductor).
 *   `provider` is optional where an account id is enough; without it every provider's account of
 *   that id is meant (ids are unique per provider only).
 *
 * Replies (sent to `replyTo`; XState events carry no sender)
 *   { type: "LEASE.GRANTED", lease: Lease }
 *   { type: "LEASE.UNAVAILABLE", provider, sessionId, etaMs: number | null, code, reason }
 *   { type: "LEASE.QUEUED", provider, sessionId, etaMs, code, reason, position }   (wait: true)
 *   { type: "LEASE.EXPIRED", lease }                              the holder's lease timed out
 *
 * Emitted (`actor.on`), for the event log; no secret values:
 *   lease, noLease, release, duplicateRelease, cooldown, circuitOpen, circuitHalfOpen,
 *   circuitClose, tierFallback, leaseExpired   (shapes: BrokerEmitted below)
 */
import { type ActorRefFrom, type AnyActorRef, enqueueActions, setup } from "xstate";
import {
  type AccountMode,
  accountAvailability,
  accountMachine,
  type AccountEvent,
  type AccountNotice,
  type AccountPolicyOverrides,
  resolveAccountPolicy,
  type AccountPolicy,
  type Tier,
  TIERS,
} from "./account.machine.js";

/** What the broker knows of an account: no secret values, only names and paths. */
export interface BrokerAccountSpec {
  provider: string;
  id: string;
  mode: AccountMode;
  tier?: Tier;
  host?: string;
  profile?: string;
  /** Names of the env variables this account sets (values are resolved after the grant). */
  envKeys?: readonly string[];
  authFile?: string;
}

export interface Lease {
  leaseId: string;
  accountId: string;
  provider: string;
  sessionId: string;
  mode: AccountMode;
  tier: Tier;
  /** This lease is the circuit's one trial: its release decides whether the circuit closes. */
  halfOpen: boolean;
  host?: string;
  profile?: string;
  envKeys?: readonly string[];
  authFile?: string;
  grantedAt: number;
  expiresAt: number;
}

export type UnavailableCode = "no_accounts" | "all_busy";

export interface BrokerInput {
  accounts: readonly BrokerAccountSpec[];
  policy?: AccountPolicyOverrides;
  /** Epoch ms. Defaults to Date.now; tests pass SimulatedClock's `now`. */
  now?: () => number;
}

type AccountRef = ActorRefFrom<typeof accountMachine>;

interface ActiveLease {
  lease: Lease;
  key: string;
  replyTo: AnyActorRef | undefined;
}

interface Waiter {
  provider: string;
  sessionId: string;
  requireHost: string | undefined;
  replyTo: AnyActorRef | undefined;
}

export interface BrokerContext {
  /** key = `${provider}/${id}`, in config order. */
  accounts: Record<string, AccountRef>;
  specs: Record<string, BrokerAccountSpec>;
  leases: Record<string, ActiveLease>;
  /** Recently ended leases (bounded), to tell a duplicate release from an unknown one. */
  ended: { leaseId: string; key: string; sessionId: string; why: "released" | "expired" }[];
  /** Last account leased per `${provider}/${tier}`: round-robin within a tier. */
  lastPick: Record<string, string>;
  waiters: Waiter[];
  seq: number;
  policy: AccountPolicy;
  now: () => number;
}

type RequestEvent = {
  type: "LEASE.REQUEST";
  provider: string;
  sessionId: string;
  requireHost?: string;
  wait?: boolean;
  replyTo?: AnyActorRef;
};
type ReleaseEvent = {
  type: "RELEASE";
  accountId: string;
  sessionId: string;
  ok: boolean;
  failureMode?: string;
  retryAfterMs?: number;
  skipCircuit?: boolean;
  provider?: string;
};
type Until = { provider: string; accountId: string; until: number };

export type BrokerEvent =
  | RequestEvent
  | { type: "LEASE.RENEW"; accountId: string; sessionId: string; provider?: string }
  | { type: "LEASE.CANCEL"; sessionId: string; provider?: string }
  | ReleaseEvent
  | { type: "MARK_RATE_LIMITED"; accountId: string; ms: number; provider?: string }
  | { type: "SYNC"; cooldowns?: readonly Until[]; circuits?: readonly Until[] }
  | AccountNotice;

export type BrokerReply =
  | { type: "LEASE.GRANTED"; lease: Lease }
  | { type: "LEASE.UNAVAILABLE"; provider: string; sessionId: string; etaMs: number | null; code: UnavailableCode; reason: string }
  | { type: "LEASE.QUEUED"; provider: string; sessionId: string; etaMs: number | null; code: UnavailableCode; reason: string; position: number }
  | { type: "LEASE.EXPIRED"; lease: Lease };

type AccountEventOut = Exclude<AccountEvent, { type: "FAILURE.EXPIRE" }>;
type Who = { provider: string; accountId: string };
export type BrokerEmitted =
  | { type: "lease"; lease: Lease }
  | { type: "noLease"; provider: string; sessionId: string; etaMs: number | null; code: UnavailableCode; reason: string; queued: boolean }
  | ({ type: "release"; sessionId: string; leaseId: string; ok: boolean; failureMode: string | null } & Who)
  | ({ type: "duplicateRelease"; sessionId: string; why: "already_released" | "expired" | "unknown_lease" } & Who)
  | ({ type: "cooldown"; ms: number; until: number } & Who)
  | ({ type: "circuitOpen"; ms: number; until: number; failures: number } & Who)
  | ({ type: "circuitHalfOpen" } & Who)
  | ({ type: "circuitClose" } & Who)
  | ({ type: "tierFallback"; sessionId: string; from: Tier; to: Tier } & Who)
  | ({ type: "leaseExpired"; sessionId: string; leaseId: string } & Who);

export const accountKey = (provider: string, id: string) => `${provider}/${id}`;
const tierOf = (s: BrokerAccountSpec): Tier => s.tier ?? "unknown";
const rank = (t: Tier) => TIERS.indexOf(t);
const ENDED_KEPT = 256;

/** Accounts a request may use, in config order. */
function eligible(ctx: Pick<BrokerContext, "specs">, provider: string, requireHost: string | undefined): string[] {
  return Object.keys(ctx.specs).filter((k) => {
    const s = ctx.specs[k] as BrokerAccountSpec;
    return s.provider === provider && (requireHost === undefined ? s.host === undefined : s.host === requireHost);
  });
}

type Pick_ = { key: string; fallbackFrom: Tier | null };
type Refusal = { etaMs: number | null; code: UnavailableCode; reason: string };

/**
 * Best tier first, round-robin within a tier (starting after the last account leased there).
 * `taken` holds accounts granted earlier in this same step (their actors have not moved yet).
 */
function choose(ctx: BrokerContext, provider: string, requireHost: string | undefined, now: number, taken: ReadonlySet<string>): Pick_ | Refusal {
  const keys = eligible(ctx, provider, requireHost);
  if (keys.length === 0) {
    const where = requireHost === undefined ? "" : ` bound to host "${requireHost}"`;
    return { etaMs: null, code: "no_accounts", reason: `no ${provider} account${where} is configured` };
  }
  const busy = new Set([...taken, ...Object.values(ctx.leases).map((l) => l.key)]);
  const free = (k: string) => !busy.has(k) && accountAvailability((ctx.accounts[k] as AccountRef).getSnapshot(), now).leasable;
  const best = Math.min(...keys.map((k) => rank(tierOf(ctx.specs[k] as BrokerAccountSpec))));
  for (const tier of TIERS) {
    const inTier = keys.filter((k) => tierOf(ctx.specs[k] as BrokerAccountSpec) === tier);
    if (inTier.length === 0) continue;
    const after = inTier.indexOf(ctx.lastPick[`${provider}/${tier}`] ?? "");
    for (let i = 1; i <= inTier.length; i++) {
      const k = inTier[(after + i) % inTier.length] as string;
      if (free(k)) return { key: k, fallbackFrom: rank(tier) > best ? (TIERS[best] as Tier) : null };
    }
  }
  const parts = keys.map((k) => {
    const a = accountAvailability((ctx.accounts[k] as AccountRef).getSnapshot(), now);
    const status = busy.has(k) && a.leasable ? "leased" : a.status;
    return `${(ctx.specs[k] as BrokerAccountSpec).id} ${status}${a.etaMs ? ` (~${Math.ceil(a.etaMs / 1000)}s)` : ""}`;
  });
  return {
    etaMs: etaOver(ctx, keys, now),
    code: "all_busy",
    reason: `every ${provider} account is busy: ${parts.join(", ")}`,
  };
}

function etaOver(ctx: Pick<BrokerContext, "accounts">, keys: readonly string[], now: number): number | null {
  let eta: number | null = null;
  for (const k of keys) {
    const ref = ctx.accounts[k];
    if (!ref) continue;
    const e = accountAvailability(ref.getSnapshot(), now).etaMs;
    if (e !== null && (eta === null || e < eta)) eta = e;
  }
  return eta;
}

/**
 * When the next account of `provider` frees up, in ms from `now` (0: one is free now; an account
 * on lease counts at its lease expiry, an upper bound); null when none is configured.
 * Pure over the broker's snapshot.
 */
export function nextAvailableEta(
  snapshot: { context: BrokerContext },
  provider: string,
  now: number = snapshot.context.now(),
  requireHost?: string,
): number | null {
  const ctx = snapshot.context;
  return etaOver(ctx, eligible(ctx, provider, requireHost), now);
}

/** Keys of the accounts an event names (`provider` optional). */
function keysFor(ctx: BrokerContext, accountId: string, provider?: string): string[] {
  return Object.keys(ctx.specs).filter((k) => {
    const s = ctx.specs[k] as BrokerAccountSpec;
    return s.id === accountId && (provider === undefined || s.provider === provider);
  });
}

/** The part of XState's enqueuer the helpers below use. */
interface Enqueue {
  emit: (e: BrokerEmitted) => void;
  sendTo: (to: AnyActorRef, e: BrokerReply | AccountEventOut) => void;
}

function reply(enqueue: Enqueue, to: AnyActorRef | undefined, msg: BrokerReply) {
  if (to) enqueue.sendTo(to, msg);
}

/**
 * Serves requests in order (fresh ones and queued ones alike), then records every grant in one
 * assignment. Refused `wait` requests stay queued; others get UNAVAILABLE.
 */
function serve(ctx: BrokerContext, enqueue: Enqueue, requests: readonly (Waiter & { wait: boolean; fresh: boolean })[]) {
  const now = ctx.now();
  const leases = { ...ctx.leases };
  const lastPick = { ...ctx.lastPick };
  const waiters: Waiter[] = [];
  const taken = new Set<string>();
  let seq = ctx.seq;
  const work = { ...ctx, leases, lastPick };
  for (const req of requests) {
    const held = Object.values(leases).find((l) => l.lease.sessionId === req.sessionId && l.lease.provider === req.provider);
    if (held) {
      // A repeated request is answered with the lease the session already holds.
      reply(enqueue, req.replyTo, { type: "LEASE.GRANTED", lease: held.lease });
      continue;
    }
    const pick = choose(work, req.provider, req.requireHost, now, taken);
    if ("key" in pick) {
      const spec = ctx.specs[pick.key] as BrokerAccountSpec;
      const availability = accountAvailability((ctx.accounts[pick.key] as AccountRef).getSnapshot(), now);
      const leaseId = `${pick.key}#${++seq}`;
      const lease: Lease = {
        leaseId,
        accountId: spec.id,
        provider: spec.provider,
        sessionId: req.sessionId,
        mode: spec.mode,
        tier: tierOf(spec),
        halfOpen: availability.halfOpen,
        ...(spec.host !== undefined ? { host: spec.host } : {}),
        ...(spec.mode === "profile" && spec.profile !== undefined ? { profile: spec.profile } : {}),
        ...(spec.mode === "env" ? { envKeys: [...(spec.envKeys ?? [])] } : {}),
        ...(spec.mode === "auth" && spec.authFile !== undefined ? { authFile: spec.authFile } : {}),
        grantedAt: now,
        expiresAt: now + ctx.policy.leaseTtlMs,
      };
      taken.add(pick.key);
      leases[leaseId] = { lease, key: pick.key, replyTo: req.replyTo };
      lastPick[`${spec.provider}/${lease.tier}`] = pick.key;
      enqueue.sendTo(ctx.accounts[pick.key] as AccountRef, { type: "LEASE", leaseId, sessionId: req.sessionId, at: now });
      if (pick.fallbackFrom) {
        enqueue.emit({ type: "tierFallback", provider: spec.provider, accountId: spec.id, sessionId: req.sessionId, from: pick.fallbackFrom, to: lease.tier });
      }
      enqueue.emit({ type: "lease", lease });
      reply(enqueue, req.replyTo, { type: "LEASE.GRANTED", lease });
      continue;
    }
    if (req.wait) {
      waiters.push({ provider: req.provider, sessionId: req.sessionId, requireHost: req.requireHost, replyTo: req.replyTo });
      // Only a fresh request is answered and logged; a queued one simply stays queued.
      if (req.fresh) {
        const position = waiters.filter((w) => w.provider === req.provider).length;
        enqueue.emit({ type: "noLease", provider: req.provider, sessionId: req.sessionId, ...pick, queued: true });
        reply(enqueue, req.replyTo, { type: "LEASE.QUEUED", provider: req.provider, sessionId: req.sessionId, ...pick, position });
      }
      continue;
    }
    enqueue.emit({ type: "noLease", provider: req.provider, sessionId: req.sessionId, ...pick, queued: false });
    reply(enqueue, req.replyTo, { type: "LEASE.UNAVAILABLE", provider: req.provider, sessionId: req.sessionId, ...pick });
  }
  return { leases, lastPick, seq, waiters };
}

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
        .map((w) => (again(w) ? { ...w, replyTo: e.replyTo ?? w.replyTo, wait: true, fresh: true } : { ...w, wait: true, fresh: false }));
      const fresh = { provider: e.provider, sessionId: e.sessionId, requireHost: e.requireHost, replyTo: e.replyTo, wait: e.wait === true, fresh: true };
      const out = serve(context, enqueue, context.waiters.some(again) ? queued : [...queued, fresh]);
      const others = context.waiters.filter((w) => w.provider !== e.provider);
      enqueue.assign({ leases: out.leases, lastPick: out.lastPick, seq: out.seq, waiters: [...others, ...out.waiters] });
    }),
    serveWaiters: enqueueActions(({ context, event, enqueue }) => {
      const provider = (event as Extract<AccountNotice, { type: "ACCOUNT.AVAILABLE" }>).provider;
      const queued = context.waiters.filter((w) => w.provider === provider);
      if (queued.length === 0) return;
      const out = serve(context, enqueue, queued.map((w) => ({ ...w, wait: true, fresh: false })));
      const others = context.waiters.filter((w) => w.provider !== provider);
      enqueue.assign({ leases: out.leases, lastPick: out.lastPick, seq: out.seq, waiters: [...others, ...out.waiters] });
    }),
    cancel: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<BrokerEvent, { type: "LEASE.CANCEL" }>;
      const keep = (w: Waiter) => !(w.sessionId === e.sessionId && (e.provider === undefined || w.provider === e.provider));
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
        ([, l]) => l.lease.accountId === e.accountId && l.lease.sessionId === e.sessionId && (e.provider === undefined || l.lease.provider === e.provider),
      );
      if (!match) {
        const ended = [...context.ended].reverse().find(
          (x) => x.sessionId === e.sessionId && keysFor(context, e.accountId, e.provider).includes(x.key),
        );
        const why = ended === undefined ? "unknown_lease" : ended.why === "expired" ? "expired" : "already_released";
        enqueue.emit({ type: "duplicateRelease", provider: e.provider ?? ended?.key.split("/")[0] ?? "", accountId: e.accountId, sessionId: e.sessionId, why });
        // A rate limit seen after the lease expired is still true of the account.
        if (why === "expired" && e.failureMode === "rate_limited" && ended) {
          enqueue.sendTo(context.accounts[ended.key] as AccountRef, { type: "COOL_DOWN", ms: e.retryAfterMs ?? context.policy.cooldownMs, at: now });
        }
        return;
      }
      const [leaseId, active] = match;
      const leases = { ...context.leases };
      delete leases[leaseId];
      enqueue.assign({
        leases,
        ended: [...context.ended, { leaseId, key: active.key, sessionId: e.sessionId, why: "released" as const }].slice(-ENDED_KEPT),
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
        ended: [...context.ended, { leaseId: e.leaseId, key, sessionId: e.sessionId, why: "expired" as const }].slice(-ENDED_KEPT),
      });
      enqueue.emit({ type: "leaseExpired", provider: e.provider, accountId: e.accountId, sessionId: e.sessionId, leaseId: e.leaseId });
      if (active) reply(enqueue, active.replyTo, { type: "LEASE.EXPIRED", lease: active.lease });
    }),
    /** Account notices become event-log entries, with the account machine's own field names. */
    relay: enqueueActions(({ event, enqueue }) => {
      const e = event as AccountNotice;
      const who = { provider: e.provider, accountId: e.accountId };
      switch (e.type) {
        case "ACCOUNT.COOLDOWN":
          return enqueue.emit({ type: "cooldown", ...who, ms: e.ms, until: e.until });
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
