/**
 * Account tiers and policy (cool-down, lease TTL, circuit breaker). Pure data and functions: the
 * account statechart, the broker and the accounts config share them. What a RELEASE means for the
 * account is in account.release.ts (it needs the account's types, which need these).
 */
export const TIERS = ["pro", "plus", "unknown", "free"] as const;
/** Best first: the broker's lease order. */
export type Tier = (typeof TIERS)[number];
export type AccountMode = "profile" | "env" | "auth";

export interface CircuitPolicy {
  /** This many counted failures within `windowMs` open the circuit. */
  failures: number;
  /** The sliding failure window, and how long the circuit stays open before it is half-open. */
  windowMs: number;
}

export interface AccountPolicy {
  cooldownMs: number;
  leaseTtlMs: number;
  circuit: CircuitPolicy;
}

export const DEFAULT_ACCOUNT_POLICY: Readonly<AccountPolicy> = Object.freeze({
  cooldownMs: 300_000,
  leaseTtlMs: 1_800_000,
  circuit: Object.freeze({ failures: 3, windowMs: 600_000 }),
});

export type AccountPolicyOverrides = Partial<Omit<AccountPolicy, "circuit">> & { circuit?: Partial<CircuitPolicy> };

export function resolveAccountPolicy(o: AccountPolicyOverrides = {}): AccountPolicy {
  const d = DEFAULT_ACCOUNT_POLICY;
  return {
    cooldownMs: o.cooldownMs ?? d.cooldownMs,
    leaseTtlMs: o.leaseTtlMs ?? d.leaseTtlMs,
    circuit: {
      failures: o.circuit?.failures ?? d.circuit.failures,
      windowMs: o.circuit?.windowMs ?? d.circuit.windowMs,
    },
  };
}
