/**
 * One account of the broker as a statechart: who holds it, whether it is cooling down after a rate
 * limit, and its circuit breaker. Pure: every time is a named delay, every absolute time comes in
 * on an event (`at`, epoch ms from the broker's injected clock), so SimulatedClock drives tests.
 *
 *   idle ──LEASE──▶ leased ──RELEASE ok──▶ idle
 *                   leased ──RELEASE rate_limited|held_elsewhere / pending COOL_DOWN──▶ cooling ──after cooldown──▶ idle
 *                   leased ──RELEASE failure (n-th within window)──▶ circuitOpen ──after circuitOpenFor──▶ halfOpen
 *                   leased ──after leaseTtl──▶ idle (lease expired)
 *   halfOpen.waiting ──LEASE──▶ halfOpen.trial ──RELEASE ok──▶ idle (circuit closed)
 *                                              ──RELEASE failure──▶ circuitOpen (re-opened)
 *
 * Events in and notices out: account.types.ts. Policy and release rules: account.policy.ts. Guards,
 * actions and delays: account.setup.ts.
 */
import { and, not } from "xstate";
import { resolveAccountPolicy } from "./account.policy.js";
import { accountSetup } from "./account.setup.js";

// Split modules re-exported here: callers import them from this module.
export { DEFAULT_ACCOUNT_POLICY, resolveAccountPolicy, TIERS } from "./account.policy.js";
export type { AccountMode, AccountPolicy, AccountPolicyOverrides, CircuitPolicy, Tier } from "./account.policy.js";
export type { AccountContext, AccountEvent, AccountInput, AccountLeaseRecord, AccountNotice } from "./account.types.js";
export { accountAvailability, accountStatus } from "./account.status.js";
export type { AccountAvailability, AccountStatus } from "./account.status.js";

export const accountMachine = accountSetup.createMachine({
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
    heldElsewhere: false,
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
                guard: and(["ownLease", "releaseCools"]),
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
