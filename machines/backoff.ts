/** The one exponential backoff: restarts of a session and reconnects to a host both wait by it. */
export interface Backoff {
  initialMs: number;
  factor: number;
  maxMs: number;
}

/** Wait before retry number `attempt` (0-based): initialMs × factor^attempt, capped at maxMs; 0 when initialMs ≤ 0. */
export function backoffMs(b: Backoff, attempt: number): number {
  if (b.initialMs <= 0) return 0;
  return Math.min(b.maxMs, Math.round(b.initialMs * b.factor ** Math.max(0, attempt)));
}
