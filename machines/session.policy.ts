/**
 * Session policy: the numbers that govern probes and restarts, with their defaults.
 * Pure: the machine reads them from context, the facade and the CLI fill them from user config.
 */

import { backoffMs } from "./backoff.js";
import type { FailureMode } from "./session.types.js";

export interface ProbePolicy {
  /** L1: no output for this long while healthy → `stalled`. Seed default 30 000. */
  stallMs: number;
  /** L3: no first output within this long after start → failure. Seed default 120 000. */
  startupTimeoutMs: number;
  /** L1.5: output quiet this long → look at the screen for a question. Far below stallMs on purpose. */
  inputQuietMs: number;
  /**
   * L1 for a TUI whose busy line ticks on a hung turn: only a counter changed this long → `stalled`.
   * `null`: a ticking counter is progress for ever (as before).
   */
  busyStallMs: number | null;
  /** Stalled this long without new output → failure (and restart). `null`: stay stalled (seed). */
  stallTimeoutMs: number | null;
  /** Extra input-wait patterns (regex source strings) on top of the built-in ones. */
  inputWaitPatterns: readonly string[];
}

export interface RestartPolicy {
  /** At most this many restarts within `windowMs` (seed: 3, over the session's lifetime). */
  maxRestarts: number;
  /**
   * The restart window (OTP intensity/period, systemd StartLimitIntervalSec). `null`: the whole
   * lifetime, as the seed counts. A finite window forgets restarts older than it, so a crash
   * once a day never kills a session, while a crash loop of any speed does (pm2 only counts
   * crashes under 1 s of uptime, so a loop of 2 s crashes runs forever there).
   */
  windowMs: number | null;
  /** Backoff before the n-th restart in the window: initial × factor^(n-1), capped at maxMs. */
  backoffInitialMs: number;
  backoffFactor: number;
  backoffMaxMs: number;
  /**
   * A run that ended because its host was unreachable (`host_unreachable`, after the run's own
   * `hostDownTimeoutMs`) is not a crash: the session waits for the host's link to be back, at most
   * this long, then runs again at once, not counted against `maxRestarts`; still down → `dead`.
   * 0: no wait, such a restart is counted as any other.
   */
  hostWaitMs: number;
  /**
   * A run ended by its host's outage is uncounted only if it had run this long: a shorter one (a host
   * that drops every run within minutes, a flapping link) counts against `maxRestarts` like any
   * failure, so a host that never holds a run ends the session instead of running it for ever.
   */
  hostSteadyMs: number;
}

/** How the agent's own words are judged and acted on (issue 10; docs/agents.md). */
export interface JudgementPolicy {
  /** Judge the output as this agent (`claude`, `codex`, `gemini`); null: by the session's agent. */
  judgeAs: string | null;
  /** IANA zone for clock resets that name none ("resets 3pm"); null: the process's local zone. */
  timeZone: string | null;
  /** Rate limited without a reset time (and no account pool): wait this long before the next run. */
  rateLimitWaitMs: number;
  /** A reset further away than this is not waited for: the session ends `dead` (`rate_limited`). */
  rateLimitMaxWaitMs: number;
  /** `network`/`crash` back off from at least this (then × backoffFactor, capped at backoffMaxMs). */
  failureBackoffInitialMs: number;
  /** One run (spawn to exit) may last at most this long; null: unbounded. */
  maxRunMs: number | null;
  /** Stalled this long → nudge (write `stallNudgeKeys`) before the stall timeout restarts; null: no nudge. */
  stallNudgeMs: number | null;
  stallNudgeKeys: readonly string[];
  /** An unanswered question this long → answer with `inputWaitDefaultKeys`, or fail; null: wait. */
  inputWaitTimeoutMs: number | null;
  /** Keys that answer a timed-out question (once per question); null: fail with `input_wait_timeout`. */
  inputWaitDefaultKeys: readonly string[] | null;
  /** A restart runs `argv` again (`fresh`) or `spec.resumeArgv` when there is one (`resume`). */
  restartMode: "fresh" | "resume";
}

export interface SessionPolicy extends ProbePolicy, RestartPolicy, JudgementPolicy {
  /** Time between SIGTERM and SIGKILL of the child's process tree. Seed default 10 000. */
  graceMs: number;
  /** A run that needs an account waits at most this long for one (then the session is dead). */
  leaseWaitMs: number;
}

export const DEFAULT_POLICY: Readonly<SessionPolicy> = Object.freeze({
  stallMs: 30_000,
  startupTimeoutMs: 120_000,
  inputQuietMs: 1_500,
  // Past claude's default cap on one shell command (10 min, BASH_MAX_TIMEOUT_MS) and three times the
  // CLIs' own 300-s idle timeouts: a turn whose clock alone moved this long is hung (codex without
  // the API's headers waits for ever).
  busyStallMs: 900_000,
  stallTimeoutMs: 120_000,
  inputWaitPatterns: [],
  maxRestarts: 3,
  windowMs: null,
  backoffInitialMs: 0,
  backoffFactor: 2,
  backoffMaxMs: 30_000,
  hostWaitMs: 600_000,
  hostSteadyMs: 300_000,
  graceMs: 10_000,
  leaseWaitMs: 600_000,
  judgeAs: null,
  timeZone: null,
  rateLimitWaitMs: 60_000,
  rateLimitMaxWaitMs: 86_400_000,
  failureBackoffInitialMs: 1_000,
  maxRunMs: null,
  stallNudgeMs: null,
  stallNudgeKeys: ["Enter"],
  inputWaitTimeoutMs: 600_000,
  inputWaitDefaultKeys: null,
  restartMode: "fresh",
});

export type PolicyOverrides = Partial<{ -readonly [K in keyof SessionPolicy]: SessionPolicy[K] | undefined }>;

/** Defaults filled in; `undefined` values in overrides fall back to the default. */
export function resolvePolicy(overrides: PolicyOverrides = {}): SessionPolicy {
  const out: Record<string, unknown> = { ...DEFAULT_POLICY };
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) out[key] = value;
  }
  return out as unknown as SessionPolicy;
}

/**
 * How long other content on a busy turn's screen must stay before it counts as work (the next
 * reading after this decides; session.moves.ts). A half-drawn frame lasts until the rest of its
 * write is read: milliseconds, a frame (~80 ms) at most on a loaded machine; readings come every
 * `outputCoalesceMs` (100 ms). Work is seen this much later, far below any busy stall.
 */
export const BUSY_CONTENT_SETTLE_MS = 1_000;

/**
 * How long a question must stay off the screen before it counts as answered (input_wait.gone). The
 * same half-drawn frame as above, read between a TUI's erase and its redraw; an answer is seen this
 * much later.
 */
export const QUESTION_GONE_SETTLE_MS = 500;

/**
 * After the settle, the first reading that still lacks the question is the answer seen
 * (input_wait.settled); a TUI that printed nothing since is taken as answered after this much more.
 * Judged on a reading: after a blocked loop (a loaded machine) Node runs due timers before the pty's
 * pending reads, so the settle fell due before a queued reading that showed the question redrawn,
 * and the question was asked a second time (test/question-redraw.pty.test.ts under 6 CPU hogs).
 * Well past the output coalescer's 100 ms window and a render, so a queued reading comes first.
 */
export const QUESTION_GONE_QUIET_MS = 1_000;

/** The longest a named delay may be (setTimeout's limit): "never" for a null policy value. */
export const NEVER_MS = 2 ** 31 - 1;

/** Backoff before restart number `nthInWindow` (1-based). */
export function backoffDelay(policy: RestartPolicy, nthInWindow: number): number {
  const { backoffInitialMs: initialMs, backoffFactor: factor, backoffMaxMs: maxMs } = policy;
  return backoffMs({ initialMs, factor, maxMs }, nthInWindow - 1);
}

/**
 * The run ended because its host was unreachable, not because the agent failed: the session waits
 * for the host's link (`restart.hostWaitMs`) and does not count the next run against `maxRestarts`
 * (they went in seconds while the host was down, then the session was dead before it came back).
 * `maxRestarts: 0` still means no second run; `hostWaitMs: 0` restarts it as any failure.
 */
export function hostOutage(c: { policy: RestartPolicy; failureMode: FailureMode | null }): boolean {
  return c.failureMode === "host_unreachable" && c.policy.maxRestarts > 0 && c.policy.hostWaitMs > 0;
}

/**
 * A host outage that ended a run after `hostSteadyMs` (`outageUpMs`): not counted against
 * `maxRestarts`. An earlier one is waited for the same way but counted: a host that keeps dropping
 * runs (it answered each time the session waited, then went again) ran them for ever before.
 */
export function freeOutage(c: {
  policy: RestartPolicy;
  failureMode: FailureMode | null;
  outageUpMs: number | null;
}): boolean {
  const steady = c.policy.hostSteadyMs;
  return hostOutage(c) && (steady === 0 || (c.outageUpMs ?? 0) >= steady);
}
