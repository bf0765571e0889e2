/**
 * One account of the broker as a statechart: who holds it, whether it is cooling down after a rate
 * limit, and its circuit breaker. Pure: every time is a named delay, every absolute time comes in
 * on an event (`at`, epoch ms from the broker's injected clock), so SimulatedClock drives tests.
 *
 *   idle ──LEASE──▶ leased ──RELEASE ok──▶ idle
 *                   leased ──RELEASE rate_limited / pending COOL_DOWN──▶ cooling ──after cooldown──▶ idle
 *                   leased ──RELEASE failure (n-th within window)──▶ circuitOpen ──after circuitOpenFor──▶ halfOpen
 *                   leased ──after leaseTtl──▶ idle (lease expired)
 *   halfOpen.waiting ──LEASE──▶ halfOpen.trial ──RELEASE ok──▶ idle (circuit closed)
 *                                              ──RELEASE failure──▶ circuitOpen (re-opened)
 *
 * Events in and notices out: account.types.ts. Policy and release rules: account.policy.ts.
 */
import { and, type AnyActorRef, enqueueActions, not, setup } from "xstate";
import { resolveAccountPolicy } from "./account.policy.js";
import { coolingAfter, countsAsFailure, isRateLimited } from "./account.release.js";
import type { AccountContext, AccountEvent, AccountInput, AccountNotice, Who } from "./account.types.js";

// Split modules re-exported here: callers import them from this module.
export { DEFAULT_ACCOUNT_POLICY, resolveAccountPolicy, TIERS } from "./account.policy.js";
export type { AccountMode, AccountPolicy, AccountPolicyOverrides, CircuitPolicy, Tier } from "./account.policy.js";
export type { AccountContext, AccountEvent, AccountInput, AccountLeaseRecord, AccountNotice } from "./account.types.js";
export { accountAvailability, accountStatus } from "./account.status.js";
export type { AccountAvailability, AccountStatus } from "./account.status.js";

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

export const accountMachine = setup({
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
    releaseRateLimited: ({ event }) => isRateLimited(event as Release),
    releaseCountsAsFailure: ({ event }) => countsAsFailure(event as Release),
    tripsCircuit: ({ context, event }) =>
      countsAsFailure(event as Release) && context.failures.length + 1 >= context.policy.circuit.failures,
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
        enqueue.assign({
          coolingUntil: until,
          ...(params.enter ? { coolingMs: until - at } : {}),
          ...(params.halfOpenPending !== undefined ? { halfOpenPending: params.halfOpenPending } : {}),
        });
        if (announce) {
          tell(enqueue, context, { type: "ACCOUNT.COOLDOWN", ...who(context), ms: until - at, until });
        }
      },
    ),
    clearCooling: enqueueActions(({ enqueue }) => enqueue.assign({ coolingUntil: null, coolingMs: 0 })),
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
}).createMachine({
  id: "account",
  initial: "idle",
  context: ({ input }) => ({
    provider: input.provider,
    id: input.id,
    tier: input.tier ?? "unknown",
    policy: resolveAccountPolicy(input.policy),
    notify: input.notify,
    lease: null,
    failures: [],
    nextFailureId: 0,
    coolingUntil: null,
    coolingMs: 0,
    openUntil: null,
    openMs: 0,
    halfOpenPending: false,
  }),
  on: { "FAILURE.EXPIRE": { actions: "forgetFailure" } },
  states: {
    idle: {
      on: {
        LEASE: { target: "leased", actions: { type: "startLease", params: { halfOpen: false } } },
        COOL_DOWN: { target: "cooling", actions: { type: "noteCooling", params: { enter: true } } },
        TRIP: { target: "circuitOpen", actions: "openCircuit" },
      },
    },
    leased: {
      after: {
        leaseTtl: [
          {
            guard: "coolingOutlastsLease",
            target: "cooling",
            actions: ["expireLease", { type: "noteCooling", params: { enter: true } }, "endLease"],
          },
          { target: "idle", actions: ["expireLease", "endLease", "announceAvailable"] },
        ],
      },
      on: {
        RENEW: { guard: "ownLease", target: "leased", reenter: true, actions: "renewLease" },
        RELEASE: [
          { guard: and(["ownLease", "tripsCircuit"]), target: "circuitOpen", actions: "openCircuit" },
          {
            guard: and(["ownLease", "coolsAfterRelease"]),
            target: "cooling",
            actions: ["recordFailure", { type: "noteCooling", params: { enter: true } }, "endLease"],
          },
          { guard: "ownLease", target: "idle", actions: ["recordFailure", "endLease", "announceAvailable"] },
        ],
        // Honoured when the lease ends: the holder keeps its credentials until then.
        COOL_DOWN: { actions: { type: "noteCooling", params: { enter: false } } },
        TRIP: { target: "circuitOpen", actions: "openCircuit" },
      },
    },
    cooling: {
      after: {
        cooldown: [
          { guard: "halfOpenPending", target: "halfOpen", actions: "clearCooling" },
          { target: "idle", actions: ["clearCooling", "announceAvailable"] },
        ],
      },
      on: {
        COOL_DOWN: {
          guard: "extendsCooling",
          target: "cooling",
          reenter: true,
          actions: { type: "noteCooling", params: { enter: true } },
        },
        TRIP: { target: "circuitOpen", actions: "openCircuit" },
      },
    },
    circuitOpen: {
      after: {
        circuitOpenFor: [
          // A cool-down longer than the open window keeps the account out; the trial comes after it.
          {
            guard: "coolingOutlastsOpen",
            target: "cooling",
            actions: { type: "noteCooling", params: { enter: true, halfOpenPending: true } },
          },
          { target: "halfOpen" },
        ],
      },
      on: {
        COOL_DOWN: { actions: { type: "noteCooling", params: { enter: false } } },
        TRIP: { guard: "extendsOpen", target: "circuitOpen", reenter: true, actions: "openCircuit" },
      },
    },
    halfOpen: {
      entry: "announceHalfOpen",
      initial: "waiting",
      states: {
        /** One trial lease may go out. */
        waiting: {
          entry: "announceAvailable",
          on: {
            LEASE: { target: "trial", actions: { type: "startLease", params: { halfOpen: true } } },
            COOL_DOWN: {
              target: "#account.cooling",
              actions: { type: "noteCooling", params: { enter: true, halfOpenPending: true } },
            },
          },
        },
        trial: {
          after: {
            // Neither a success nor a failure: the trial is owed again.
            leaseTtl: [
              {
                guard: "coolingOutlastsLease",
                target: "#account.cooling",
                actions: [
                  "expireLease",
                  { type: "noteCooling", params: { enter: true, halfOpenPending: true } },
                  "endLease",
                ],
              },
              { target: "waiting", actions: ["expireLease", "endLease"] },
            ],
          },
          on: {
            RENEW: { guard: "ownLease", target: "trial", reenter: true, actions: "renewLease" },
            RELEASE: [
              {
                guard: and(["ownLease", "releaseCountsAsFailure"]),
                target: "#account.circuitOpen",
                actions: "openCircuit",
              },
              {
                guard: and(["ownLease", "releaseRateLimited"]),
                target: "#account.cooling",
                actions: [{ type: "noteCooling", params: { enter: true, halfOpenPending: true } }, "endLease"],
              },
              {
                guard: and(["ownLease", "releaseOk", "coolsAfterRelease"]),
                target: "#account.cooling",
                actions: ["closeCircuit", { type: "noteCooling", params: { enter: true } }, "endLease"],
              },
              {
                guard: and(["ownLease", "releaseOk"]),
                target: "#account.idle",
                actions: ["closeCircuit", "endLease", "announceAvailable"],
              },
              // killed / skipCircuit: no verdict on the account, the trial is owed again.
              { guard: and(["ownLease", not("releaseOk")]), target: "waiting", actions: "endLease" },
            ],
            COOL_DOWN: { actions: { type: "noteCooling", params: { enter: false } } },
          },
        },
      },
      on: {
        TRIP: { target: "circuitOpen", actions: "openCircuit" },
      },
    },
  },
});

export type AccountMachine = typeof accountMachine;
