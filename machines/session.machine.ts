/**
 * The session statechart: one supervised agent session, from spawn to a final state.
 *
 * The seed's nine states and its transition table, plus the moves its defects were missing
 * (see docs/architecture.md, "Transition table"). Pure: no I/O, no timers. Time is only named
 * `delays` (so SimulatedClock drives tests) and the child process is only the `ptyProcess`
 * actor, which `machine.provide({ actors })` replaces.
 */
import { initialContext } from "./session.context.js";
import {
  busyClockStates,
  failureOnScreen,
  outputAfterSettle,
  outputWhileAsked,
  outputWhileGone,
  questionGoneActions,
  healthyRetry,
  noProgress,
  outputWhileWorking,
  progressActions,
  resumedActions,
  resumedByRetry,
  takeInput,
  whileRunning,
} from "./session.moves.js";
import { sessionSetup } from "./session.setup.js";
import { STATES, type SessionState } from "./session.types.js";

export type { SessionContext, SessionEmitted, SessionEvent, SessionInput, SessionOutput } from "./session.setup.js";

const isLive = (s: SessionState) => s !== STATES.DEAD && s !== STATES.COMPLETED;

export const sessionMachine = sessionSetup.createMachine({
  id: "session",
  initial: STATES.INIT,
  context: ({ input }) => initialContext(input),
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
    "CHILD.SPAWNED": { guard: "fromCurrentChild", actions: ["noteSpawned", "writeTypeAhead"] },
    "CHILD.GONE": { guard: "fromCurrentChild", actions: "noteGone" },
    // Whichever run it was written to: the last input may be lost, and the snapshot says so.
    "CHILD.INPUT_UNSURE": { actions: "noteInputUnsure" },
    "RESTART.WINDOW_EXPIRED": { actions: "forgetRestart" },
    "LEASE.RENEW_DUE": { actions: "renewLease" },
    "PROBE.L2": { guard: "fromCurrentChild", actions: "noteMcpProbe" },
    // Input before a run's child runs (a TUI: before its composer; else whileRunning writes it): kept.
    INPUT: takeInput("keepsTypeAhead", "keepTypeAhead"),
    KEYS: takeInput("keepsTypeAhead", "keepTypeAhead"),
    // An actor of this session threw (a provided ptyProcess, a probe): this session ends, said why.
    // Unhandled, XState makes the parent fail with it: the session, then the conductor and every session.
    "xstate.error.actor.*": { target: `.${STATES.FAILED}`, actions: "noteActorError" },
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
      // One bound for the run's whole wait for an account, however often it goes back to leasing.
      after: {
        leaseWait: [
          { guard: "leasingAccount", target: `#session.${STATES.FAILED}`, actions: "noteNoAccount" },
          { guard: "preparingAccount", actions: "noteLeaseWaitOver" },
        ],
      },
      states: {
        /** Every run asks for an account when the session needs one; a wait shows its ETA. */
        leasing: {
          entry: "requestLease",
          always: { guard: "needsNoAccount", target: "launching" },
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
            "CREDENTIALS.ERROR": [
              // One account of a pool with its credentials gone: its circuit opens, the run asks for another.
              { guard: "otherAccounts", target: "leasing", actions: "releaseBrokenAccount" },
              { target: `#session.${STATES.FAILED}`, actions: "noteCredentialsError" },
            ],
            // Another conductor runs on this account: give it back (it cools), lease again.
            "CREDENTIALS.BUSY": [
              {
                guard: "leaseWaitIsOver",
                target: `#session.${STATES.FAILED}`,
                actions: ["releaseHeldElsewhere", "noteNoAccount"],
              },
              { target: "leasing", actions: "releaseHeldElsewhere" },
            ],
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
                // claude -p prints nothing before its first retry notice (18 s recorded): it may be one.
                actions: ["noteOutput", "noteScreenRetry", { type: "because", params: { reason: "first_output" } }],
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
      // working: the screen's content changed last; ticking: since then only a busy counter did.
      initial: "working",
      states: {
        working: { on: { "CHILD.OUTPUT": outputWhileWorking } },
        ticking: {
          // The busy stall: a turn whose clock alone moves (codex's `Working (14m 3s …)` against an
          // API that never answers) is no progress, however long the counter counts.
          after: {
            busyStallAfter: {
              guard: "busyStallEnabled",
              target: `#session.${STATES.STALLED}.ticking`,
              actions: { type: "because", params: { reason: "L1_busy_stall" } },
            },
          },
          ...busyClockStates({
            tick: progressActions,
            retry: healthyRetry,
            work: { target: `#session.${STATES.HEALTHY}.working`, actions: progressActions } as const,
          }),
        },
      },
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
        // Output is judged in the substates (session.moves.ts): progress re-arms the timers, no polling.
        ...whileRunning,
        // The CLI waits before its retry: the stall counts from the end of the wait it announced.
        "PROBE.RETRY": { guard: "currentRun", actions: ["noteRetry", "cancelStall", "armStall"] },
      },
    },
    [STATES.STALLED]: {
      entry: [{ type: "announce", params: { to: STATES.STALLED } }, "resetNudge"],
      // silent: no output (or none that changed the screen); ticking: the busy stall, whose counter
      // still ticks: that is not the output that ends it.
      initial: "silent",
      states: {
        silent: {},
        ticking: busyClockStates({
          tick: "noteOutput",
          retry: resumedByRetry,
          work: { target: `#session.${STATES.HEALTHY}`, actions: resumedActions } as const,
        }),
      },
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
          resumedByRetry,
          noProgress,
          { guard: "fromCurrentChild", target: STATES.HEALTHY, actions: resumedActions },
        ],
        ...whileRunning,
      },
    },
    [STATES.INPUT_WAIT]: {
      entry: [{ type: "announce", params: { to: STATES.INPUT_WAIT } }, "writeTypeAhead", "emitInputWait"],
      exit: "clearInputWait",
      // Nobody answered: the default keys once per question, else fail (an unattended run never waits forever).
      after: {
        inputWaitTimeout: [
          // The question went from the screen just now: it was answered, not left unanswered.
          { guard: "questionFading", target: STATES.HEALTHY, actions: questionGoneActions },
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
      // Judged by the screen, not by bytes: a spinner redrawing under the question is not an answer.
      // asked: the question is on screen; gone: the last reading did not show it. A reading taken in
      // the middle of a redraw (an erase, then the rest of the write) shows a half-drawn frame; leaving
      // at once on it, a TUI that kept redrawing its question never went quiet enough to be asked
      // again (healthy, its question unanswered), or was asked twice (test/question-redraw.pty.test.ts).
      // The question counts as answered once it stays away for questionGoneSettle and the first
      // reading after that still lacks it (settled: a timer alone can run before a queued reading).
      // A question answered (sendInput, keys that pick) and on screen again once it went is the next
      // one (next_question), as is a menu answered and drawn again with other content (a second approval).
      initial: "asked",
      states: {
        asked: { on: { "CHILD.OUTPUT": outputWhileAsked } },
        gone: {
          after: { questionGoneSettle: "settled" },
          on: { "CHILD.OUTPUT": outputWhileGone },
        },
        settled: {
          after: { questionGoneQuiet: { target: `#session.${STATES.HEALTHY}`, actions: questionGoneActions } },
          on: { "CHILD.OUTPUT": outputAfterSettle },
        },
      },
      on: {
        ...whileRunning,
        // Text typed as an answer, its Enter due: a menu's only if the text left the menu as it was; a
        // composer's or a prompt's is written by then, and the question is answered from there (session.input.ts).
        "INPUT.SUBMIT": [
          { guard: "answerUntaken", actions: "submitAnswer" },
          { guard: "textSubmitted", actions: "noteAnswered" },
        ],
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
      entry: [{ type: "announce", params: { to: STATES.RESTARTING } }, "announceRestartWait", "watchHost"],
      // The old tree must be gone before the next child starts: no two runs at once.
      exit: "releaseChild",
      after: {
        restartBackoff: { actions: "markBackoffElapsed" },
        // After a host outage the wait is for the host's link (HOST.STATUS), bounded by hostWaitMs.
        hostWait: { guard: "waitingForHost", target: STATES.FAILED, actions: "noteHostGaveUp" },
      },
      always: { guard: "readyToRespawn", target: STATES.STARTING, actions: "noteRespawn" },
      on: {
        // Seed defect: a kill during restarting was refused and the respawn still ran.
        KILL: { target: STATES.FAILED, actions: "noteKill" },
        // Asked to restart while waiting (a backoff, a rate limit's reset): the next run starts once the tree is gone.
        RESTART: { actions: "skipBackoff" },
        // The run it ended (a restart asked for, a timeout's TERM) exits here: that is `previousRun.exit`.
        "CHILD.EXIT": { guard: "fromCurrentChild", actions: "noteEndedExit" },
        "HOST.STATUS": [
          { guard: "hostAnswers", actions: ["noteHostStatus", "hostBack"] },
          { actions: "noteHostStatus" },
        ],
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
