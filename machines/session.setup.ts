/**
 * The session statechart's setup: types, actors, delays and guards (session.base.ts), a run's
 * actions (session.run-actions.ts), its user's requests (session.request-actions.ts), what a run comes
 * to (session.outcome-actions.ts) and, here, the
 * account lease's actions. The chart itself (states and moves) is in session.machine.ts. Pure:
 * effects are events to actors that `machine.provide` replaces; time is only named delays.
 */
import { type AnyActorRef, assign, enqueueActions } from "xstate";
import type { Ev } from "./session.context.js";
import { heldElsewhereRelease, leaseOf, releaseEvent } from "./session.lease.js";
import { sessionOutcomeSetup } from "./session.outcome-actions.js";

export type {
  Ev,
  SessionContext,
  SessionEmitted,
  SessionEvent,
  SessionInput,
  SessionOutput,
} from "./session.context.js";

/** A lease given back before its run started (its home stopped): the run asks for another. */
const LEASE_GIVEN_BACK = { leaseStatus: "none", lease: null, envRef: null } as const;

export const sessionSetup = sessionOutcomeSetup.extend({
  actions: {
    requestLease: enqueueActions(({ context, enqueue, self, system }) => {
      if (!context.account) return;
      const broker = system.get("broker") as AnyActorRef | undefined;
      if (!broker) {
        enqueue.raise({
          type: "LEASE.UNAVAILABLE",
          etaMs: null,
          code: "no_broker",
          reason: "this session needs an account but the conductor has no accounts configured (pass `accounts`)",
        });
        return;
      }
      enqueue.assign({ leaseStatus: "requested", leaseWait: null });
      enqueue.sendTo(broker, {
        type: "LEASE.REQUEST",
        provider: context.account.provider,
        sessionId: context.id,
        wait: true,
        replyTo: self,
        ...(context.account.requireHost ? { requireHost: context.account.requireHost } : {}),
      });
    }),
    noteLease: enqueueActions(({ context, event, enqueue }) => {
      const lease = leaseOf((event as Ev<"LEASE.GRANTED">).lease);
      enqueue.assign({ lease, leaseStatus: "held", leaseWait: null });
      enqueue.emit({ type: "account", sessionId: context.id, lease });
      // A run can outlast the lease TTL; unrenewed, the broker would lease the account again.
      enqueue.raise({ type: "LEASE.RENEW_DUE", leaseId: lease.leaseId }, { delay: "leaseRenew" });
    }),
    renewLease: enqueueActions(({ context, event, enqueue, system }) => {
      const due = event as Ev<"LEASE.RENEW_DUE">;
      const broker = system.get("broker") as AnyActorRef | undefined;
      if (context.leaseStatus !== "held" || !context.lease || context.lease.leaseId !== due.leaseId || !broker) return;
      enqueue.sendTo(broker, {
        type: "LEASE.RENEW",
        accountId: context.lease.accountId,
        provider: context.lease.provider,
        sessionId: context.id,
      });
      enqueue.raise({ type: "LEASE.RENEW_DUE", leaseId: context.lease.leaseId }, { delay: "leaseRenew" });
    }),
    noteLeaseQueued: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Ev<"LEASE.QUEUED">;
      enqueue.assign({ leaseWait: { etaMs: e.etaMs, reason: e.reason } });
      enqueue.emit({ type: "accountWait", sessionId: context.id, etaMs: e.etaMs, reason: e.reason });
    }),
    // After a wait that timed out the request is still queued at the broker: leaseStatus stays
    // "requested" so that `releaseLease` cancels it (else the dead session would be granted later).
    noteNoAccount: assign(({ context, event }) => ({
      leaseStatus: event.type === "LEASE.UNAVAILABLE" ? ("none" as const) : context.leaseStatus,
      failureMode: "no_account" as const,
      reason:
        event.type === "LEASE.UNAVAILABLE"
          ? `no_account:${event.code}: ${event.reason}`
          : event.type === "CREDENTIALS.BUSY"
            ? `no_account: ${event.message}, still after leaseWaitMs`
            : "no_account: none became free within leaseWaitMs",
    })),
    noteLeaseWaitOver: assign({ leaseWaitOver: true }),
    /** The account is in use by another conductor: released without a verdict, it cools; the wait is shown. */
    releaseHeldElsewhere: enqueueActions(({ context, event, enqueue, system }) => {
      const e = event as Ev<"CREDENTIALS.BUSY">;
      const broker = system.get("broker") as AnyActorRef | undefined;
      if (context.leaseStatus === "held" && context.lease && broker) {
        enqueue.sendTo(broker, heldElsewhereRelease(context.id, context.lease, e.retryAfterMs));
      }
      enqueue.stopChild("creds");
      enqueue.assign({ ...LEASE_GIVEN_BACK, leaseWait: { etaMs: e.retryAfterMs, reason: e.message } });
      enqueue.emit({ type: "accountWait", sessionId: context.id, etaMs: e.retryAfterMs, reason: e.message });
    }),
    prepareCredentials: enqueueActions(({ context, event, enqueue }) => {
      const grant = (event as Ev<"LEASE.GRANTED">).lease;
      enqueue.stopChild("creds");
      enqueue.spawnChild("credentialHome", {
        id: "creds",
        input: {
          sessionId: context.id,
          agent: context.agent,
          generation: context.generation,
          lease: grant,
          ...(context.spec.cwd ? { cwd: context.spec.cwd } : {}),
        },
      });
    }),
    /** This account's credentials cannot be made: given back as broken (its circuit opens), lease again. */
    releaseBrokenAccount: enqueueActions(({ context, event, enqueue, system }) => {
      const message = (event as Ev<"CREDENTIALS.ERROR">).message;
      const broker = system.get("broker") as AnyActorRef | undefined;
      if (context.leaseStatus === "held" && context.lease && broker)
        enqueue.sendTo(broker, releaseEvent(context.id, context.lease, false, "credentials", null));
      enqueue.stopChild("creds");
      enqueue.assign({
        ...LEASE_GIVEN_BACK,
        lastError: `credentials of ${context.lease?.provider}/${context.lease?.accountId}: ${message}`,
      });
    }),
    noteCredentials: assign(({ event }) => ({ envRef: (event as Ev<"CREDENTIALS.READY">).envRef ?? null })),
    noteCredentialsError: assign(({ event }) => ({
      failureMode: "credentials" as const,
      reason: `credentials: ${(event as Ev<"CREDENTIALS.ERROR">).message}`,
    })),
    /** Exactly once per lease: the status goes back to none in the same step. */
    releaseLease: enqueueActions(({ context, enqueue, system }, params: { ok: boolean; stopped?: boolean }) => {
      const broker = system.get("broker") as AnyActorRef | undefined;
      if (context.leaseStatus === "requested" && broker) {
        enqueue.sendTo(broker, { type: "LEASE.CANCEL", sessionId: context.id, provider: context.account?.provider });
      }
      if (context.leaseStatus === "held" && context.lease && broker) {
        enqueue.sendTo(
          broker,
          releaseEvent(
            context.id,
            context.lease,
            params.ok,
            // A run the user stopped (a restart) says nothing about the account: "killed" skips its circuit.
            params.ok ? null : params.stopped ? "killed" : context.failureMode,
            context.retryAfterMs,
          ),
        );
      }
      // The credential home outlives the lease until the run's tree is gone (releaseChild, or the
      // final state stopping every child): a dying agent keeps its config dir during its grace.
      enqueue.assign({ leaseStatus: "none", lease: null });
    }),
  },
});
