/**
 * Session policy: the numbers that govern probes and restarts, with their defaults.
 * Pure: the machine reads them from context, the facade and the CLI fill them from user config.
 */

export interface ProbePolicy {
  /** L1: no output for this long while healthy → `stalled`. Seed default 30 000. */
  stallMs: number;
  /** L3: no first output within this long after start → failure. Seed default 120 000. */
  startupTimeoutMs: number;
  /** L1.5: output quiet this long → look at the screen for a question. Far below stallMs on purpose. */
  inputQuietMs: number;
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
}

export interface SessionPolicy extends ProbePolicy, RestartPolicy {
  /** Time between SIGTERM and SIGKILL of the child's process tree. Seed default 10 000. */
  graceMs: number;
  /** A run that needs an account waits at most this long for one (then the session is dead). */
  leaseWaitMs: number;
}

export const DEFAULT_POLICY: Readonly<SessionPolicy> = Object.freeze({
  stallMs: 30_000,
  startupTimeoutMs: 120_000,
  inputQuietMs: 1_500,
  stallTimeoutMs: 120_000,
  inputWaitPatterns: [],
  maxRestarts: 3,
  windowMs: null,
  backoffInitialMs: 0,
  backoffFactor: 2,
  backoffMaxMs: 30_000,
  graceMs: 10_000,
  leaseWaitMs: 600_000,
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

/** Backoff before restart number `nthInWindow` (1-based). */
export function backoffDelay(policy: RestartPolicy, nthInWindow: number): number {
  if (policy.backoffInitialMs <= 0) return 0;
  const raw = policy.backoffInitialMs * policy.backoffFactor ** Math.max(0, nthInWindow - 1);
  return Math.min(policy.backoffMaxMs, Math.round(raw));
}
