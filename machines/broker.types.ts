/**
 * The broker's specs, leases, context, events, replies and emitted shapes.
 *
 * Events IN
 *   { type: "LEASE.REQUEST", provider, sessionId, requireHost?, wait?, replyTo? }
 *       requireHost: only accounts bound to that host ("*": to any host); without it only accounts with no host.
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
import type { ActorRefFrom, AnyActorRef } from "xstate";
import type { accountMachine } from "./account.machine.js";
import type { AccountMode, AccountPolicy, AccountPolicyOverrides, Tier } from "./account.policy.js";
import type { AccountEvent, AccountNotice, Who } from "./account.types.js";

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
  /**
   * How many other accounts of the provider the broker could lease this session (whatever their
   * state now): a run whose credentials fail on this one tries another when there is one.
   */
  alternatives?: number;
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

export type AccountRef = ActorRefFrom<typeof accountMachine>;

export interface ActiveLease {
  lease: Lease;
  key: string;
  replyTo: AnyActorRef | undefined;
}

export interface Waiter {
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

export type RequestEvent = {
  type: "LEASE.REQUEST";
  provider: string;
  sessionId: string;
  requireHost?: string;
  wait?: boolean;
  replyTo?: AnyActorRef;
};
export type ReleaseEvent = {
  type: "RELEASE";
  accountId: string;
  sessionId: string;
  ok: boolean;
  failureMode?: string;
  retryAfterMs?: number;
  skipCircuit?: boolean;
  provider?: string;
};
export type Until = { provider: string; accountId: string; until: number };

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
  | {
      type: "LEASE.UNAVAILABLE";
      provider: string;
      sessionId: string;
      etaMs: number | null;
      code: UnavailableCode;
      reason: string;
    }
  | {
      type: "LEASE.QUEUED";
      provider: string;
      sessionId: string;
      etaMs: number | null;
      code: UnavailableCode;
      reason: string;
      position: number;
    }
  | { type: "LEASE.EXPIRED"; lease: Lease };

export type AccountEventOut = Exclude<AccountEvent, { type: "FAILURE.EXPIRE" }>;

export type BrokerEmitted =
  | { type: "lease"; lease: Lease }
  | {
      type: "noLease";
      provider: string;
      sessionId: string;
      etaMs: number | null;
      code: UnavailableCode;
      reason: string;
      queued: boolean;
    }
  | ({ type: "release"; sessionId: string; leaseId: string; ok: boolean; failureMode: string | null } & Who)
  | ({ type: "duplicateRelease"; sessionId: string; why: "already_released" | "expired" | "unknown_lease" } & Who)
  /** `heldElsewhere`: only until another conductor's run on it may have ended (not persisted). */
  | ({ type: "cooldown"; ms: number; until: number; heldElsewhere?: true } & Who)
  | ({ type: "circuitOpen"; ms: number; until: number; failures: number } & Who)
  | ({ type: "circuitHalfOpen" } & Who)
  | ({ type: "circuitClose" } & Who)
  | ({ type: "tierFallback"; sessionId: string; from: Tier; to: Tier } & Who)
  | ({ type: "leaseExpired"; sessionId: string; leaseId: string } & Who);
