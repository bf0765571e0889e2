/**
 * The conductor: the parent system actor. It spawns one session actor per `SPAWN`
 * (`systemId: "session:<id>"`), knows when all of them are final, and owns shutdown:
 * stop accepting, stop every session in parallel, wait until every process tree is gone,
 * flush the log, final. Pure: waiting and flushing are named actors the runtime provides.
 * It is the one record of the sessions: the facade's `getSnapshot`, counts and placements read
 * its context (`sessions`, `finished`, `placement`), never a copy.
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

/** Where a session runs and since when: plain data from `SPAWN`, kept until `REMOVE`. */
export interface SessionPlacement {
  /** ISO-8601 time the session was created (the runtime's clock: machines have none). */
  createdAt: string;
  /** Remote sessions: the host alias and how the pane is found; null for a local pty. */
  remote: RemotePlacement | null;
}

export interface RemotePlacement {
  /** Host alias from the hosts file. */
  host: string;
  /** tmux session to create (default: the session id), or to attach to. */
  sessionName?: string;
  /** With `attach`: the pane to watch (`name:0.1`, `%12`); default the session's active pane. */
  paneTarget?: string;
  /** Watch an existing session instead of creating one; it is never killed. */
  attach?: boolean;
  completionToken?: string;
  hostDownTimeoutMs?: number;
}

export interface ConductorContext {
  sessions: Record<string, SessionRef>;
  finished: Record<string, true>;
  placement: Record<string, SessionPlacement>;
  graceMs: number;
  shutdownReason: string | null;
  broker: BrokerInput | null;
}

export type ConductorEvent =
  /** `start: false` leaves the session in `init` until it gets `START` (so a listener can attach first). */
  | { type: "SPAWN"; session: SessionInput; start?: boolean; createdAt?: string; remote?: RemotePlacement }
  | { type: "KILL"; id: string; reason?: string }
  /** Forget a final session: its actor is stopped and released, its id free again. */
  | { type: "REMOVE"; id: string }
  | { type: "INPUT"; id: string; text: string }
  | { type: "SHUTDOWN"; reason?: string }
  | { type: "xstate.done.actor.*"; output?: unknown };

export type ConductorEmitted =
  | { type: "allCompleted"; sessions: number }
  | { type: "spawnRejected"; id: string; why: "duplicate" | "shutting_down" }
  | { type: "sessionRemoved"; id: string }
  | { type: "removeRejected"; id: string; why: "unknown" | "live" }
  | { type: "shutdownStarted"; reason: string; live: number }
  | { type: "shutdown"; reason: string }
  /**
   * A child actor threw: a session (`id` its session id; it counts as final, the others run on) or
   * the broker (`id: "broker"`). Unhandled, XState fails the parent with it: every session stopped.
   */
  | { type: "actorError"; id: string; session: boolean; error: string };

const SESSION_PREFIX = "session:";
export const sessionSystemId = (id: string) => `${SESSION_PREFIX}${id}`;

/**
 * A record keyed by session id, without a prototype: an id such as "constructor" or "toString" is
 * not a key it has already (a field review: such ids were taken for live sessions, and REMOVE of
 * "__proto__" broke the conductor actor). Copied, never changed in place: snapshots stay as they were.
 */
function entries<V>(...parts: Readonly<Record<string, V>>[]): Record<string, V> {
  return Object.assign(Object.create(null) as Record<string, V>, ...parts);
}

function without<V>(record: Readonly<Record<string, V>>, id: string): Record<string, V> {
  const copy = entries(record);
  delete copy[id];
  return copy;
}

export const conductorMachine = setup({
  types: {
    // `| void`, not `| undefined` (which setup's types drop): createActor(conductorMachine) may leave input out.
    // biome-ignore lint/suspicious/noConfusingVoidType: the one spelling XState's ActorOptions take as optional input
    input: {} as ConductorInput | void,
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
    /** Only a final session: a live one would lose its process tree with its actor. */
    removable: ({ context, event }) =>
      Boolean(context.finished[(event as Extract<ConductorEvent, { type: "REMOVE" }>).id]),
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
        const placement = { createdAt: e.createdAt ?? "", remote: e.remote ?? null };
        // `finished` is left as it is: a new id is in no record (REMOVE took it out of all three).
        return {
          sessions: entries(context.sessions, { [id]: ref as SessionRef }),
          placement: entries(context.placement, { [id]: placement }),
        };
      });
      if (e.start !== false) enqueue.sendTo(({ context }) => context.sessions[id] as SessionRef, { type: "START" });
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
    removeSession: enqueueActions(({ context, event, enqueue }) => {
      const id = (event as Extract<ConductorEvent, { type: "REMOVE" }>).id;
      const ref = context.sessions[id];
      if (ref) enqueue.stopChild(ref);
      enqueue.assign({
        sessions: without(context.sessions, id),
        finished: without(context.finished, id),
        placement: without(context.placement, id),
      });
      enqueue.emit({ type: "sessionRemoved", id });
    }),
    rejectRemove: emit(({ context, event }) => {
      const id = (event as Extract<ConductorEvent, { type: "REMOVE" }>).id;
      return {
        type: "removeRejected" as const,
        id,
        why: id in context.sessions ? ("live" as const) : ("unknown" as const),
      };
    }),
    noteActorError: enqueueActions(({ context, event, enqueue }) => {
      const e = event as unknown as { type: string; error?: unknown };
      const actor = e.type.slice("xstate.error.actor.".length);
      const error = e.error instanceof Error ? e.error.message : String(e.error);
      const id = actor.startsWith(SESSION_PREFIX) ? actor.slice(SESSION_PREFIX.length) : null;
      const session = id !== null && context.sessions[id] !== undefined;
      if (session) enqueue.assign({ finished: entries(context.finished, { [id]: true as const }) });
      enqueue.emit({ type: "actorError", id: session ? id : actor, session, error });
    }),
    noteFinished: assign(({ context, event }) => {
      const output = (event as { output?: { id?: string } }).output;
      if (!output?.id) return {};
      return { finished: entries(context.finished, { [output.id]: true as const }) };
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
    sessions: entries(),
    finished: entries(),
    placement: entries(),
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
    REMOVE: [{ guard: "removable", actions: "removeSession" }, { actions: "rejectRemove" }],
    "xstate.done.actor.*": { actions: "noteFinished" },
    "xstate.error.actor.*": { actions: "noteActorError" },
  },
  states: {
    running: {
      on: {
        SPAWN: [
          { guard: "isNewId", actions: "spawnSession" },
          { actions: { type: "rejectSpawn", params: { why: "duplicate" } } },
        ],
        "xstate.done.actor.*": [{ actions: "noteFinished", target: "checkingCompletion" }],
        "xstate.error.actor.*": [{ actions: "noteActorError", target: "checkingCompletion" }],
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
