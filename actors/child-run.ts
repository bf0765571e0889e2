/**
 * A child's run as the session sees it: the child-run statechart (machines/child-run.machine.ts)
 * with a transport plugged in, wrapped so the session invokes it as before: ChildCommands in,
 * generation-tagged ChildEvents out. The run outlives the session's actor: stopping it sends the
 * chart `STOP`, and the tree is still ended, drained and closed, in the background (`track`).
 */
import { type CallbackActorLogic, createActor, fromCallback, toPromise } from "xstate";
import { childRunMachine } from "../machines/child-run.machine.js";
import type {
  ChildExit,
  ChildRunInput,
  ChildRunTiming,
  SignalRequest,
  TransportCommand,
  TransportEvent,
} from "../machines/child-run.types.js";
import type { ChildCommand, ChildEvent, PtyProcessInput, ScreenReading } from "../machines/session.types.js";

/** The one interface of a transport: the effects the chart asks for. */
export interface ChildTransport {
  write(data: string): void;
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

/** A transport as the actor the chart invokes: commands become calls, finished steps become events. */
export function transportLogic(
  open: (input: ChildRunInput, report: TransportReport) => ChildTransport,
): TransportLogic {
  const callback: TransportCallback = ({ input, sendBack, receive }) => {
    // What the transport reports while it opens waits until it listens: the chart may answer
    // a spawn failure with CLOSE at once, and a callback actor drops what it cannot receive yet.
    let early: TransportEvent[] | null = [];
    const report: TransportReport = (e) => (early ? early.push(e) : sendBack(e));
    const t = open(input, report);
    const settle = <T>(work: Promise<T>, done: (v: T | undefined) => TransportEvent) =>
      void work.then(
        (v) => report(done(v)),
        () => report(done(undefined)),
      );
    receive((cmd) => {
      switch (cmd.type) {
        case "WRITE":
          return t.write(cmd.data);
        case "RESIZE":
          return t.resize(cmd.cols, cmd.rows);
        case "SIGNAL":
          return t.signal(cmd);
        case "ACK":
          return t.ack();
        case "RESYNC":
          return t.resync();
        case "CANCEL":
          return t.cancel();
        case "DRAIN":
          return settle(t.drain(cmd.exit), (r) => ({ type: "RUN.DRAINED", at: Date.now(), recentOutput: "", ...r }));
        case "REAP":
          return settle(t.reap(cmd.graceMs), () => ({ type: "RUN.REAPED" }));
        case "CLOSE":
          return settle(t.close(), () => ({ type: "RUN.CLOSED" }));
      }
    });
    const opened = early;
    early = null;
    for (const e of opened) sendBack(e);
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
    });
    run.on("*", (e) => sendBack(e));
    receive((cmd) => run.send(cmd));
    run.start();
    return () => {
      if (run.getSnapshot().status !== "active") return;
      run.send({ type: "STOP" });
      opts.track?.(toPromise(run).catch(() => undefined));
    };
  };
}
