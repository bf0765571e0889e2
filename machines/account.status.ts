/**
 * Reading an account's snapshot: its status and when it frees up (the broker and
 * nextAvailableEta use these).
 */
import type { AccountContext } from "./account.types.js";

export type AccountStatus = "idle" | "leased" | "cooling" | "circuitOpen" | "halfOpen" | "halfOpenTrial";

interface AccountSnapshotLike {
  value: unknown;
  context: AccountContext;
}

export function accountStatus(snap: AccountSnapshotLike): AccountStatus {
  const v = snap.value;
  if (typeof v === "string") return v as AccountStatus;
  const half = (v as { halfOpen?: string }).halfOpen;
  return half === "trial" ? "halfOpenTrial" : "halfOpen";
}

export interface AccountAvailability {
  status: AccountStatus;
  leasable: boolean;
  /** The lease would be the circuit's one trial. */
  halfOpen: boolean;
  /** 0 when leasable; otherwise when it frees up at the latest (a lease may end sooner); null if unknown. */
  etaMs: number | null;
}

export function accountAvailability(snap: AccountSnapshotLike, now: number): AccountAvailability {
  const status = accountStatus(snap);
  const c = snap.context;
  const left = (...times: (number | null | undefined)[]) => {
    const known = times.filter((t): t is number => typeof t === "number");
    return known.length === 0 ? null : Math.max(0, Math.max(...known) - now);
  };
  switch (status) {
    case "idle":
      return { status, leasable: true, halfOpen: false, etaMs: 0 };
    case "halfOpen":
      return { status, leasable: true, halfOpen: true, etaMs: 0 };
    case "leased":
    case "halfOpenTrial":
      return { status, leasable: false, halfOpen: false, etaMs: left(c.lease?.expiresAt, c.coolingUntil) };
    case "cooling":
      return { status, leasable: false, halfOpen: false, etaMs: left(c.coolingUntil) };
    case "circuitOpen":
      return { status, leasable: false, halfOpen: false, etaMs: left(c.openUntil, c.coolingUntil) };
  }
}
