/**
 * The conductor: the parent system actor. It spawns one session actor per `SPAWN`
 * (`systemId: "session:<id>"`), knows when all of them are final, and owns shutdown:
 * stop accepting, stop every session in parallel, wait until every process tree is gone,
 * flush the log, final. Pure: waiting and flushing are named actors the runtime provides.
 */
import { type ActorRefFrom, assign, emit, enqueueActions, fromPromise, setup } from "xstate";
import { brokerMachine, type BrokerInput } from "./broker.machine.js";
import { sessionMachine, type SessionInput } from "./session.machine.js";

export interface ConductorInput {
  /** Bound on waiting for process trees at shutdown (the runtime adds its margin). */
  graceMs?: number;
  /** Accounts to lease: the conductor then runs the broker with `systemId: "broker"`. */
  broker?: BrokerInput;
}

type SessionRef = ActorRefFrom<typeof sessionMachine>;

export interface ConductorContext {
  sessions: Record<string, SessionRef>;
  finished: Record<string, true>;
  graceMs: number;
  shutdownReason: string | null;
  broker: BrokerInput | null;
}

export type ConductorEvent =
  /** `start: false` leaves the session in `init` until it gets `START` (so a listener can attach first). */
  | { type: "SPAWN"; session: SessionInput; start?: boolean }
  | { type: "KILL"; id: string; reason?: string }
  | { type: "INPUT"; id: string; text: string }
  | { type: "SHUTDOWN"; reason?: string }
  | { type: "xstate.done.actor.*"; output?: unknown };

export type ConductorEmitted =
  | { type: "allCompleted"; sessions: number }
  | { type: "spawnRejected"; id: string; why: "duplicate" | "shutting_down" }
  | { type: "shutdownStarted"; reason: string; live: number }
  | { type: "shutdown"; reason: string };

export const sessionSystemId = (id: string) => `session:${id}`;

export const conductorMachine = setup({
  types: {
    input: {} as ConductorInput,
    context: {} as ConductorContext,
    events: {} as ConductorEvent,
    emitted: {} as ConductorEmitted,
  },
  actors: {
    session: sessionMachine,
    broker: brokerMachine,
    /** Resolves when every process tree the sessions started is gone. Runtime: the reaper. */
    awaitProcessTrees: fromPromise<void, { graceMs: number }>(async () => undefined),
    /** Resolves when the event log's bytes are on disk. */
    flushLog: fromPromise<void, { reason: string }>(async () => undefined),
  },
  guards: {
    isNewId: ({ context, event }) => !((event as { session: SessionInput }).session.id in context.sessions),
    allFinal: ({ context }) => {
      const ids = Object.keys(context.sessions);
      return ids.length > 0 && ids.every((id) => context.finished[id]);
    },
  },
  actions: {
    spawnSession: enqueueActions(({ event, enqueue }) => {
      const e = event as Extract<ConductorEvent, { type: "SPAWN" }>;
      const id = e.session.id;
      enqueue.assign(({ context, spawn }) => {
        const ref = spawn("session", { id: sessionSystemId(id), systemId: sessionSystemId(id), input: e.session });
        const finished = { ...context.finished };
        delete finished[id];
        return { sessions: { ...context.sessions, [id]: ref as SessionRef }, finished };
      });
      if (e.start !== false) enqueue.sendTo(({ context }) => context.sessions[id]!, { type: "START" });
    }),
    rejectSpawn: emit(({ event }, params: { why: "duplicate" | "shutting_down" }) => ({
      type: "spawnRejected" as const,
      id: (event as Extract<ConductorEvent, { type: "SPAWN" }>).session.id,
      why: params.why,
    })),
    routeToSession: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<ConductorEvent, { type: "KILL" | "INPUT" }>;
      const ref = context.sessions[e.id];
      if (!ref) return;
      enqueue.sendTo(ref, e.type === "KILL" ? { type: "KILL", reason: e.reason } : { type: "INPUT", text: e.text });
    }),
    noteFinished: assign(({ context, event }) => {
      const output = (event as { output?: { id?: string } }).output;
      if (!output?.id) return {};
      return { finished: { ...context.finished, [output.id]: true as const } };
    }),
    emitAllCompleted: emit(({ context }) => ({
      type: "allCompleted" as const,
      sessions: Object.keys(context.sessions).length,
    })),
    killAll: enqueueActions(({ context, enqueue }) => {
      for (const [id, ref] of Object.entries(context.sessions)) {
        if (!context.finished[id]) enqueue.sendTo(ref, { type: "KILL", reason: context.shutdownReason ?? "shutdown" });
      }
    }),
    noteShutdown: enqueueActions(({ context, event, enqueue }) => {
      const reason = (event as Extract<ConductorEvent, { type: "SHUTDOWN" }>).reason ?? "shutdown";
      const live = Object.keys(context.sessions).filter((id) => !context.finished[id]).length;
      enqueue.assign({ shutdownReason: reason });
      enqueue.emit({ type: "shutdownStarted", reason, live });
    }),
    emitShutdown: emit(({ context }) => ({ type: "shutdown" as const, reason: context.shutdownReason ?? "shutdown" })),
  },
}).createMachine({
  id: "conductor",
  initial: "running",
  context: ({ input }) => ({
    sessions: {},
    finished: {},
    graceMs: input?.graceMs ?? 10_000,
    shutdownReason: null,
    broker: input?.broker ?? null,
  }),
  // Sessions find the broker by its systemId; spawned first so it exists before any session asks.
  entry: enqueueActions(({ context, enqueue }) => {
    if (context.broker) enqueue.spawnChild("broker", { id: "broker", systemId: "broker", input: context.broker });
  }),
  on: {
    KILL: { actions: "routeToSession" },
    INPUT: { actions: "routeToSession" },
    "xstate.done.actor.*": { actions: "noteFinished" },
  },
  states: {
    running: {
      on: {
        SPAWN: [
          { guard: "isNewId", actions: "spawnSession" },
          { actions: { type: "rejectSpawn", params: { why: "duplicate" } } },
        ],
        "xstate.done.actor.*": [{ actions: "noteFinished", target: "checkingCompletion" }],
        SHUTDOWN: { target: "shuttingDown", actions: "noteShutdown" },
      },
    },
    /** Transient: emits allCompleted once every session is final. */
    checkingCompletion: {
      always: [{ guard: "allFinal", target: "running", actions: "emitAllCompleted" }, { target: "running" }],
    },
    shuttingDown: {
      entry: "killAll",
      on: { SPAWN: { actions: { type: "rejectSpawn", params: { why: "shutting_down" } } } },
      invoke: {
        id: "awaitProcessTrees",
        src: "awaitProcessTrees",
        input: ({ context }) => ({ graceMs: context.graceMs }),
        onDone: "flushing",
        onError: "flushing",
      },
    },
    flushing: {
      on: { SPAWN: { actions: { type: "rejectSpawn", params: { why: "shutting_down" } } } },
      invoke: {
        id: "flushLog",
        src: "flushLog",
        input: ({ context }) => ({ reason: context.shutdownReason ?? "shutdown" }),
        onDone: "stopped",
        onError: "stopped",
      },
    },
    stopped: { type: "final", entry: "emitShutdown" },
  },
});

export type ConductorMachine = typeof conductorMachine;
