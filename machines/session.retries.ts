/**
 * The CLI's own retries as the session chart reads them: a notice on screen, a failed call its
 * telemetry reported (its own retry, or a limit once it retried too often in a turn), the words
 * `lastError` says meanwhile, and when those words are over (the call went through).
 */
import {
  judgeReportedError,
  type FailureVerdict,
  redactSecrets,
  retryOnScreen,
  type ScreenRetry,
  workKey,
} from "./agents/index.js";
import { type JudgedContext, profileOf, runClock, runIsOneShot, screenOf } from "./session.judgement.js";
import type { AgentRetryEvent, ChildEvent, TelemetryErrorEvent } from "./session.types.js";

type Output = Extract<ChildEvent, { type: "CHILD.OUTPUT" }>;

/** An API error the CLI's own telemetry recorded while it runs, judged by its profile (or null). */
export function reportedFailure(c: JudgedContext, e: TelemetryErrorEvent): FailureVerdict | null {
  return judgeReportedError(profileOf(c), e, { now: e.at, timeZone: runClock(c).timeZone }, c.reportedRetries ?? 0);
}
/**
 * A failed call the CLI's telemetry reported that counts toward this turn's bound (`reportedRetries`):
 * one it retries by itself (its profile says so), or any, for a profile that bounds them all
 * (`reportedErrorLimit`: gemini's TUI called a missing model 41k times in 4 minutes, a field review).
 */
export function retriedByItself(c: JudgedContext, e: TelemetryErrorEvent): boolean {
  const profile = profileOf(c);
  return profile.retriesReported?.(e) === true || profile.reportedErrorLimit !== undefined;
}

/** A retry notice on this run's screen that was not read before (a redraw of the same one is not). */
export function newScreenRetry(
  c: JudgedContext & { generation: number; screenRetry: string },
  e: Output,
): ScreenRetry | null {
  if (e.generation !== c.generation) return null;
  const retry = retryOnScreen(profileOf(c), screenOf(e));
  return retry !== null && retry.key !== c.screenRetry ? retry : null;
}

const RETRIES = "; the CLI retries";
/** `lastError` while the CLI retries by itself: "overloaded (HTTP 529); the CLI retries: 3 of 10, in 2.3 s". */
export function retryNotice(e: Pick<AgentRetryEvent, "attempt" | "of" | "delayMs" | "status" | "error">): string {
  const what = e.status === null ? e.error || "error" : `${e.error || "error"} (HTTP ${e.status})`;
  const which = e.attempt === null ? "" : e.of === null ? `: ${e.attempt}` : `: ${e.attempt} of ${e.of}`;
  const when = e.delayMs === null ? "" : `${which ? "," : ""} in ${Math.round(e.delayMs / 100) / 10} s`;
  return redactSecrets(`${what}${RETRIES}${which}${when}`);
}
/** A `lastError` that is a retry the CLI announced (retryNotice), not a failure. */
export const isRetryNotice = (lastError: string | null) => lastError?.includes(RETRIES) === true;

/**
 * A retry whose call went through: the screen's content changed since the retry was noted (not a busy
 * clock, not a spinner), past its output, with no retry notice on it. Its words leave `lastError` (a
 * run that works on after a retry said it still waited on one until its exit or its composer).
 */
export function retryThrough(
  c: JudgedContext & { lastError: string | null; retryShown: RetryShown | null },
  bytes: number,
  screen: readonly string[],
): { lastError?: null; retryShown?: RetryShown | null } {
  const shown = c.retryShown;
  if (shown === null || bytes <= shown.outputBytes) return {};
  const key = workKey(profileOf(c), screen);
  if (key === shown.content) return shown.changed === undefined ? {} : { retryShown: withoutChange(shown) };
  if (retryOnScreen(profileOf(c), screen) !== null) return {};
  // A screen drawn again (not a one-shot's lines) counts new words once a second reading shows them too:
  // a redraw read half done differs once (gemini's TUI erases its footer and draws it again, ten times
  // a second, with no synchronized update: a field review saw a 500 it still retried leave lastError
  // 6 s into 3 minutes of retries).
  if (shown.changed !== key && !runIsOneShot(c)) return { retryShown: { ...shown, changed: key } };
  return isRetryNotice(c.lastError) ? { lastError: null, retryShown: null } : { retryShown: null };
}

/** What the screen showed when a retry was noted, and a changed content seen once since (retryThrough). */
export interface RetryShown {
  outputBytes: number;
  content: string;
  changed?: string;
}

const withoutChange = ({ changed: _changed, ...shown }: RetryShown): RetryShown => shown;
