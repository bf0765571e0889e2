/**
 * The rules that say what a RELEASE means for an account: counted as a failure (circuit breaker),
 * a rate limit, and when its cool-down ends. Apart from account.policy.ts so the account types can
 * use the policy types without an import cycle.
 */
import type { AccountContext, AccountEvent } from "./account.types.js";

type Release = Extract<AccountEvent, { type: "RELEASE" }>;

/**
 * The session found the account in use by another conductor on the machine (src/account-claims.ts):
 * not the account's fault, and not its condition either (the state file does not keep it), but it
 * is out of reach until that run ends, so it cools for the hint and is tried again.
 */
export const HELD_ELSEWHERE = "held_elsewhere";

export const countsAsFailure = (e: Release) =>
  !e.ok &&
  !e.skipCircuit &&
  e.failureMode !== "rate_limited" &&
  e.failureMode !== "killed" &&
  e.failureMode !== HELD_ELSEWHERE;
export const isHeldElsewhere = (e: Release) => !e.ok && e.failureMode === HELD_ELSEWHERE;
/** A release after which the account cools: a rate limit, or a run found it held elsewhere. */
export const coolsOnRelease = (e: Release) => !e.ok && (e.failureMode === "rate_limited" || isHeldElsewhere(e));
/** Cool-down end after this release (rate limit hint, or one recorded while leased). */
export const coolingAfter = (c: AccountContext, e: Release): number | null => {
  const fromRelease = coolsOnRelease(e) ? e.at + (e.retryAfterMs ?? c.policy.cooldownMs) : null;
  const until = Math.max(fromRelease ?? -Infinity, c.coolingUntil ?? -Infinity);
  return until > e.at ? until : null;
};
