/**
 * Where each key of the machine's `SessionPolicy` is set in the options (API spelling; the file
 * spells `probeOpts` as `probe`). Typed as a complete map, so a policy key added to
 * machines/session.policy.ts without an option here fails to compile instead of being dropped.
 * Alternatives after the first path are the seed's aliases.
 */
import type { SessionPolicy } from "../../machines/session.policy.js";

type Path = readonly string[];

export const POLICY_FIELDS: { readonly [K in keyof SessionPolicy]-?: readonly [Path, ...Path[]] } = {
  stallMs: [
    ["probeOpts", "stallMs"],
    ["probeOpts", "l1ThresholdMs"],
  ],
  startupTimeoutMs: [
    ["probeOpts", "startupTimeoutMs"],
    ["probeOpts", "l3ThresholdMs"],
  ],
  inputQuietMs: [["probeOpts", "inputQuietMs"]],
  stallTimeoutMs: [["probeOpts", "stallTimeoutMs"]],
  busyStallMs: [["probeOpts", "busyStallMs"]],
  inputWaitPatterns: [["probeOpts", "inputWaitPatterns"]],
  maxRestarts: [["maxRestarts"]],
  windowMs: [["restart", "windowMs"]],
  backoffInitialMs: [["restart", "backoffInitialMs"]],
  backoffFactor: [["restart", "backoffFactor"]],
  backoffMaxMs: [["restart", "backoffMaxMs"]],
  hostWaitMs: [["restart", "hostWaitMs"]],
  hostSteadyMs: [["restart", "hostSteadyMs"]],
  graceMs: [["graceMs"]],
  leaseWaitMs: [["leaseWaitMs"]],
  judgeAs: [["judgeAs"]],
  timeZone: [["timeZone"]],
  rateLimitWaitMs: [["restart", "rateLimitWaitMs"]],
  rateLimitMaxWaitMs: [["restart", "rateLimitMaxWaitMs"]],
  failureBackoffInitialMs: [["restart", "failureBackoffInitialMs"]],
  maxRunMs: [["probeOpts", "maxRunMs"]],
  stallNudgeMs: [["probeOpts", "stallNudgeMs"]],
  stallNudgeKeys: [["probeOpts", "stallNudgeKeys"]],
  inputWaitTimeoutMs: [["probeOpts", "inputWaitTimeoutMs"]],
  inputWaitDefaultKeys: [["probeOpts", "inputWaitDefaultKeys"]],
  restartMode: [["restart", "mode"]],
};

const read = (o: unknown, path: Path): unknown =>
  path.reduce<unknown>(
    (v, k) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined),
    o,
  );

/** The first of `sources` (most specific first) that sets the key, through each path in order. */
export function policyFrom(...sources: unknown[]): Partial<Record<keyof SessionPolicy, unknown>> {
  const out: Partial<Record<keyof SessionPolicy, unknown>> = {};
  for (const [key, paths] of Object.entries(POLICY_FIELDS) as [keyof SessionPolicy, readonly Path[]][]) {
    for (const source of sources) {
      const value = paths.map((p) => read(source, p)).find((v) => v !== undefined);
      if (value !== undefined) {
        out[key] = value;
        break;
      }
    }
  }
  return out;
}
