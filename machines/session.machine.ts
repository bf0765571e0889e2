/**
 * The session statechart: one supervised agent session, from spawn to a final state.
 *
 * The seed's nine states and its transition table, plus the moves its defects were missing
 * (see docs/architecture.md, "Transition table"). Pure: no I/O, no timers. Time is only named
 * `delays` (so SimulatedClock drives tests) and the child process is only the `ptyProcess`
 * actor, which `machine.provide({ actors })` replaces.
 */
import { resolvePolicy } from "./session.policy.js";
import { sessionSetup } from "./session.setup.js";
import { STATES, type SessionState } from "./session.types.js";

export type { SessionContext, SessionEmitted, SessionEvent, SessionInput } from "./session.setup.js";

/**
 * What every state with a running child handles alike. Exit 0 completes from any of them: the
 * seed's table only allowed it from healthy, so an exit 0 while starting (or stalled, or waiting
 * for input) had no legal move and the session hung there forever.
 */
const whileRunning = {
  "CHILD.EXIT": [
    { guard: "exitedCleanly", target: STATES.COMPLETED, actions: "noteExit" },
    { guard: "fromCurrentChild", target: STATES.FAILED, actions: "noteExit" },
  ],
  KILL: { target: STATES.FAILED, actions: "noteKill" },
  // restartSession: this run ends (its tree is gone before the next starts), the session goes on.
  // Not a failure: no `failed`, no `dead`, and the account's lease is released without blame.
  RESTART: {
    target: STATES.RESTARTING,
    actions: ["noteRestartRequest", "terminateChild", { type: "releaseLease", params: { ok: false, stopped: true } }],
  },
  INPUT: { guard: "childRunning", actions: "forwardInput" },
  KEYS: { guard: "childRunning", actions: "forwardKeys" },
  // The CLI's telemetry recorded a failure its screen does not show (gemini's TUI retrying a 429
  // behind its spinner): this run fails on it at once, as on the CLI's words on screen.
  "PROBE.TELEMETRY": { guard: "failureReported", target: STATES.FAILED, actions: "noteReportedFailure" },
  // maxRunMs: the run as a whole, whatever state it is in (a one-shot that never ends).
  "RUN.DEADLINE": {
    guard: "currentRun",
    target: STATES.FAILED,
    actions: { type: "because", params: { reason: "max_run_exceeded", failureMode: "run_timeout" } },
  },
} as const;

/** A failure the CLI shows while it keeps running: fail this run now (policy decides what next). */
const failureOnScreen = {
  guard: "failureOnScreen",
  target: STATES.FAILED,
  actions: ["noteOutput", "noteFailureOnScreen"],
} as const;
/** Output that changes nothing on screen (a redraw, a spinner frozen at "25s") is not progress. */
const noProgress = { guard: "screenUnchanged", actions: "noteOutput" } as const;

const isLive = (s: SessionState) => s !== STATES.DEAD && s !== STATES.COMPLETED;

export const sessionMachine = sessionSetup.createMachine({
  id: "session",
  initial: STATES.INIT,
  context: ({ input }) => ({
    id: input.id,
    agent: input.agent,
    spec: input.spec,
    outPath: input.outPath,
    errPath: input.errPath,
    policy: resolvePolicy(input.policy),
    state: STATES.INIT,
    reason: "",
    restarts: 0,
    recentRestarts: 0,
    generation: 0,
    pid: null,
    childRunning: false,
    treeAlive: false,
    backoffElapsed: false,
    lastOutputLagMs: 0,
    outputBytes: 0,
    screenTail: [],
    screen: [],
    title: null,
    screenKey: "",
    inputWait: null,
    lastError: null,
    nudged: false,
    autoAnswered: null,
    userRestart: false,
    runMode: "fresh",
    exit: null,
    failureMode: null,
    killRequested: false,
    account: input.account ?? null,
    leaseStatus: "none",
    lease: null,
    leaseWait: null,
    envRef: null,
    retryAfterMs: null,
    mcpHeartbeat: input.mcpHeartbeat ?? null,
    l2: { status: input.mcpHeartbeat ? "pending" : "skip", reason: "" },
  }),
  output: ({ context }) => ({
    id: context.id,
    state: context.state,
    reason: context.reason,
    restarts: context.restarts,
    failureMode: context.failureMode,
    lastError: context.lastError,
    exit: context.exit,
  }),
  // Child events that no state handles still update the record; stale generations are dropped.
  on: {
    "CHILD.SPAWNED": { guard: "fromCurrentChild", actions: "noteSpawned" },
    "CHILD.GONE": { guard: "fromCurrentChild", actions: "noteGone" },
    "RESTART.WINDOW_EXPIRED": { actions: "forgetRestart" },
    "LEASE.RENEW_DUE": { actions: "renewLease" },
    "PROBE.L2": { guard: "fromCurrentChild", actions: "noteMcpProbe" },
  },
  states: {
    [STATES.INIT]: {
      entry: { type: "announce", params: { to: STATES.INIT } },
      on: {
        START: { target: STATES.STARTING, actions: { type: "because", params: { reason: "initial" } } },
        // Nothing ran yet: a restart is the first run, for the reason given.
        RESTART: { target: STATES.STARTING, actions: "noteRestartRequest" },
        KILL: { target: STATES.FAILED, actions: "noteKill" },
      },
    },
    [STATES.STARTING]: {
      entry: [{ type: "announce", params: { to: STATES.STARTING } }, "beginRun", "armRunDeadline"],
      initial: "leasing",
      on: whileRunning,
      states: {
        /** Every run asks for an account when the session needs one; a wait shows its ETA. */
        leasing: {
          entry: "requestLease",
          always: { guard: "needsNoAccount", target: "launching" },
          after: { leaseWait: { target: `#session.${STATES.FAILED}`, actions: "noteNoAccount" } },
          on: {
            "LEASE.GRANTED": { target: "preparing", actions: ["noteLease", "prepareCredentials"] },
            "LEASE.QUEUED": { actions: "noteLeaseQueued" },
            "LEASE.UNAVAILABLE": { target: `#session.${STATES.FAILED}`, actions: "noteNoAccount" },
          },
        },
        /** Never started without its credentials when the session needs an account. */
        preparing: {
          on: {
            "CREDENTIALS.READY": { target: "launching", actions: "noteCredentials" },
            "CREDENTIALS.ERROR": { target: `#session.${STATES.FAILED}`, actions: "noteCredentialsError" },
          },
        },
        launching: {
          entry: "startChild",
          after: {
            startupTimeout: {
              target: `#session.${STATES.FAILED}`,
              actions: { type: "because", params: { reason: "L3_timeout", failureMode: "startup_timeout" } },
            },
          },
          on: {
            "CHILD.OUTPUT": [
              // A CLI whose first screen is its error (claude's "Not logged in") fails at once.
              { ...failureOnScreen, target: `#session.${STATES.FAILED}` },
              {
                guard: "fromCurrentChild",
                target: `#session.${STATES.HEALTHY}`,
                actions: ["noteOutput", { type: "because", params: { reason: "first_output" } }],
              },
            ],
            "CHILD.SPAWN_ERROR": {
              guard: "fromCurrentChild",
              target: `#session.${STATES.FAILED}`,
              actions: "noteSpawnError",
            },
          },
        },
      },
    },
    [STATES.HEALTHY]: {
      entry: { type: "announce", params: { to: STATES.HEALTHY } },
      after: {
        inputQuiet: {
          guard: "screenAsksQuestion",
          target: STATES.INPUT_WAIT,
          actions: "noteInputWait",
        },
        stallAfter: {
          target: STATES.STALLED,
          actions: { type: "because", params: { reason: "L1_stall" } },
        },
      },
      on: {
        // Re-entering restarts the stall and quiet timers: event-driven, no polling.
        "CHILD.OUTPUT": [
          failureOnScreen,
          noProgress,
          { guard: "fromCurrentChild", target: STATES.HEALTHY, reenter: true, actions: "noteOutput" },
        ],
        ...whileRunning,
      },
    },
    [STATES.STALLED]: {
      entry: [{ type: "announce", params: { to: STATES.STALLED } }, "resetNudge"],
      // The stall ladder: stalled → nudge (stallNudgeMs) → give up and restart (stallTimeoutMs).
      after: {
        stallNudge: { guard: "nudgeDue", actions: "nudge" },
        stalledGiveUp: {
          guard: "stallGiveUpEnabled",
          target: STATES.FAILED,
          actions: { type: "because", params: { reason: "stall_timeout", failureMode: "stall_timeout" } },
        },
      },
      on: {
        "CHILD.OUTPUT": [
          failureOnScreen,
          noProgress,
          {
            guard: "fromCurrentChild",
            target: STATES.HEALTHY,
            actions: ["noteOutput", { type: "because", params: { reason: "output_resumed" } }],
          },
        ],
        ...whileRunning,
      },
    },
    [STATES.INPUT_WAIT]: {
      entry: [{ type: "announce", params: { to: STATES.INPUT_WAIT } }, "emitInputWait"],
      exit: "clearInputWait",
      // Nobody answered: the default keys once per question, else fail (an unattended run never waits forever).
      after: {
        inputWaitTimeout: [
          {
            guard: "mayAutoAnswer",
            target: STATES.HEALTHY,
            actions: "autoAnswer",
          },
          {
            guard: "inputWaitTimeoutEnabled",
            target: STATES.FAILED,
            actions: { type: "because", params: { reason: "input_wait_timeout", failureMode: "input_wait_timeout" } },
          },
        ],
      },
      on: {
        // Judged by the screen, not by bytes: a spinner redrawing under the question is not an answer.
        "CHILD.OUTPUT": [
          failureOnScreen,
          {
            guard: "questionGone",
            target: STATES.HEALTHY,
            actions: ["noteOutput", { type: "because", params: { reason: "output_resumed" } }],
          },
          // Another question replaced it: healthy until the screen is quiet again, then asked anew.
          // Staying here kept the first question (codex's composer before its approval menu).
          {
            guard: "questionChanged",
            target: STATES.HEALTHY,
            actions: ["noteOutput", { type: "because", params: { reason: "question_changed" } }],
          },
          { guard: "fromCurrentChild", actions: "noteOutput" },
        ],
        ...whileRunning,
      },
    },
    [STATES.FAILED]: {
      entry: [
        { type: "announce", params: { to: STATES.FAILED } },
        "terminateChild",
        { type: "releaseLease", params: { ok: false } },
      ],
      always: [
        { guard: "killRequested", target: STATES.DEAD },
        { guard: "unrecoverable", target: STATES.DEAD, actions: "explainUnrecoverable" },
        { guard: "mayRestart", target: STATES.RESTARTING, actions: "countRestart" },
        { target: STATES.DEAD, actions: "explainDeath" },
      ],
    },
    [STATES.RESTARTING]: {
      entry: [{ type: "announce", params: { to: STATES.RESTARTING } }, "announceRestartWait"],
      // The old tree must be gone before the next child starts: no two runs at once.
      exit: "releaseChild",
      after: { restartBackoff: { actions: "markBackoffElapsed" } },
      always: {
        guard: "readyToRespawn",
        target: STATES.STARTING,
        actions: { type: "because", params: { reason: "respawn" } },
      },
      on: {
        // Seed defect: a kill during restarting was refused and the respawn still ran.
        KILL: { target: STATES.FAILED, actions: "noteKill" },
        // Asked to restart while waiting (a backoff, a rate limit's reset): the next run starts once the tree is gone.
        RESTART: { actions: "skipBackoff" },
      },
    },
    [STATES.DEAD]: {
      type: "final",
      entry: [{ type: "announce", params: { to: STATES.DEAD } }, "emitDead"],
    },
    [STATES.COMPLETED]: {
      type: "final",
      entry: [
        { type: "announce", params: { to: STATES.COMPLETED } },
        { type: "releaseLease", params: { ok: true } },
        "emitCompleted",
      ],
    },
  },
});

export type SessionMachine = typeof sessionMachine;
export { isLive as isLiveState };
