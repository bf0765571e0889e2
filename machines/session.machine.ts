/**
 * The session statechart: one supervised agent session, from spawn to a final state.
 *
 * The seed's nine states and its transition table, plus the moves its defects were missing
 * (see docs/architecture.md, "Transition table"). Pure: no I/O, no timers. Time is only named
 * `delays` (so SimulatedClock drives tests) and the child process is only the `ptyProcess`
 * actor, which `machine.provide({ actors })` replaces.
 */
import { assign, emit, enqueueActions, fromCallback, sendTo, setup } from "xstate";
import { classifyFailure, DEFAULT_INPUT_WAIT_PATTERNS, matchInputWait } from "./classify-output.js";
import { backoffDelay, resolvePolicy, type PolicyOverrides, type SessionPolicy } from "./session.policy.js";
import type { ChildCommand, ChildEvent, ChildSpec, FailureMode, PtyProcessInput, SessionState } from "./session.types.js";
import { STATES } from "./session.types.js";

export interface SessionInput {
  id: string;
  /** A label for logs and snapshots (`codex`, `claude`, `command`, ...). */
  agent: string;
  spec: ChildSpec;
  outPath?: string;
  errPath?: string;
  policy?: PolicyOverrides;
}

export interface SessionContext {
  id: string;
  agent: string;
  spec: ChildSpec;
  outPath: string | undefined;
  errPath: string | undefined;
  policy: SessionPolicy;
  /** The state name last announced: `from` of the next stateChange. */
  state: SessionState;
  /** Why the current (or pending) move happens. */
  reason: string;
  restarts: number;
  /** Restarts still inside the restart window. */
  recentRestarts: number;
  /** Run number of the current child; events of older children are ignored. */
  generation: number;
  pid: number | null;
  /** The agent process is running (SPAWNED .. EXIT). */
  childRunning: boolean;
  /** Some process of the child's tree may be alive (spawn .. GONE). */
  treeAlive: boolean;
  backoffElapsed: boolean;
  lastOutputLagMs: number;
  outputBytes: number;
  screenTail: string[];
  inputWait: { pattern: string; line: string } | null;
  exit: { exitCode: number | null; signal: string | null } | null;
  failureMode: FailureMode | null;
  killRequested: boolean;
}

export type SessionEvent =
  | { type: "START" }
  | { type: "KILL"; reason?: string }
  | { type: "INPUT"; text: string }
  | { type: "RESTART.WINDOW_EXPIRED" }
  | ChildEvent;

/** Events the session emits (`actor.on(type, fn)`): the facade and the event log listen to these. */
export type SessionEmitted =
  | { type: "stateChange"; sessionId: string; from: SessionState; to: SessionState; reason: string; restarts: number }
  | { type: "spawn"; sessionId: string; generation: number; pid: number; argv: readonly string[] }
  | { type: "exit"; sessionId: string; generation: number; exitCode: number | null; signal: string | null; failureMode: FailureMode | null }
  | { type: "gone"; sessionId: string; generation: number }
  | { type: "inputWait"; sessionId: string; pattern: string; line: string }
  | { type: "completed"; sessionId: string }
  | { type: "dead"; sessionId: string; reason: string; failureMode: FailureMode | null };

type Ev<T extends SessionEvent["type"]> = Extract<SessionEvent, { type: T }>;

/** Stand-in for the real pty actor: a machine used without `provide` does nothing at all. */
const noChild = fromCallback<ChildCommand, PtyProcessInput>(() => undefined);

/** The built-in patterns plus the user's (regex sources); a user list extends, never replaces. */
const askedQuestion = (lines: readonly string[], policy: SessionPolicy) =>
  matchInputWait(lines, [...DEFAULT_INPUT_WAIT_PATTERNS, ...policy.inputWaitPatterns]);

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
  INPUT: { guard: "childRunning", actions: "forwardInput" },
} as const;

const isLive = (s: SessionState) => s !== STATES.DEAD && s !== STATES.COMPLETED;

export const sessionMachine = setup({
  types: {
    input: {} as SessionInput,
    context: {} as SessionContext,
    events: {} as SessionEvent,
    emitted: {} as SessionEmitted,
  },
  actors: { ptyProcess: noChild },
  delays: {
    /** L3: first output must come within this. */
    startupTimeout: ({ context }) => context.policy.startupTimeoutMs,
    /** L1: measured from the last byte, not from the (coalesced) event that reported it. */
    stallAfter: ({ context }) => Math.max(0, context.policy.stallMs - context.lastOutputLagMs),
    /** L1.5: quiet period before the screen is read for a question. */
    inputQuiet: ({ context }) => Math.max(0, context.policy.inputQuietMs - context.lastOutputLagMs),
    /** Stalled this long → give up on this run. Never fires when the policy says null. */
    stalledGiveUp: ({ context }) => context.policy.stallTimeoutMs ?? 2 ** 31 - 1,
    restartBackoff: ({ context }) => backoffDelay(context.policy, context.recentRestarts),
    restartWindow: ({ context }) => context.policy.windowMs ?? 2 ** 31 - 1,
  },
  guards: {
    fromCurrentChild: ({ context, event }) => "generation" in event && event.generation === context.generation,
    exitedCleanly: ({ context, event }) =>
      (event as Ev<"CHILD.EXIT">).generation === context.generation &&
      (event as Ev<"CHILD.EXIT">).exitCode === 0 &&
      !(event as Ev<"CHILD.EXIT">).signal,
    screenAsksQuestion: ({ context }) =>
      askedQuestion(context.screenTail, context.policy) !== null,
    questionGone: ({ context, event }) =>
      (event as Ev<"CHILD.OUTPUT">).generation === context.generation &&
      askedQuestion((event as Ev<"CHILD.OUTPUT">).screenTail, context.policy) === null,
    killRequested: ({ context }) => context.killRequested,
    mayRestart: ({ context }) => context.recentRestarts < context.policy.maxRestarts,
    readyToRespawn: ({ context }) => !context.treeAlive && context.backoffElapsed,
    stallGiveUpEnabled: ({ context }) => context.policy.stallTimeoutMs !== null,
    childRunning: ({ context }) => context.childRunning,
  },
  actions: {
    /** Every state's entry: emit one stateChange per real move (self re-entry is not a move). */
    announce: enqueueActions(({ context, enqueue }, params: { to: SessionState }) => {
      if (context.state === params.to) return;
      enqueue.emit({
        type: "stateChange",
        sessionId: context.id,
        from: context.state,
        to: params.to,
        reason: context.reason,
        restarts: context.restarts,
      });
      enqueue.assign({ state: params.to });
    }),
    because: assign((_, params: { reason: string; failureMode?: FailureMode }) => ({
      reason: params.reason,
      ...(params.failureMode ? { failureMode: params.failureMode } : {}),
    })),
    startChild: enqueueActions(({ context, enqueue }) => {
      const generation = context.generation + 1;
      enqueue.assign({
        generation,
        pid: null,
        childRunning: false,
        treeAlive: true,
        exit: null,
        failureMode: null,
        inputWait: null,
        screenTail: [],
        lastOutputLagMs: 0,
      });
      const input: PtyProcessInput = {
        sessionId: context.id,
        generation,
        spec: {
          ...context.spec,
          // The agent can tell a restart from a first run (e.g. to resume with --continue).
          env: { ...context.spec.env, CONDUCTOR_SESSION_ID: context.id, CONDUCTOR_ATTEMPT: String(generation) },
        },
        ...(context.outPath ? { outPath: context.outPath } : {}),
        ...(context.errPath ? { errPath: context.errPath } : {}),
      };
      enqueue.spawnChild("ptyProcess", { id: "pty", input });
    }),
    noteSpawned: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Ev<"CHILD.SPAWNED">;
      enqueue.assign({ pid: e.pid, childRunning: true });
      enqueue.emit({ type: "spawn", sessionId: context.id, generation: e.generation, pid: e.pid, argv: context.spec.argv });
    }),
    noteOutput: assign(({ event }) => {
      const e = event as Ev<"CHILD.OUTPUT">;
      return { outputBytes: e.bytes, lastOutputLagMs: e.lagMs, screenTail: e.screenTail };
    }),
    noteExit: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Ev<"CHILD.EXIT">;
      const clean = e.exitCode === 0 && !e.signal;
      const failureMode: FailureMode | null = clean
        ? null
        : (e.failureMode ?? (classifyFailure(e.recentOutput) ? "rate_limited" : "exit_nonzero"));
      enqueue.assign({ childRunning: false, exit: { exitCode: e.exitCode, signal: e.signal }, failureMode });
      enqueue.emit({
        type: "exit",
        sessionId: context.id,
        generation: e.generation,
        exitCode: e.exitCode,
        signal: e.signal,
        failureMode,
      });
      enqueue.assign({
        reason: e.reason ?? (clean ? "exit_0" : `exit_code:${e.exitCode},signal:${e.signal}`),
      });
    }),
    noteSpawnError: assign(({ event }) => ({
      childRunning: false,
      treeAlive: false,
      failureMode: "spawn_error" as const,
      reason: `spawn_error:${(event as Ev<"CHILD.SPAWN_ERROR">).message}`,
    })),
    noteGone: enqueueActions(({ context, event, enqueue }) => {
      enqueue.assign({ treeAlive: false, childRunning: false, pid: null });
      enqueue.emit({ type: "gone", sessionId: context.id, generation: (event as Ev<"CHILD.GONE">).generation });
    }),
    noteKill: assign(({ event }) => ({
      killRequested: true,
      reason: (event as Ev<"KILL">).reason ?? "user_kill",
      failureMode: "killed" as const,
    })),
    noteInputWait: assign(({ context }) => {
      const hit = askedQuestion(context.screenTail, context.policy);
      return hit ? { inputWait: hit, reason: `input_wait:${hit.pattern}` } : {};
    }),
    /** After the stateChange, so a listener that answers at once sees the session in input_wait. */
    emitInputWait: emit(({ context }) => ({
      type: "inputWait" as const,
      sessionId: context.id,
      pattern: context.inputWait?.pattern ?? "",
      line: context.inputWait?.line ?? "",
    })),
    clearInputWait: assign({ inputWait: null }),
    /** Ask the pty actor to end the tree; it answers with EXIT (if running) and GONE. */
    terminateChild: enqueueActions(({ context, enqueue }) => {
      if (!context.treeAlive) return;
      enqueue.sendTo("pty", { type: "CHILD.TERMINATE", reason: context.reason, graceMs: context.policy.graceMs });
    }),
    /**
     * Enter is CR, as a keyboard sends it: TUIs in raw mode wait for \r, and a line-mode
     * terminal turns it into \n (ICRNL), so line readers see "text\n" as in the seed.
     */
    forwardInput: sendTo("pty", ({ event }) => ({ type: "CHILD.WRITE" as const, data: `${(event as Ev<"INPUT">).text}\r` })),
    countRestart: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({
        restarts: context.restarts + 1,
        recentRestarts: context.recentRestarts + 1,
        backoffElapsed: false,
        reason: `restart_${context.restarts + 1}/${context.policy.maxRestarts}`,
      });
      if (context.policy.windowMs !== null) {
        enqueue.raise({ type: "RESTART.WINDOW_EXPIRED" }, { delay: "restartWindow" });
      }
    }),
    forgetRestart: assign(({ context }) => ({ recentRestarts: Math.max(0, context.recentRestarts - 1) })),
    markBackoffElapsed: assign({ backoffElapsed: true }),
    /** Stop the pty actor; if its tree is still dying, the reaper (owned by the actor's cleanup) finishes it. */
    releaseChild: enqueueActions(({ enqueue }) => {
      enqueue.stopChild("pty");
      enqueue.assign({ treeAlive: false, childRunning: false });
    }),
    explainDeath: assign(({ context }) => ({
      reason: context.killRequested ? context.reason : `maxRestarts(${context.policy.maxRestarts})_exceeded`,
    })),
    emitCompleted: emit(({ context }) => ({ type: "completed" as const, sessionId: context.id })),
    emitDead: emit(({ context }) => ({
      type: "dead" as const,
      sessionId: context.id,
      reason: context.reason,
      failureMode: context.failureMode,
    })),
  },
}).createMachine({
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
    inputWait: null,
    exit: null,
    failureMode: null,
    killRequested: false,
  }),
  output: ({ context }) => ({
    id: context.id,
    state: context.state,
    reason: context.reason,
    restarts: context.restarts,
    failureMode: context.failureMode,
    exit: context.exit,
  }),
  // Child events that no state handles still update the record; stale generations are dropped.
  on: {
    "CHILD.SPAWNED": { guard: "fromCurrentChild", actions: "noteSpawned" },
    "CHILD.GONE": { guard: "fromCurrentChild", actions: "noteGone" },
    "RESTART.WINDOW_EXPIRED": { actions: "forgetRestart" },
  },
  states: {
    [STATES.INIT]: {
      entry: { type: "announce", params: { to: STATES.INIT } },
      on: {
        START: { target: STATES.STARTING, actions: { type: "because", params: { reason: "initial" } } },
        KILL: { target: STATES.FAILED, actions: "noteKill" },
      },
    },
    [STATES.STARTING]: {
      entry: [{ type: "announce", params: { to: STATES.STARTING } }, "startChild"],
      after: {
        startupTimeout: {
          target: STATES.FAILED,
          actions: { type: "because", params: { reason: "L3_timeout", failureMode: "startup_timeout" } },
        },
      },
      on: {
        "CHILD.OUTPUT": {
          guard: "fromCurrentChild",
          target: STATES.HEALTHY,
          actions: ["noteOutput", { type: "because", params: { reason: "first_output" } }],
        },
        ...whileRunning,
        "CHILD.SPAWN_ERROR": { guard: "fromCurrentChild", target: STATES.FAILED, actions: "noteSpawnError" },
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
        "CHILD.OUTPUT": { guard: "fromCurrentChild", target: STATES.HEALTHY, reenter: true, actions: "noteOutput" },
        ...whileRunning,
      },
    },
    [STATES.STALLED]: {
      entry: { type: "announce", params: { to: STATES.STALLED } },
      after: {
        stalledGiveUp: {
          guard: "stallGiveUpEnabled",
          target: STATES.FAILED,
          actions: { type: "because", params: { reason: "stall_timeout", failureMode: "stall_timeout" } },
        },
      },
      on: {
        "CHILD.OUTPUT": {
          guard: "fromCurrentChild",
          target: STATES.HEALTHY,
          actions: ["noteOutput", { type: "because", params: { reason: "output_resumed" } }],
        },
        ...whileRunning,
      },
    },
    [STATES.INPUT_WAIT]: {
      entry: [{ type: "announce", params: { to: STATES.INPUT_WAIT } }, "emitInputWait"],
      exit: "clearInputWait",
      on: {
        // Judged by the screen, not by bytes: a spinner redrawing under the question is not an answer.
        "CHILD.OUTPUT": [
          {
            guard: "questionGone",
            target: STATES.HEALTHY,
            actions: ["noteOutput", { type: "because", params: { reason: "output_resumed" } }],
          },
          { guard: "fromCurrentChild", actions: "noteOutput" },
        ],
        ...whileRunning,
      },
    },
    [STATES.FAILED]: {
      entry: [{ type: "announce", params: { to: STATES.FAILED } }, "terminateChild"],
      always: [
        { guard: "killRequested", target: STATES.DEAD },
        { guard: "mayRestart", target: STATES.RESTARTING, actions: "countRestart" },
        { target: STATES.DEAD, actions: "explainDeath" },
      ],
    },
    [STATES.RESTARTING]: {
      entry: { type: "announce", params: { to: STATES.RESTARTING } },
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
      },
    },
    [STATES.DEAD]: {
      type: "final",
      entry: [{ type: "announce", params: { to: STATES.DEAD } }, "emitDead"],
    },
    [STATES.COMPLETED]: {
      type: "final",
      entry: [{ type: "announce", params: { to: STATES.COMPLETED } }, "emitCompleted"],
    },
  },
});

export type SessionMachine = typeof sessionMachine;
export { isLive as isLiveState };
