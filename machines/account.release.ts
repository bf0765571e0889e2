/**
 * The rules that say what a RELEASE means for an account: counted as a failure (circuit breaker),
 * a rate limit, and when its cool-down ends. Apart from account.policy.ts so the account types can
 * use the policy types without an import cycle.
 */
import type { AccountContext, AccountEvent } from "./account.types.js";

type Release = Extract<AccountEvent, { type: "RELEASE" }>;

export const countsAsFailure = (e: Release) =>
  !e.ok && !e.skipCircuit && e.failureMode !== "rate_limited" && e.failureMode !== "killed";
export const isRateLimited = (e: Release) => !e.ok && e.failureMode === "rate_limited";
/** Cool-down end after this release (rate limit hint, or one recorded while leased). */
export const coolingAfter = (c: AccountContext, e: Release): number | null => {
  const fromRelease = isRateLimited(e) ? e.at + (e.retryAfterMs ?? c.policy.cooldownMs) : null;
  const until = Math.max(fromRelease ?? -Infinity, c.coolingUntil ?? -Infinity);
  return until > e.at ? until : null;
};
