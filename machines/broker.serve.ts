/**
 * Granting leases: serves a batch of requests against the broker's context through XState's
 * enqueuer (sends, emits, replies) and returns the new lease bookkeeping for one assignment.
 */
import type { AnyActorRef } from "xstate";
import { accountAvailability } from "./account.status.js";
import { choose, eligible, tierOf } from "./broker.policy.js";
import type {
  AccountEventOut,
  AccountRef,
  BrokerAccountSpec,
  BrokerContext,
  BrokerEmitted,
  BrokerReply,
  Lease,
  Waiter,
} from "./broker.types.js";

/** The part of XState's enqueuer the helpers below use. */
export interface Enqueue {
  emit: (e: BrokerEmitted) => void;
  sendTo: (to: AnyActorRef, e: BrokerReply | AccountEventOut) => void;
}

export function reply(enqueue: Enqueue, to: AnyActorRef | undefined, msg: BrokerReply) {
  if (to) enqueue.sendTo(to, msg);
}

/**
 * Serves requests in order (fresh ones and queued ones alike), then records every grant in one
 * assignment. Refused `wait` requests stay queued; others get UNAVAILABLE.
 */
export function serve(
  ctx: BrokerContext,
  enqueue: Enqueue,
  requests: readonly (Waiter & { wait: boolean; fresh: boolean })[],
) {
  const now = ctx.now();
  const leases = { ...ctx.leases };
  const lastPick = { ...ctx.lastPick };
  const waiters: Waiter[] = [];
  const taken = new Set<string>();
  let seq = ctx.seq;
  const work = { ...ctx, leases, lastPick };
  for (const req of requests) {
    const held = Object.values(leases).find(
      (l) => l.lease.sessionId === req.sessionId && l.lease.provider === req.provider,
    );
    if (held) {
      // A repeated request is answered with the lease the session already holds.
      reply(enqueue, req.replyTo, { type: "LEASE.GRANTED", lease: held.lease });
      continue;
    }
    const pick = choose(work, req.provider, req.requireHost, now, taken);
    if ("key" in pick) {
      const spec = ctx.specs[pick.key] as BrokerAccountSpec;
      const availability = accountAvailability((ctx.accounts[pick.key] as AccountRef).getSnapshot(), now);
      const leaseId = `${pick.key}#${++seq}`;
      const lease: Lease = {
        leaseId,
        accountId: spec.id,
        provider: spec.provider,
        sessionId: req.sessionId,
        mode: spec.mode,
        tier: tierOf(spec),
        halfOpen: availability.halfOpen,
        alternatives: eligible(ctx, req.provider, req.requireHost).length - 1,
        ...(spec.host !== undefined ? { host: spec.host } : {}),
        ...(spec.mode === "profile" && spec.profile !== undefined ? { profile: spec.profile } : {}),
        ...(spec.mode === "env" ? { envKeys: [...(spec.envKeys ?? [])] } : {}),
        ...(spec.mode === "auth" && spec.authFile !== undefined ? { authFile: spec.authFile } : {}),
        grantedAt: now,
        expiresAt: now + ctx.policy.leaseTtlMs,
      };
      taken.add(pick.key);
      leases[leaseId] = { lease, key: pick.key, replyTo: req.replyTo };
      lastPick[`${spec.provider}/${lease.tier}`] = pick.key;
      enqueue.sendTo(ctx.accounts[pick.key] as AccountRef, {
        type: "LEASE",
        leaseId,
        sessionId: req.sessionId,
        at: now,
      });
      if (pick.fallbackFrom) {
        enqueue.emit({
          type: "tierFallback",
          provider: spec.provider,
          accountId: spec.id,
          sessionId: req.sessionId,
          from: pick.fallbackFrom,
          to: lease.tier,
        });
      }
      enqueue.emit({ type: "lease", lease });
      reply(enqueue, req.replyTo, { type: "LEASE.GRANTED", lease });
      continue;
    }
    if (req.wait) {
      waiters.push({
        provider: req.provider,
        sessionId: req.sessionId,
        requireHost: req.requireHost,
        replyTo: req.replyTo,
      });
      // Only a fresh request is answered and logged; a queued one simply stays queued.
      if (req.fresh) {
        const position = waiters.filter((w) => w.provider === req.provider).length;
        enqueue.emit({ type: "noLease", provider: req.provider, sessionId: req.sessionId, ...pick, queued: true });
        reply(enqueue, req.replyTo, {
          type: "LEASE.QUEUED",
          provider: req.provider,
          sessionId: req.sessionId,
          ...pick,
          position,
        });
      }
      continue;
    }
    enqueue.emit({ type: "noLease", provider: req.provider, sessionId: req.sessionId, ...pick, queued: false });
    reply(enqueue, req.replyTo, {
      type: "LEASE.UNAVAILABLE",
      provider: req.provider,
      sessionId: req.sessionId,
      ...pick,
    });
  }
  return { leases, lastPick, seq, waiters };
}
