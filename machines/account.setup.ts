/**
 * The account chart's vocabulary: its delays, guards and actions (machines/account.machine.ts
 * draws the states). Pure, like the chart: times come in on events, timers are named delays.
 */
import { type AnyActorRef, enqueueActions, setup } from "xstate";
import { coolingAfter, coolsOnRelease, countsAsFailure, isHeldElsewhere } from "./account.release.js";
import type { AccountContext, AccountEvent, AccountInput, AccountNotice, Who } from "./account.types.js";

type Ev<T extends AccountEvent["type"]> = Extract<AccountEvent, { type: T }>;
type Release = Ev<"RELEASE">;

/** setTimeout's ceiling; longer hints are capped (24.8 days). */
const MAX_DELAY = 2 ** 31 - 1;
const clampDelay = (ms: number) => Math.min(MAX_DELAY, Math.max(0, Math.round(ms)));

const who = (c: AccountContext): Who => ({ provider: c.provider, accountId: c.id });

/** Every notice is emitted (for observers) and sent to the `notify` actor (the broker). */
function tell(
  enqueue: { emit: (e: AccountNotice) => void; sendTo: (to: AnyActorRef, e: AccountNotice) => void },
  context: AccountContext,
  notice: AccountNotice,
) {
  enqueue.emit(notice);
  if (context.notify) enqueue.sendTo(context.notify, notice);
}

export const accountSetup = setup({
  types: {
    input: {} as AccountInput,
    context: {} as AccountContext,
    events: {} as AccountEvent,
    emitted: {} as AccountNotice,
  },
  delays: {
    leaseTtl: ({ context }) => clampDelay((context.lease?.expiresAt ?? 0) - (context.lease?.since ?? 0)),
    cooldown: ({ context }) => clampDelay(context.coolingMs),
    circuitOpenFor: ({ context }) => clampDelay(context.openMs),
    failureWindow: ({ context }) => clampDelay(context.policy.circuit.windowMs),
  },
  guards: {
    ownLease: ({ context, event }) => "leaseId" in event && context.lease?.leaseId === event.leaseId,
    releaseOk: ({ event }) => (event as Release).ok,
    releaseCools: ({ event }) => coolsOnRelease(event as Release),
    releaseCountsAsFailure: ({ event }) => countsAsFailure(event as Release),
    // Credentials that cannot be made (an auth file gone, a variable unset) fail every run alike: open at once.
    tripsCircuit: ({ context, event }) =>
      countsAsFailure(event as Release) &&
      ((event as Release).failureMode === "credentials" ||
        context.failures.length + 1 >= context.policy.circuit.failures),
    coolsAfterRelease: ({ context, event }) => coolingAfter(context, event as Release) !== null,
    coolingOutlastsLease: ({ context }) => (context.coolingUntil ?? -Infinity) > (context.lease?.expiresAt ?? Infinity),
    coolingOutlastsOpen: ({ context }) => (context.coolingUntil ?? -Infinity) > (context.openUntil ?? Infinity),
    extendsCooling: ({ context, event }) => {
      const e = event as Ev<"COOL_DOWN">;
      return e.at + (e.ms ?? context.policy.cooldownMs) > (context.coolingUntil ?? -Infinity);
    },
    extendsOpen: ({ context, event }) => {
      const e = event as Ev<"TRIP">;
      return e.at + (e.ms ?? context.policy.circuit.windowMs) > (context.openUntil ?? -Infinity);
    },
    halfOpenPending: ({ context }) => context.halfOpenPending,
  },
  actions: {
    startLease: enqueueActions(({ context, event, enqueue }, params: { halfOpen: boolean }) => {
      const e = event as Ev<"LEASE">;
      enqueue.assign({
        lease: {
          leaseId: e.leaseId,
          sessionId: e.sessionId,
          since: e.at,
          expiresAt: e.at + context.policy.leaseTtlMs,
          halfOpen: params.halfOpen,
        },
      });
    }),
    renewLease: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Ev<"RENEW">;
      if (!context.lease) return;
      enqueue.assign({ lease: { ...context.lease, since: e.at, expiresAt: e.at + context.policy.leaseTtlMs } });
    }),
    endLease: enqueueActions(({ enqueue }) => enqueue.assign({ lease: null })),
    expireLease: enqueueActions(({ context, enqueue }) => {
      if (!context.lease) return;
      const notice: AccountNotice = {
        type: "ACCOUNT.LEASE_EXPIRED",
        ...who(context),
        leaseId: context.lease.leaseId,
        sessionId: context.lease.sessionId,
      };
      tell(enqueue, context, notice);
    }),
    /**
     * The sliding window: each failure schedules its own forgetting. A success clears the count,
     * as the seed's broker did: two failures, a success, one more failure is one failure, not three.
     */
    recordFailure: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Release;
      if (e.ok) {
        if (context.failures.length > 0) enqueue.assign({ failures: [] });
        return;
      }
      if (!countsAsFailure(e)) return;
      const id = context.nextFailureId;
      enqueue.assign({ failures: [...context.failures, { id, at: e.at }], nextFailureId: id + 1 });
      enqueue.raise({ type: "FAILURE.EXPIRE", failureId: id }, { delay: "failureWindow" });
    }),
    forgetFailure: enqueueActions(({ context, event, enqueue }) => {
      const id = (event as Ev<"FAILURE.EXPIRE">).failureId;
      enqueue.assign({ failures: context.failures.filter((f) => f.id !== id) });
    }),
    /** Opens (or re-opens) the circuit for one window from `at`, or extends it for a TRIP. */
    openCircuit: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Release | Ev<"TRIP">;
      const ms = e.type === "TRIP" ? (e.ms ?? context.policy.circuit.windowMs) : context.policy.circuit.windowMs;
      const failures =
        e.type === "RELEASE" && countsAsFailure(e) ? context.failures.length + 1 : context.failures.length;
      enqueue.assign({ openUntil: e.at + ms, openMs: ms, failures: [], lease: null, halfOpenPending: false });
      tell(enqueue, context, { type: "ACCOUNT.CIRCUIT_OPEN", ...who(context), ms, until: e.at + ms, failures });
    }),
    /** Records a cool-down; `enter` also sets the remaining time for the `cooldown` delay. */
    noteCooling: enqueueActions(
      ({ context, event, enqueue }, params: { enter: boolean; halfOpenPending?: boolean }) => {
        let until: number;
        let at: number;
        if (event.type === "COOL_DOWN") {
          at = event.at;
          until = Math.max(context.coolingUntil ?? -Infinity, at + (event.ms ?? context.policy.cooldownMs));
        } else if (event.type === "RELEASE") {
          at = event.at;
          until = coolingAfter(context, event) ?? at;
        } else {
          // A timer ended (lease expiry or open circuit): now is that timer's deadline.
          at = (context.lease?.expiresAt ?? context.openUntil) as number;
          until = context.coolingUntil ?? at;
        }
        // Announced once per new end time: re-entering for a timer repeats nothing.
        const announce = until !== context.coolingUntil;
        // Held by another conductor: cooling only to try again later, nothing to keep in the state file.
        const elsewhere =
          event.type === "RELEASE" && isHeldElsewhere(event) && until === at + (event.retryAfterMs ?? 0);
        enqueue.assign({
          coolingUntil: until,
          ...(params.enter ? { coolingMs: until - at } : {}),
          ...(params.halfOpenPending !== undefined ? { halfOpenPending: params.halfOpenPending } : {}),
          ...(announce ? { heldElsewhere: elsewhere } : {}),
        });
        if (announce) {
          tell(enqueue, context, {
            type: "ACCOUNT.COOLDOWN",
            ...who(context),
            ms: until - at,
            until,
            ...(elsewhere ? { heldElsewhere: true } : {}),
          });
        }
      },
    ),
    clearCooling: enqueueActions(({ enqueue }) =>
      enqueue.assign({ coolingUntil: null, coolingMs: 0, heldElsewhere: false }),
    ),
    closeCircuit: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ failures: [], openUntil: null, halfOpenPending: false });
      tell(enqueue, context, { type: "ACCOUNT.CIRCUIT_CLOSE", ...who(context) });
    }),
    announceHalfOpen: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ openUntil: null, halfOpenPending: false });
      tell(enqueue, context, { type: "ACCOUNT.CIRCUIT_HALF_OPEN", ...who(context) });
    }),
    announceAvailable: enqueueActions(({ context, enqueue }) => {
      tell(enqueue, context, { type: "ACCOUNT.AVAILABLE", ...who(context) });
    }),
  },
});
