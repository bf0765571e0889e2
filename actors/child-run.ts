/**
 * A child's run as the session sees it: the child-run statechart (machines/child-run.machine.ts)
 * with a transport plugged in, wrapped so the session invokes it as before: ChildCommands in,
 * generation-tagged ChildEvents out. The run outlives the session's actor: stopping it sends the
 * chart `STOP`, and the tree is still ended, drained and closed, in the background (`track`).
 */
import { type AnyActorRef, type CallbackActorLogic, createActor, fromCallback, toPromise } from "xstate";
import { childRunMachine, outputReport, relaysOutput } from "../machines/child-run.machine.js";
import type {
  ChildExit,
  ChildRunInput,
  ChildRunTiming,
  SignalRequest,
  TransportCommand,
  TransportEvent,
} from "../machines/child-run.types.js";
import type { ChildCommand, ChildEvent, PtyProcessInput, ScreenReading } from "../machines/session.types.js";
import { PacedWrites } from "./paced-writes.js";
import { createWallClock } from "./wall-clock.js";

/** The one interface of a transport: the effects the chart asks for. */
export interface ChildTransport {
  /** `paste`: typed text, bracketed where the program asked for pastes so (bracketed-paste.ts). */
  write(data: string, paste?: boolean): void;
  resize(cols: number, rows: number): void;
  signal(req: SignalRequest): void;
  /** Write the marker's nonce back to the exit shim. */
  ack(): void;
  /** After a reconnect: report what happened meanwhile. */
  resync(): void;
  /** Create nothing more; report RUN.CANCELLED unless a spawn already went too far. */
  cancel(): void;
  /** Report the trailing output and close the output log. Never rejects. */
  drain(exit: ChildExit): Promise<{ recentOutput: string } & ScreenReading>;
  /** End whatever is left of the tree. Never rejects. */
  reap(graceMs: number): Promise<void>;
  close(): Promise<void>;
}

export type TransportReport = (e: TransportEvent) => void;
export type TransportLogic = CallbackActorLogic<TransportCommand, ChildRunInput>;

type TransportCallback = Parameters<typeof fromCallback<TransportCommand, ChildRunInput>>[0];
/** The callback behind each logic `transportLogic` made: one provided chart runs them all. */
const callbacks = new WeakMap<TransportLogic, TransportCallback>();

type OutputEvent = Extract<TransportEvent, { type: "RUN.OUTPUT" }>;
/**
 * Each run's relay of output past its chart, by the run's input (the chart hands the same object to
 * its transport): true when it relayed, false when the chart must take the event (relaysOutput).
 */
const relays = new WeakMap<PtyProcessInput, (e: OutputEvent) => boolean>();

/** A transport as the actor the chart invokes: commands become calls, finished steps become events. */
export function transportLogic(
  open: (input: ChildRunInput, report: TransportReport) => ChildTransport,
): TransportLogic {
  const callback: TransportCallback = ({ input, sendBack, receive }) => {
    // What the transport reports while it opens waits until it listens: the chart may answer
    // a spawn failure with CLOSE at once, and a callback actor drops what it cannot receive yet.
    let early: TransportEvent[] | null = [];
    const relay = relays.get(input.child);
    // Inside a command the chart is mid-step: what the transport reports then waits its turn in the
    // chart's mailbox, so it is judged by the state that step leaves (never relayed past it).
    let commanding = 0;
    const report: TransportReport = (e) => {
      if (early) early.push(e);
      else if (e.type !== "RUN.OUTPUT" || commanding > 0 || !relay?.(e)) sendBack(e);
    };
    const t = open(input, report);
    const paced = new PacedWrites((data, paste) => t.write(data, paste));
    const settle = <T>(work: Promise<T>, done: (v: T | undefined) => TransportEvent) =>
      void work.then(
        (v) => report(done(v)),
        () => report(done(undefined)),
      );
    receive((cmd) => {
      commanding++;
      try {
        command(cmd);
      } finally {
        commanding--;
      }
    });
    const command = (cmd: TransportCommand) => {
      switch (cmd.type) {
        case "WRITE":
          return paced.push(cmd);
        case "RESIZE":
          return t.resize(cmd.cols, cmd.rows);
        case "SIGNAL":
          return t.signal(cmd);
        case "ACK":
          return t.ack();
        case "RESYNC":
          return t.resync();
        case "CANCEL":
          paced.dispose();
          return t.cancel();
        case "DRAIN":
          paced.dispose(); // the child has exited: a pending Enter has nobody to reach
          return settle(t.drain(cmd.exit), (r) => ({ type: "RUN.DRAINED", at: Date.now(), recentOutput: "", ...r }));
        case "REAP":
          return settle(t.reap(cmd.graceMs), () => ({ type: "RUN.REAPED" }));
        case "CLOSE":
          paced.dispose();
          return settle(t.close(), () => ({ type: "RUN.CLOSED" }));
      }
    };
    const opened = early;
    early = null;
    for (const e of opened) sendBack(e);
    return () => paced.dispose();
  };
  const logic = fromCallback<TransportCommand, ChildRunInput>(callback);
  callbacks.set(logic, callback);
  return logic;
}

/** Which transport each starting run uses, by its input (the chart hands the same object on). */
const planned = new WeakMap<PtyProcessInput, TransportCallback>();

/**
 * The chart provided once for every transport made by `transportLogic`: `provide` builds the whole
 * machine again, 2–7 ms a run (under load), which every spawn and restart paid.
 */
const routedMachine = childRunMachine.provide({
  actors: {
    transport: fromCallback<TransportCommand, ChildRunInput>((args) => {
      const callback = planned.get(args.input.child);
      if (!callback) throw new Error(`child run ${args.input.child.sessionId}: no transport was planned for it`);
      planned.delete(args.input.child);
      return callback(args);
    }),
  },
});

let host: AnyActorRef | undefined;
/**
 * The parent of every run: its one XState system holds them all (issue 13: a root actor per run
 * made a whole system per session, alive as long as the run). What a run's end sends its parent
 * (done, error) is dropped here: the runner observes each run's error itself.
 */
function runsHost(): AnyActorRef {
  // Its system's clock times every run's delays: a remote run's hostDownTimeoutMs across a suspend.
  host ??= createActor(
    fromCallback(() => undefined),
    { clock: createWallClock() },
  ).start();
  return host;
}

/** XState's way with an error nobody observes (a root actor's): thrown on a clean stack. */
const rethrow = (err: unknown) =>
  setTimeout(() => {
    throw err;
  });

/** What a child runner gets: fromCallback's arguments, so runners can be routed. */
export interface ChildRunnerArgs<I extends PtyProcessInput = PtyProcessInput> {
  input: I;
  sendBack: (e: ChildEvent) => void;
  receive: (fn: (cmd: ChildCommand) => void) => void;
}
export type ChildRunner<I extends PtyProcessInput = PtyProcessInput> = (args: ChildRunnerArgs<I>) => () => void;

/** How one run is carried out: which transport, with which durations. */
export interface RunPlan {
  transport: TransportLogic;
  timing?: Partial<ChildRunTiming>;
}

export interface ChildRunnerOptions {
  /** Background work of a stopped run (tree, drain, files): shutdown waits for it. */
  track?: (work: Promise<unknown>) => void;
}

/** A runner that carries out each run with the plan `planFor` gives for its input. */
export function createChildRunner<I extends PtyProcessInput>(
  planFor: (input: I) => RunPlan,
  opts: ChildRunnerOptions = {},
): ChildRunner<I> {
  const provided = new WeakMap<TransportLogic, typeof childRunMachine>();
  const machineFor = (transport: TransportLogic) => {
    const known = provided.get(transport);
    if (known) return known;
    const m = childRunMachine.provide({ actors: { transport } });
    provided.set(transport, m);
    return m;
  };
  return ({ input, sendBack, receive }) => {
    const plan = planFor(input);
    const callback = callbacks.get(plan.transport);
    if (callback) planned.set(input, callback);
    const run = createActor(callback ? routedMachine : machineFor(plan.transport), {
      input: { child: input, ...(plan.timing ? { timing: plan.timing } : {}) },
      parent: runsHost(),
    });
    // The common output event skips the chart's step: what the step would emit, sent the same way.
    relays.set(input, (e) => {
      const s = run.getSnapshot();
      if (!relaysOutput(s)) return false;
      sendBack(outputReport(s.context, e));
      return true;
    });
    run.on("*", (e) => sendBack(e));
    // A run with a parent reports its error to it, not as unhandled: until it is stopped (then
    // `track` observes it), an error is thrown as it was when each run was a root actor.
    let stopped = false;
    run.subscribe({ error: (err) => stopped || rethrow(err) });
    receive((cmd) => run.send(cmd));
    run.start();
    return () => {
      if (run.getSnapshot().status !== "active") return;
      stopped = opts.track !== undefined; // else nobody observes it: thrown as before
      run.send({ type: "STOP" });
      opts.track?.(toPromise(run).catch(() => undefined));
    };
  };
}
