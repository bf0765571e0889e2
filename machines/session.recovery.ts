/**
 * Whether and when a failed session runs again, from its judged failure: a failure a restart cannot
 * help, a plan's usage limit that is a pause rather than a crash, and the wait before the next run.
 * Pure helpers the guards and delays of session.base.ts call.
 */
import { TERMINAL_CLASSES } from "./agents/index.js";
import type { JudgedContext } from "./session.judgement.js";
import { backoffDelay } from "./session.policy.js";
import type { FailureMode } from "./session.types.js";

/** A restart asks the same unanswered question again: as final as the CLI's terminal classes. */
const TERMINAL_MODES = new Set<string>([...TERMINAL_CLASSES, "input_wait_timeout"]);

/** A restart cannot help: the CLI said so, or its rate limit resets later than the policy waits. */
export function cannotRecover(c: JudgedContext & { failureMode: FailureMode | null; retryAfterMs: number | null }) {
  if (c.failureMode === null) return false;
  if (TERMINAL_MODES.has(c.failureMode)) return true;
  return (
    c.failureMode === "rate_limited" &&
    c.account === null &&
    c.retryAfterMs !== null &&
    c.retryAfterMs > c.policy.rateLimitMaxWaitMs
  );
}

/** A reset at least this far away is a plan's window (hours: "resets 3pm"), not a throttle of seconds. */
export const LIMIT_PAUSE_MIN_MS = 10 * 60_000;

/**
 * A usage limit the session waits out is a pause, not a crash: it does not use up `maxRestarts`.
 * That is when the CLI named a reset at least LIMIT_PAUSE_MIN_MS away (claude's "resets 3pm", codex's
 * "try again at 2:21 AM", gemini's daily quota): counted, a session on a 5-hour plan died at its fourth
 * limit of the day. A throttle of seconds ("Suggested retry after 39s", "Try again in 1 second") or a
 * 429 naming no reset still counts: a CLI limited again at once would otherwise rerun for ever.
 * `maxRestarts: 0` still means no restart at all.
 */
export function limitPause(
  c: JudgedContext & { failureMode: FailureMode | null; retryAfterMs: number | null },
): boolean {
  return (
    c.failureMode === "rate_limited" &&
    c.policy.maxRestarts > 0 &&
    c.retryAfterMs !== null &&
    c.retryAfterMs >= LIMIT_PAUSE_MIN_MS
  );
}

/**
 * Before restart n (1-based, in the window): a rate limit without an account pool waits for its
 * reset (or `rateLimitWaitMs` when the CLI named none); with a pool the broker switches accounts,
 * so only the usual backoff applies. `network`/`crash` back off from `failureBackoffInitialMs`.
 */
export function restartDelay(
  c: JudgedContext & { failureMode: FailureMode | null; retryAfterMs: number | null },
  n: number,
): number {
  const p = c.policy;
  // A limit's pause is not counted (limitPause): the first restart's backoff, or the one after the last crash.
  const usual = backoffDelay(p, Math.max(1, n));
  if (c.failureMode === "rate_limited" && c.account === null) {
    return Math.max(usual, Math.min(p.rateLimitMaxWaitMs, c.retryAfterMs ?? p.rateLimitWaitMs));
  }
  if (c.failureMode === "network" || c.failureMode === "crash") {
    return backoffDelay({ ...p, backoffInitialMs: Math.max(p.backoffInitialMs, p.failureBackoffInitialMs) }, n);
  }
  return usual;
}
