/**
 * Pure lease selection over the broker's context: which accounts a request may use, best tier
 * first with round-robin inside a tier, and ETAs from the account snapshots.
 */
import { accountAvailability } from "./account.status.js";
import { type Tier, TIERS } from "./account.policy.js";
import type { AccountRef, BrokerAccountSpec, BrokerContext, UnavailableCode } from "./broker.types.js";

export const accountKey = (provider: string, id: string) => `${provider}/${id}`;
export const tierOf = (s: BrokerAccountSpec): Tier => s.tier ?? "unknown";
const rank = (t: Tier) => TIERS.indexOf(t);

/** `requireHost: ANY_HOST`: any account bound to a host (the seed's `lease({ provider, remote: true })`). */
export const ANY_HOST = "*";

export const hostMatches = (s: Pick<BrokerAccountSpec, "host">, requireHost: string | undefined) =>
  requireHost === undefined
    ? s.host === undefined
    : requireHost === ANY_HOST
      ? s.host !== undefined
      : s.host === requireHost;

/** Accounts a request may use, in config order. */
export function eligible(
  ctx: Pick<BrokerContext, "specs">,
  provider: string,
  requireHost: string | undefined,
): string[] {
  return Object.keys(ctx.specs).filter((k) => {
    const s = ctx.specs[k] as BrokerAccountSpec;
    return s.provider === provider && hostMatches(s, requireHost);
  });
}

type Pick_ = { key: string; fallbackFrom: Tier | null };
type Refusal = { etaMs: number | null; code: UnavailableCode; reason: string };

/**
 * Best tier first, round-robin within a tier (starting after the last account leased there).
 * `taken` holds accounts granted earlier in this same step (their actors have not moved yet).
 */
export function choose(
  ctx: BrokerContext,
  provider: string,
  requireHost: string | undefined,
  now: number,
  taken: ReadonlySet<string>,
): Pick_ | Refusal {
  const keys = eligible(ctx, provider, requireHost);
  if (keys.length === 0) {
    const where =
      requireHost === undefined
        ? ""
        : requireHost === ANY_HOST
          ? " bound to a host"
          : ` bound to host "${requireHost}"`;
    return { etaMs: null, code: "no_accounts", reason: `no ${provider} account${where} is configured` };
  }
  const busy = new Set([...taken, ...Object.values(ctx.leases).map((l) => l.key)]);
  const free = (k: string) =>
    !busy.has(k) && accountAvailability((ctx.accounts[k] as AccountRef).getSnapshot(), now).leasable;
  const best = Math.min(...keys.map((k) => rank(tierOf(ctx.specs[k] as BrokerAccountSpec))));
  for (const tier of TIERS) {
    const inTier = keys.filter((k) => tierOf(ctx.specs[k] as BrokerAccountSpec) === tier);
    if (inTier.length === 0) continue;
    const after = inTier.indexOf(ctx.lastPick[`${provider}/${tier}`] ?? "");
    for (let i = 1; i <= inTier.length; i++) {
      const k = inTier[(after + i) % inTier.length] as string;
      if (free(k)) return { key: k, fallbackFrom: rank(tier) > best ? (TIERS[best] as Tier) : null };
    }
  }
  const parts = keys.map((k) => {
    const snap = (ctx.accounts[k] as AccountRef).getSnapshot();
    const a = accountAvailability(snap, now);
    const status =
      busy.has(k) && a.leasable
        ? "leased"
        : a.status === "cooling" && snap.context.heldElsewhere
          ? "in use by another conductor"
          : a.status;
    return `${(ctx.specs[k] as BrokerAccountSpec).id} ${status}${a.etaMs ? ` (~${Math.ceil(a.etaMs / 1000)}s)` : ""}`;
  });
  return {
    etaMs: etaOver(ctx, keys, now),
    code: "all_busy",
    reason: `every ${provider} account is busy: ${parts.join(", ")}`,
  };
}

function etaOver(ctx: Pick<BrokerContext, "accounts">, keys: readonly string[], now: number): number | null {
  let eta: number | null = null;
  for (const k of keys) {
    const ref = ctx.accounts[k];
    if (!ref) continue;
    const e = accountAvailability(ref.getSnapshot(), now).etaMs;
    if (e !== null && (eta === null || e < eta)) eta = e;
  }
  return eta;
}

/**
 * When the next account of `provider` frees up, in ms from `now` (0: one is free now; an account
 * on lease counts at its lease expiry, an upper bound); null when none is configured.
 * Pure over the broker's snapshot.
 */
export function nextAvailableEta(
  snapshot: { context: BrokerContext },
  provider: string,
  now: number = snapshot.context.now(),
  requireHost?: string,
): number | null {
  const ctx = snapshot.context;
  return etaOver(ctx, eligible(ctx, provider, requireHost), now);
}

/** Keys of the accounts an event names (`provider` optional). */
export function keysFor(ctx: BrokerContext, accountId: string, provider?: string): string[] {
  return Object.keys(ctx.specs).filter((k) => {
    const s = ctx.specs[k] as BrokerAccountSpec;
    return s.id === accountId && (provider === undefined || s.provider === provider);
  });
}
