/**
 * Moves the session chart's states share (session.machine.ts): what every state with a running child
 * handles alike, and the output path, judged in this order: a failure on screen, no progress, progress.
 */
import { STATES } from "./session.types.js";

/**
 * What every state with a running child handles alike. Exit 0 completes from any of them: the
 * seed's table only allowed it from healthy, so an exit 0 while starting (or stalled, or waiting
 * for input) had no legal move and the session hung there forever.
 */
/**
 * INPUT or KEYS: one an embedder's own code got wrong (`keys: ["Entr"]`) is refused and said, never
 * thrown mid-step (a throw put the actor in error, its run left alive and unwatched: a field review);
 * a good one goes where `guard` says.
 */
export function takeInput<G extends string, A extends string>(guard: G, actions: A) {
  return [
    { guard: "inputMalformed", actions: "refuseInput" },
    { guard, actions },
  ] as const;
}

export const whileRunning = {
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
  INPUT: takeInput("childRunning", "forwardInput"),
  KEYS: takeInput("childRunning", "forwardInput"),
  // The CLI's telemetry recorded a failure its screen does not show (gemini's TUI retrying a 429
  // behind its spinner): this run fails on it at once, as on the CLI's words on screen.
  "PROBE.TELEMETRY": [
    { guard: "failureReported", target: STATES.FAILED, actions: "noteReportedFailure" },
    // Any other failed call it recorded is one it retries (or gives up on, which its screen says): a
    // retry, so the run says what it waits on (gemini against an API that never answers: `fetch
    // failed sending request` every ~70 s; a stream that stopped: `terminated`, recorded).
    { guard: "currentRun", actions: "noteReportedRetry" },
  ],
  // The CLI's stream says it retries a failed call itself (claude's api_retry): its own retries are
  // left to run (a 529 may pass), but the session says what it waits on instead of looking healthy.
  "PROBE.RETRY": { guard: "currentRun", actions: "noteRetry" },
  // maxRunMs: the run as a whole, whatever state it is in (a one-shot that never ends).
  "RUN.DEADLINE": {
    guard: "currentRun",
    target: STATES.FAILED,
    actions: { type: "because", params: { reason: "max_run_exceeded", failureMode: "run_timeout" } },
  },
} as const;

/** A failure the CLI shows while it keeps running: fail this run now (policy decides what next). */
export const failureOnScreen = {
  guard: "failureOnScreen",
  target: `#session.${STATES.FAILED}`,
  actions: ["noteOutput", "noteFailureOnScreen"],
} as const;
/** Output that changes nothing on screen (a redraw, a spinner frozen at "25s") is not progress. */
export const noProgress = { guard: "screenUnchanged", actions: "noteOutput" } as const;

export const progressActions = ["noteOutput", "cancelQuiet", "armQuiet", "cancelStall", "armStall"] as const;
/** A retry announced on screen while healthy: progress for the question timer; its wait re-arms the stall. */
const healthyRetryActions = ["noteOutput", "noteScreenRetry", "cancelQuiet", "armQuiet"] as const;
/** The same, ending a busy turn's `ticking`: the CLI is at work again. */
export const healthyRetry = {
  guard: "newRetryOnScreen",
  target: `#session.${STATES.HEALTHY}.working`,
  actions: healthyRetryActions,
} as const;

/** Output that ends a stall. */
export const resumedActions = ["noteOutput", { type: "because", params: { reason: "output_resumed" } }] as const;
/** A retry notice after a silence ends a stall (claude's text mode waits up to ~40 s between them). */
export const resumedByRetry = {
  guard: "newRetryOnScreen",
  target: `#session.${STATES.HEALTHY}`,
  actions: ["noteOutput", "noteScreenRetry", { type: "because", params: { reason: "output_resumed" } }],
} as const;

/**
 * Output while healthy and `working` (the screen's content changed last). Progress makes the stall
 * and quiet timers count again from its last byte: they are re-armed in place, healthy is not
 * re-entered (issue 13: a re-entry per output event, its exit and entry and a stateChange check, was
 * most of the ~34 KB each event allocated). Timing is the same as the re-entry's: both cancelled,
 * then armed with the delays of the context just noted. A counter's tick is progress for those
 * timers (a long tool run shows nothing else); only the busy stall tells it from work.
 */
export const outputWhileWorking = [
  failureOnScreen,
  // A retry the CLI announces on screen: progress, and PROBE.RETRY, whose step re-arms the stall with
  // the announced wait. Before noProgress: a TUI's busy line may change only in its attempt number.
  { guard: "newRetryOnScreen", actions: healthyRetryActions },
  noProgress,
  // Only the counter moved: `ticking` begins (its timer counts from this tick) on this screen.
  { guard: "onlyCounterChanged", target: "ticking", actions: [...progressActions, "noteBusyContent"] },
  { guard: "fromCurrentChild", actions: progressActions },
] as const;

/**
 * A busy turn on which only the clock ticks (`healthy.ticking`, `stalled.ticking`): other content
 * on its screen is work only if it stays. A reading taken in the middle of a redraw (the pty's
 * reader got part of one write) shows a half-drawn frame, then the clock's screen again: live under
 * load, such readings kept gemini's hung turn `healthy` for 8 minutes (gemini/tui-hang, 2026-12-04;
 * test/busy-stall.pty.test.ts). So the first reading that shows something else waits in `changed`;
 * the clock's screen back means no work; the first reading after BUSY_CONTENT_SETTLE_MS that still
 * shows something else is work (`work`). Judged on a reading, never on the timer alone: a reading
 * behind a blocked event loop may be older than the timer.
 */
export function busyClockStates<const Tick, const Retry, const Work>(o: {
  /** Another tick of the clock (or a half-drawn frame): what output does meanwhile. */
  tick: Tick;
  /** A retry the CLI announces on screen (its move, with `guard: "newRetryOnScreen"`): work again. */
  retry: Retry;
  /** The content that stayed: work again. */
  work: Work;
}) {
  const first = [failureOnScreen, o.retry, noProgress] as const;
  const shown = { guard: "busyContentShown", actions: o.tick } as const;
  const back = { ...shown, target: "steady" } as const;
  const other = { guard: "fromCurrentChild", actions: o.tick } as const;
  return {
    initial: "steady",
    states: {
      steady: { on: { "CHILD.OUTPUT": [...first, shown, { ...other, target: "changed" }] } },
      changed: {
        after: { busyContentSettle: "changedAwhile" },
        on: { "CHILD.OUTPUT": [...first, back, other] },
      },
      changedAwhile: {
        on: { "CHILD.OUTPUT": [...first, back, { guard: "fromCurrentChild", ...o.work }] },
      },
    },
  } as const;
}

/** The question went and stayed away (input_wait.gone): the session works on. */
export const questionGoneActions = { type: "because", params: { reason: "output_resumed" } } as const;
/**
 * Another question replaced it: healthy until the screen is quiet again, then asked anew. Staying
 * in input_wait kept the first question (codex's composer before its approval menu).
 */
const questionChanged = {
  guard: "questionChanged",
  target: `#session.${STATES.HEALTHY}`,
  actions: ["noteOutput", { type: "because", params: { reason: "question_changed" } }],
} as const;

/**
 * The question answered, and one on the screen again: the next one (the next turn's composer, the
 * next approval). Healthy until the screen is quiet again, then asked anew (a new `inputWait`).
 */
const nextQuestion = {
  target: `#session.${STATES.HEALTHY}`,
  actions: ["noteOutput", { type: "because", params: { reason: "next_question" } }],
} as const;

/** A reading after the question stayed away (input_wait.settled): back, the next one, or it was answered. */
export const outputAfterSettle = [
  failureOnScreen,
  questionChanged,
  { guard: "nextQuestion", ...nextQuestion },
  { guard: "questionBack", target: "asked", actions: "noteOutput" },
  { guard: "fromCurrentChild", target: `#session.${STATES.HEALTHY}`, actions: ["noteOutput", questionGoneActions] },
] as const;

/** Output while a question is on screen (input_wait.asked): a failure, gone, another question, else noted. */
export const outputWhileAsked = [
  failureOnScreen,
  { guard: "questionGone", target: "gone", actions: "noteOutput" },
  questionChanged,
  { guard: "menuReplaced", ...nextQuestion },
  { guard: "fromCurrentChild", actions: "noteOutput" },
] as const;

/** Output while it is off the screen (input_wait.gone): another question, the next one, back, else noted. */
export const outputWhileGone = [
  failureOnScreen,
  questionChanged,
  { guard: "nextQuestion", ...nextQuestion },
  { guard: "questionBack", target: "asked", actions: "noteOutput" },
  { guard: "fromCurrentChild", actions: "noteOutput" },
] as const;
