/**
 * The child-run statechart's setup (machines/child-run.machine.ts): its context, the transport it
 * names (a stand-in until `provide`), its delays, guards and actions. Pure: effects are commands to
 * the transport, reports to the session are emitted `ChildEvent`s.
 */
import { assign, emit, enqueueActions, fromCallback, sendTo, setup } from "xstate";
import type { ChildExit, ChildRunEvent, ChildRunInput, ChildRunTiming, TransportCommand } from "./child-run.types.js";
import type { ChildEvent, PtyProcessInput } from "./session.types.js";

export interface ChildRunContext {
  child: PtyProcessInput;
  generation: number;
  timing: ChildRunTiming;
  pid: number | null;
  /** The first thing known about the end: the marker's status, else what the transport saw. */
  exit: ChildExit | null;
  /** Asked to end the run (by the session, or by the runner being stopped). */
  terminate: { graceMs: number; reason: string } | null;
  spawnError: string | null;
  /** The session stopped the runner: nobody listens any more, the run still ends properly. */
  detached: boolean;
  /** DRAIN asked of the transport (at most once a run), and answered: the exit was reported. */
  drain: "none" | "sent" | "done";
  /** The run's time with its host when the link last dropped (RUN.LINK_DOWN's `upMs`). */
  upMs: number | null;
}

type Ev<T extends ChildRunEvent["type"]> = Extract<ChildRunEvent, { type: T }>;

/** After the exit was reported (drained at the marker) or once detached, the session hears no more output. */
export const listening = (c: ChildRunContext) => !c.detached && c.drain !== "done";

/** The CHILD.OUTPUT the session hears for a RUN.OUTPUT: the chart's `reportOutput` and the runner's relay alike. */
export const outputReport = (
  c: ChildRunContext,
  e: Ev<"RUN.OUTPUT">,
): Extract<ChildEvent, { type: "CHILD.OUTPUT" }> => ({
  ...e,
  type: "CHILD.OUTPUT",
  generation: c.generation,
});

/** Stand-in transport: the machine used without `provide` runs nothing. */
const noTransport = fromCallback<TransportCommand, ChildRunInput>(() => undefined);

export const childRunSetup = setup({
  types: {
    context: {} as ChildRunContext,
    events: {} as ChildRunEvent,
    input: {} as ChildRunInput,
    emitted: {} as ChildEvent,
  },
  actors: { transport: noTransport },
  delays: {
    grace: ({ context }) => context.terminate?.graceMs ?? context.timing.stopGraceMs,
    ackTimeout: ({ context }) => context.timing.ackTimeoutMs,
    drainQuiet: ({ context }) => context.timing.drainQuietMs,
    drainLimit: ({ context }) => context.timing.drainLimitMs,
    hostDownTimeout: ({ context }) => context.timing.hostDownMs,
  },
  guards: {
    mustSettle: ({ event }) => (event as Ev<"RUN.EXITED">).settle,
    exitKnown: ({ context }) => context.exit !== null,
    terminateRequested: ({ context }) => context.terminate !== null,
    spawnFailed: ({ context }) => context.spawnError !== null,
    drainNow: ({ event }) => (event as Ev<"RUN.MARKER">).drainNow === true,
    drained: ({ context }) => context.drain === "done",
    listening: ({ context }) => listening(context),
  },
  actions: {
    noteSpawned: assign({ pid: ({ event }) => (event as Ev<"RUN.SPAWNED">).pid }),
    noteExit: assign({ exit: ({ context, event }) => context.exit ?? (event as Ev<"RUN.EXITED">).exit }),
    /** The marker carries the agent's own status: it beats what the pty saw of the shim. */
    preferMarker: assign({ exit: ({ event }) => (event as Ev<"RUN.MARKER">).exit }),
    noteUnreachable: assign({
      exit: ({ context }) =>
        context.exit ?? {
          ...{ exitCode: null, signal: null, failureMode: "host_unreachable", reason: "host_unreachable" },
          ...(context.upMs !== null ? { upMs: context.upMs } : {}),
        },
    }),
    noteLinkDown: assign({ upMs: ({ context, event }) => (event as Ev<"RUN.LINK_DOWN">).upMs ?? context.upMs }),
    noteTerminate: assign({
      terminate: ({ context, event }) => {
        const e = event as Ev<"CHILD.TERMINATE">;
        return context.terminate ?? { graceMs: e.graceMs, reason: e.reason };
      },
    }),
    noteStop: assign({
      detached: true,
      terminate: ({ context }) => context.terminate ?? { graceMs: context.timing.stopGraceMs, reason: "actor_stopped" },
    }),
    detach: assign({ detached: true }),
    // Commands to the transport.
    write: sendTo("transport", ({ event }) => {
      const { data, after, paste } = event as Ev<"CHILD.WRITE">;
      return { type: "WRITE" as const, data, ...(after ? { after } : {}), ...(paste ? { paste } : {}) };
    }),
    resize: sendTo("transport", ({ event }) => {
      const e = event as Ev<"CHILD.RESIZE">;
      return { type: "RESIZE" as const, cols: e.cols, rows: e.rows };
    }),
    signalTerm: sendTo("transport", ({ context }) => ({
      type: "SIGNAL" as const,
      signal: "TERM" as const,
      scope: "tree" as const,
      reason: context.terminate?.reason ?? "terminate",
      graceMs: context.terminate?.graceMs ?? context.timing.stopGraceMs,
    })),
    signalKill: sendTo("transport", { type: "SIGNAL", signal: "KILL", scope: "tree", reason: "grace_expired" }),
    killRoot: sendTo("transport", { type: "SIGNAL", signal: "KILL", scope: "root", reason: "ack_timeout" }),
    ack: sendTo("transport", { type: "ACK" }),
    resync: sendTo("transport", { type: "RESYNC" }),
    cancel: sendTo("transport", { type: "CANCEL" }),
    drain: enqueueActions(({ context, enqueue }) => {
      if (context.drain !== "none") return;
      enqueue.assign({ drain: "sent" });
      enqueue.sendTo("transport", { type: "DRAIN", exit: context.exit ?? { exitCode: null, signal: null } });
    }),
    noteDrained: assign({ drain: "done" }),
    reap: sendTo("transport", ({ context }) => ({ type: "REAP" as const, graceMs: context.timing.reapGraceMs })),
    close: sendTo("transport", { type: "CLOSE" }),
    // Reports to the session (dropped once it stopped listening).
    reportSpawned: enqueueActions(({ context, event, enqueue }) => {
      if (!context.detached)
        enqueue.emit({ type: "CHILD.SPAWNED", generation: context.generation, pid: (event as Ev<"RUN.SPAWNED">).pid });
    }),
    noteSpawnError: assign({ spawnError: ({ event }) => (event as Ev<"RUN.SPAWN_FAILED">).message }),
    /** Once the files are closed: SPAWN_ERROR means the reason is in the diagnostics log. */
    reportSpawnError: enqueueActions(({ context, enqueue }) => {
      const message = context.spawnError ?? "spawn failed";
      if (!context.detached) enqueue.emit({ type: "CHILD.SPAWN_ERROR", generation: context.generation, message });
    }),
    /**
     * One object per output, no enqueueActions (issue 13: its closures were ~1 KB an event): the
     * transitions ask `listening` first, the one that must run whatever it says asks here.
     */
    reportOutput: emit(({ context, event }) => outputReport(context, event as Ev<"RUN.OUTPUT">)),
    reportOutputIfListening: enqueueActions(({ context, event, enqueue }) => {
      if (listening(context)) enqueue.emit(outputReport(context, event as Ev<"RUN.OUTPUT">));
    }),
    reportExit: enqueueActions(({ context, event, enqueue }) => {
      const { type: _, recentOutput, at, ...reading } = event as Ev<"RUN.DRAINED">;
      const exit = context.exit ?? { exitCode: null, signal: null };
      if (context.detached) return;
      // Its time: wall-clock hints ("resets at 14:00") are read by the session, in the session's zone.
      enqueue.emit({ type: "CHILD.EXIT", generation: context.generation, ...exit, recentOutput, ...reading, at });
    }),
    reportInputUnsure: emit(({ context, event }) => {
      const { type: _type, ...unsure } = event as Ev<"RUN.INPUT_UNSURE">;
      return { type: "CHILD.INPUT_UNSURE" as const, generation: context.generation, ...unsure };
    }),
    reportGone: enqueueActions(({ context, enqueue }) => {
      if (!context.detached) enqueue.emit({ type: "CHILD.GONE", generation: context.generation });
    }),
  },
});
