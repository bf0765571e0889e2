/**
 * The account statechart's input, context, events and notices.
 *
 * Events IN (all from the broker; `at` = the broker's now):
 *   { type: "LEASE",     leaseId, sessionId, at }
 *   { type: "RENEW",     leaseId, at }                         restarts the lease TTL
 *   { type: "RELEASE",   leaseId, ok, failureMode?, retryAfterMs?, skipCircuit?, at }
 *   { type: "COOL_DOWN", ms?, at }                             ms defaults to policy.cooldownMs
 *   { type: "TRIP",      ms?, at }                             open the circuit (restore / another conductor)
 * A RELEASE counts as a circuit failure unless ok, `rate_limited` (the account works, it is only
 * throttled: it cools down instead), `killed` (the user's doing) or `skipCircuit`.
 *
 * Notices OUT: emitted (`actor.on`) and, when the input names a `notify` actor, sent to it:
 *   ACCOUNT.COOLDOWN { provider, accountId, ms, until, heldElsewhere? }   cooling started or extended
 *   ACCOUNT.CIRCUIT_OPEN { provider, accountId, ms, until, failures }
 *   ACCOUNT.CIRCUIT_HALF_OPEN { provider, accountId }
 *   ACCOUNT.CIRCUIT_CLOSE { provider, accountId }
 *   ACCOUNT.LEASE_EXPIRED { provider, accountId, leaseId, sessionId }
 *   ACCOUNT.AVAILABLE { provider, accountId }                    it can be leased again
 */
import type { AnyActorRef } from "xstate";
import type { AccountPolicy, AccountPolicyOverrides, Tier } from "./account.policy.js";

export interface AccountInput {
  provider: string;
  id: string;
  tier?: Tier;
  policy?: AccountPolicyOverrides;
  /** Receives every notice (the broker passes itself). */
  notify?: AnyActorRef;
}

export interface AccountLeaseRecord {
  leaseId: string;
  sessionId: string;
  since: number;
  expiresAt: number;
  halfOpen: boolean;
}

export interface AccountContext {
  provider: string;
  id: string;
  tier: Tier;
  policy: AccountPolicy;
  notify: AnyActorRef | undefined;
  lease: AccountLeaseRecord | null;
  /** Counted failures still inside the window; each is forgotten by its own delayed event. */
  failures: { id: number; at: number }[];
  nextFailureId: number;
  /** End of a cool-down, also recorded while leased or open (honoured when that ends). */
  coolingUntil: number | null;
  /** Remaining cool-down when `cooling` was entered: the `cooldown` delay. */
  coolingMs: number;
  /** The cool-down only waits for another conductor's run on the account (account.release.ts). */
  heldElsewhere: boolean;
  openUntil: number | null;
  openMs: number;
  /** The circuit still owes a trial: after this cool-down go half-open, not idle. */
  halfOpenPending: boolean;
}

type FailureMode = string;
export type AccountEvent =
  | { type: "LEASE"; leaseId: string; sessionId: string; at: number }
  | { type: "RENEW"; leaseId: string; at: number }
  | {
      type: "RELEASE";
      leaseId: string;
      ok: boolean;
      failureMode?: FailureMode;
      retryAfterMs?: number;
      skipCircuit?: boolean;
      at: number;
    }
  | { type: "COOL_DOWN"; ms?: number; at: number }
  | { type: "TRIP"; ms?: number; at: number }
  | { type: "FAILURE.EXPIRE"; failureId: number };

export type Who = { provider: string; accountId: string };
export type AccountNotice =
  | ({ type: "ACCOUNT.COOLDOWN"; ms: number; until: number; heldElsewhere?: true } & Who)
  | ({ type: "ACCOUNT.CIRCUIT_OPEN"; ms: number; until: number; failures: number } & Who)
  | ({ type: "ACCOUNT.CIRCUIT_HALF_OPEN" } & Who)
  | ({ type: "ACCOUNT.CIRCUIT_CLOSE" } & Who)
  | ({ type: "ACCOUNT.LEASE_EXPIRED"; leaseId: string; sessionId: string } & Who)
  | ({ type: "ACCOUNT.AVAILABLE" } & Who);
