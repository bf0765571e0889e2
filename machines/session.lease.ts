/**
 * How a session gets an account for each run: the events it exchanges with the broker
 * (`systemId: "broker"`, machines/broker.machine.ts) and with its credential-home actor.
 * Pure types and helpers; the session machine wires them.
 *
 *   starting.leasing   → LEASE.REQUEST { wait: true, replyTo: session }
 *                      ← LEASE.GRANTED | LEASE.QUEUED (wait, with an ETA) | LEASE.UNAVAILABLE
 *   starting.preparing → credentialHome actor: CREDENTIALS.READY { envRef } | CREDENTIALS.ERROR
 *                      | CREDENTIALS.BUSY (held by another conductor: RELEASE held_elsewhere, back to leasing)
 *   starting.launching → the run, with the leased credentials (by reference, never in context)
 *   failed / completed → RELEASE { ok, failureMode, retryAfterMs }, exactly once per lease
 */
import type { FailureMode } from "./session.types.js";

/** What a session asks for. */
export interface AccountRequirement {
  /** Broker provider (`codex`, `gemini`, `claude`). */
  provider: string;
  /** Only accounts bound to this host (remote sessions). */
  requireHost?: string;
}

/** The part of a broker lease a session keeps (plain data, no secrets). */
export interface SessionLease {
  leaseId: string;
  accountId: string;
  provider: string;
  tier: string;
  halfOpen: boolean;
  /** Other accounts of the provider the broker could lease instead (a credentials failure tries one). */
  alternatives: number;
  /** Lease time-to-live as granted; the session renews at half of it while the run lasts. */
  ttlMs: number;
}

export type LeaseEvent =
  | {
      type: "LEASE.GRANTED";
      lease: Omit<SessionLease, "ttlMs" | "alternatives"> & {
        alternatives?: number;
        grantedAt?: number;
        expiresAt?: number;
      } & Record<string, unknown>;
    }
  | { type: "LEASE.QUEUED"; etaMs: number | null; reason: string; position?: number }
  | { type: "LEASE.UNAVAILABLE"; etaMs: number | null; code: string; reason: string }
  | { type: "LEASE.EXPIRED"; lease: { leaseId: string } }
  /** Internal, delayed: time to renew the held lease. */
  | { type: "LEASE.RENEW_DUE"; leaseId: string }
  | { type: "CREDENTIALS.READY"; envRef?: string; profile?: string }
  | { type: "CREDENTIALS.ERROR"; message: string }
  /** Another conductor on the machine runs on this account now (src/account-claims.ts): lease again later. */
  | { type: "CREDENTIALS.BUSY"; message: string; retryAfterMs: number };

/** Input of the credential-home actor the runtime provides. */
export interface CredentialHomeInput {
  sessionId: string;
  agent: string;
  generation: number;
  lease: Omit<SessionLease, "ttlMs" | "alternatives"> & Record<string, unknown>;
  /** The run's working folder: its project settings may pick a credential too. */
  cwd?: string;
}

/** Default lease TTL of the broker (30 min), when a grant does not say. */
const DEFAULT_TTL_MS = 30 * 60_000;

export const leaseOf = (
  l: Omit<SessionLease, "ttlMs" | "alternatives"> & { alternatives?: number; grantedAt?: number; expiresAt?: number },
): SessionLease => ({
  leaseId: l.leaseId,
  accountId: l.accountId,
  provider: l.provider,
  tier: l.tier,
  halfOpen: l.halfOpen,
  alternatives: typeof l.alternatives === "number" ? l.alternatives : 0,
  ttlMs:
    typeof l.expiresAt === "number" && typeof l.grantedAt === "number" && l.expiresAt > l.grantedAt
      ? l.expiresAt - l.grantedAt
      : DEFAULT_TTL_MS,
});

/**
 * The broker's RELEASE when another conductor holds the account: no verdict on it (no circuit), it
 * cools for `retryAfterMs` so the next request gets another account or waits for this one.
 */
export const heldElsewhereRelease = (sessionId: string, lease: SessionLease, retryAfterMs: number) => ({
  type: "RELEASE" as const,
  provider: lease.provider,
  accountId: lease.accountId,
  sessionId,
  ok: false,
  failureMode: "held_elsewhere",
  retryAfterMs,
  skipCircuit: true,
});

/** The broker's RELEASE for a run that ended. A kill is not the account's fault: skip the circuit. */
export function releaseEvent(
  sessionId: string,
  lease: SessionLease,
  ok: boolean,
  failureMode: FailureMode | null,
  retryAfterMs: number | null,
) {
  return {
    type: "RELEASE" as const,
    provider: lease.provider,
    accountId: lease.accountId,
    sessionId,
    ok,
    ...(failureMode ? { failureMode } : {}),
    ...(retryAfterMs !== null ? { retryAfterMs } : {}),
    ...(failureMode === "killed" ? { skipCircuit: true } : {}),
  };
}
