/**
 * Simulated time for model-based paths run on real processes. The chart's timers run on a
 * SimulatedClock that moves only when a step of the path is a timer: then the clock jumps to the
 * earliest pending timer, one at a time, until the step's event has reached the session. Real
 * processes take whatever wall time they take; no timer can fire while the test waits for them.
 *
 * Most timers belong to one state (`after`), and the policy puts them far apart, so the one the
 * model expects is the first to fall due. Three are delayed events the chart raises to itself and
 * that stay pending across states (lease renewal, the restart window, the run deadline): the model
 * places them at any step. A dry run of the path on the pure chart (no processes, same policy)
 * gives the simulated time of every step; each of these timers is then armed, at the step that
 * arms it, with the delay that makes it fall due 1 ms after the time of the step where the path
 * wants it, so the clock fires it there, and nothing sends it on its behalf.
 */
import { type AnyActorRef, createActor, fromCallback, type InspectionEvent, SimulatedClock, setup } from "xstate";
import { NEVER_MS, QUESTION_GONE_QUIET_MS, QUESTION_GONE_SETTLE_MS } from "../../machines/session.policy.js";
import { type SessionInput, sessionMachine } from "../../machines/session.machine.js";
import type { SessionModelPath } from "./session-model.js";

/**
 * The policy to run generated paths with, in simulated milliseconds: timers of one state far apart,
 * so the one the model expects falls due first even after a real output's reporting lag (subtracted
 * from stallAfter/inputQuiet) is taken off. Arm the optional ones (the restart window, the run
 * deadline, the question's timeout, the nudge) only for paths that take them, as the repository's
 * own runner does (test/model-based.session.test.ts).
 */
export const MODEL_RUN_POLICY = {
  maxRestarts: 1,
  startupTimeoutMs: 300_000,
  inputQuietMs: 60_000,
  stallMs: 120_000,
  stallTimeoutMs: 240_000,
  stallNudgeKeys: ["Enter"], // the ladder: stalled → nudge (Enter) → give up
  inputWaitDefaultKeys: ["y", "Enter"],
  backoffInitialMs: 40_000,
  backoffMaxMs: 40_000,
  failureBackoffInitialMs: 40_000,
  graceMs: 1_000, // real: the pty actor's SIGTERM → SIGKILL grace
  leaseWaitMs: 70_000,
} as const;

/** Delayed events the chart raises to itself and that outlive the state that raised them. */
export const LONG_TIMERS = ["LEASE.RENEW_DUE", "RESTART.WINDOW_EXPIRED", "RUN.DEADLINE"] as const;
type LongTimer = (typeof LONG_TIMERS)[number];
const isLong = (type: string): type is LongTimer => (LONG_TIMERS as readonly string[]).includes(type);
/** Steps that only the clock makes happen. */
export const isTimerStep = (type: string) => type.startsWith("xstate.after.") || isLong(type);
/** The delay (named in the chart's `delays`) that arms each long timer. */
const DELAY_OF: Record<LongTimer, "leaseRenew" | "restartWindow" | "maxRun"> = {
  "LEASE.RENEW_DUE": "leaseRenew",
  "RESTART.WINDOW_EXPIRED": "restartWindow",
  "RUN.DEADLINE": "maxRun",
};

/** When the earliest pending timer of the clock falls due (undefined: none before "never"). */
export function nextDue(clock: SimulatedClock): number | undefined {
  // SimulatedClock keeps its timers in `timeouts` (no public accessor): reading it lets time jump
  // straight to the next timer instead of crawling in ticks.
  const timers = (clock as unknown as { timeouts: Map<number, { start: number; timeout: number }> }).timeouts;
  let due: number | undefined;
  for (const t of timers.values()) {
    if (t.timeout >= NEVER_MS) continue;
    due = Math.min(due ?? Number.POSITIVE_INFINITY, t.start + t.timeout);
  }
  return due;
}

/**
 * Watches what reaches one actor (by id) so a timer step can stop the clock as soon as its event
 * has been delivered. Delivery is synchronous inside `clock.set`, so the loop never overshoots.
 */
export function arrivals(actorId: string) {
  let want: string | undefined;
  let arrived = false;
  return {
    inspect(e: InspectionEvent) {
      if (e.type === "@xstate.event" && (e.actorRef as AnyActorRef).id === actorId && e.event.type === want) {
        arrived = true;
      }
    },
    /** Moves the clock one due timer at a time until an event of `type` reaches the actor. */
    fire(clock: SimulatedClock, type: string, label: string) {
      want = type;
      arrived = false;
      while (!arrived) {
        const due = nextDue(clock);
        if (due === undefined) throw new Error(`${label}: no pending timer delivers ${type}`);
        clock.set(Math.max(clock.now(), due));
      }
      want = undefined;
    },
  };
}

/** Step `i` of a path (in range: the callers loop over its steps). */
const stepAt = (path: SessionModelPath, i: number) => path.steps[i] as SessionModelPath["steps"][number];

/**
 * A timer of a question gone from the screen (`gone`'s settle, `settled`'s quiet), armed at `step`:
 * "never" when the path leaves that state by the question's own timeout instead (armed when it was
 * asked, it falls due first there).
 */
function questionFade(path: SessionModelPath, step: number, state: "gone" | "settled", ms: number): number {
  for (let k = step + 1; k < path.steps.length; k++) {
    if (!stepAt(path, k - 1).state.matches({ input_wait: state })) break;
    if (stepAt(path, k).event.type.startsWith("xstate.after.inputWaitTimeout.")) return NEVER_MS;
  }
  return ms;
}

export interface TimerPlan {
  /**
   * Delays to `provide` to the session machine: each long timer falls due at its planned step, and
   * a question's settle gives way to its timeout where the path wants that.
   */
  delays: Record<(typeof DELAY_OF)[LongTimer], (args: { context: { generation: number } }) => number> & {
    questionGoneSettle: () => number;
    questionGoneQuiet: () => number;
  };
  /** Tell the plan which step the runtime is on before triggering it (arming happens during it). */
  at(step: number): void;
  /** Simulated time of each step in the dry run (for the log). */
  times: readonly number[];
}

/** A long timer belongs to one run (renewal, deadline) or spans runs (the restart window). */
const generationOf = (path: SessionModelPath, k: number) => stepAt(path, k - 1).state.context.generation;

/**
 * Dry-runs `path` on the pure chart with `input` and a SimulatedClock: the time of every step and
 * the time each long-timer step must happen at. Throws if the chart does not follow the path (then
 * the policy does not order the timers as the model assumes).
 */
export function planTimers(path: SessionModelPath, input: SessionInput): TimerPlan {
  const clock = new SimulatedClock();
  const nobody = fromCallback(() => undefined);
  let current = 0;
  const fade = {
    questionGoneSettle: () => questionFade(path, current, "gone", QUESTION_GONE_SETTLE_MS),
    questionGoneQuiet: () => questionFade(path, current, "settled", QUESTION_GONE_QUIET_MS),
  };
  const dry = sessionMachine.provide({
    actors: { ptyProcess: nobody as never, credentialHome: nobody as never },
    delays: { leaseRenew: NEVER_MS, restartWindow: NEVER_MS, maxRun: NEVER_MS, ...fade },
  });
  const harness = setup({ actors: { session: dry, broker: nobody } }).createMachine({
    invoke: [
      { src: "broker", systemId: "broker" },
      { id: input.id, src: "session", input },
    ],
  });
  const watch = arrivals(input.id);
  const system = createActor(harness, { clock, inspect: watch.inspect }).start();
  const session = system.getSnapshot().children[input.id] as AnyActorRef;
  const times: number[] = [0];
  const dueAt = new Map<number, number>();
  try {
    for (let i = 1; i < path.steps.length; i++) {
      const step = stepAt(path, i).event;
      // The run an event names is this chart's: a state the model reached by another run (its
      // abstraction leaves the run number out) keeps that run's number, as the real runner knows.
      const generation = (session.getSnapshot().context as { generation: number }).generation;
      const e = "generation" in step ? { ...step, generation } : step;
      current = i;
      if (isLong(e.type)) {
        dueAt.set(i, clock.now() + 1);
        clock.set(clock.now() + 1);
        session.send(e);
      } else if (isTimerStep(e.type)) watch.fire(clock, e.type, `plan step ${i}`);
      else session.send(e);
      times.push(clock.now());
      const now = JSON.stringify(session.getSnapshot().value);
      if (now !== JSON.stringify(stepAt(path, i).state.value))
        throw new Error(
          `plan: at step ${i} (${e.type}) the chart is in ${now}, the path in ${JSON.stringify(stepAt(path, i).state.value)}`,
        );
    }
    const end = session.getSnapshot();
    if (JSON.stringify(end.value) !== JSON.stringify(path.state.value))
      throw new Error(
        `plan: the chart ends in ${JSON.stringify(end.value)}, the path in ${JSON.stringify(path.state.value)}`,
      );
  } finally {
    system.stop();
  }
  current = 0;
  const claimed = new Set<number>();
  /** The next unclaimed step of this timer after the current one (of the same run, if it has one). */
  const delayFor = (type: LongTimer, generation: number) => {
    for (let k = current + 1; k < path.steps.length; k++) {
      if (claimed.has(k) || stepAt(path, k).event.type !== type) continue;
      if (type !== "RESTART.WINDOW_EXPIRED" && generationOf(path, k) !== generation) continue;
      claimed.add(k);
      return (dueAt.get(k) ?? 0) - (times[current] ?? 0);
    }
    return NEVER_MS;
  };
  const delays = Object.fromEntries(
    LONG_TIMERS.map((type) => [
      DELAY_OF[type],
      ({ context }: { context: { generation: number } }) => delayFor(type, context.generation),
    ]),
  ) as Omit<TimerPlan["delays"], keyof typeof fade>;
  return {
    delays: { ...delays, ...fade },
    at: (step) => {
      current = step;
    },
    times,
  };
}
