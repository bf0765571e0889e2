/**
 * One run of a session's child, from spawn to a reaped tree, for a local pty and a remote tmux
 * pane alike: spawning → running → (exit seen | terminate → grace → forced) → draining the
 * output → reaping the tree → closed. The transport (`ptyTransport`, `tmuxPaneTransport`) is an
 * invoked actor that does the I/O and reports what it sees; this chart decides what it means.
 * Pure: time is only named delays, effects are commands to the transport, reports to the
 * session are emitted `ChildEvent`s (the runner forwards them).
 */
import { assign, enqueueActions, fromCallback, sendTo, setup } from "xstate";
import {
  type ChildExit,
  type ChildRunEvent,
  type ChildRunInput,
  type ChildRunTiming,
  DEFAULT_TIMING,
  type TransportCommand,
} from "./child-run.types.js";
import { parseRetryHint } from "./retry-hint.js";
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
}

type Ev<T extends ChildRunEvent["type"]> = Extract<ChildRunEvent, { type: T }>;

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
  },
  actions: {
    noteSpawned: assign({ pid: ({ event }) => (event as Ev<"RUN.SPAWNED">).pid }),
    noteExit: assign({ exit: ({ context, event }) => context.exit ?? (event as Ev<"RUN.EXITED">).exit }),
    /** The marker carries the agent's own status: it beats what the pty saw of the shim. */
    preferMarker: assign({ exit: ({ event }) => (event as Ev<"RUN.MARKER">).exit }),
    noteUnreachable: assign({
      exit: ({ context }) =>
        context.exit ?? { exitCode: null, signal: null, failureMode: "host_unreachable", reason: "host_unreachable" },
    }),
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
    write: sendTo("transport", ({ event }) => ({ type: "WRITE" as const, data: (event as Ev<"CHILD.WRITE">).data })),
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
    reportOutput: enqueueActions(({ context, event, enqueue }) => {
      const { type: _, ...output } = event as Ev<"RUN.OUTPUT">;
      // After the exit was reported (drained at the marker) the session hears no more output.
      if (!context.detached && context.drain !== "done")
        enqueue.emit({ type: "CHILD.OUTPUT", generation: context.generation, ...output });
    }),
    reportExit: enqueueActions(({ context, event, enqueue }) => {
      const { type: _, recentOutput, at, ...reading } = event as Ev<"RUN.DRAINED">;
      const exit = context.exit ?? { exitCode: null, signal: null };
      // Wall-clock hints ("resets at 14:00") need the time of the exit: the transport gives it.
      const retryAfterMs = exit.exitCode === 0 && !exit.signal ? null : parseRetryHint(recentOutput, at);
      if (context.detached) return;
      enqueue.emit({
        type: "CHILD.EXIT",
        generation: context.generation,
        ...exit,
        recentOutput,
        ...reading,
        at,
        ...(retryAfterMs !== null ? { retryAfterMs } : {}),
      });
    }),
    reportGone: enqueueActions(({ context, enqueue }) => {
      if (!context.detached) enqueue.emit({ type: "CHILD.GONE", generation: context.generation });
    }),
  },
});

const reportOutput = { "RUN.OUTPUT": { actions: "reportOutput" } } as const;
/** How a live state ends when the transport sees the end: settle first if output may still come. */
const onExited = {
  "RUN.EXITED": [
    { guard: "mustSettle", target: "settling", actions: "noteExit" },
    { target: "draining", actions: "noteExit" },
  ],
} as const;
/** What every state with a live child does alike. */
const whileLive = {
  ...reportOutput,
  ...onExited,
  "RUN.MARKER": [
    { guard: "drainNow", target: "acknowledging", actions: ["preferMarker", "drain"] },
    { target: "acknowledging", actions: "preferMarker" },
  ],
  "RUN.LINK_DOWN": { target: "hostDown" },
} as const;
/** After the marker, the drain may be over before the shim exits: then the exit is reported already. */
const drainedEarly = { "RUN.DRAINED": { actions: ["reportExit", "noteDrained"] } } as const;

export const childRunMachine = childRunSetup.createMachine({
  id: "childRun",
  initial: "spawning",
  context: ({ input }) => ({
    child: input.child,
    generation: input.child.generation,
    timing: { ...DEFAULT_TIMING, ...input.timing },
    pid: null,
    exit: null,
    terminate: null,
    spawnError: null,
    detached: false,
    drain: "none",
  }),
  // The transport lives as long as the run: it is stopped when the run is closed.
  invoke: {
    id: "transport",
    src: "transport",
    input: ({ context }) => ({ child: context.child, timing: context.timing }),
  },
  on: {
    "CHILD.WRITE": { actions: "write" },
    "CHILD.RESIZE": { actions: "resize" },
    STOP: { actions: "detach" },
  },
  states: {
    spawning: {
      on: {
        "RUN.SPAWNED": { target: "running", actions: ["noteSpawned", "reportSpawned"] },
        "RUN.SPAWN_FAILED": { target: "closing", actions: "noteSpawnError" },
        // A host that never answered: the run ends before anything was created.
        "RUN.EXITED": { target: "draining", actions: "noteExit" },
        "CHILD.TERMINATE": { target: "cancelling", actions: "noteTerminate" },
        STOP: { target: "cancelling", actions: "noteStop" },
      },
    },
    /** Terminated before it was spawned: whatever gets created meanwhile is ended at once. */
    cancelling: {
      entry: "cancel",
      on: {
        "RUN.SPAWNED": { target: "terminating", actions: "noteSpawned" },
        "RUN.CANCELLED": { target: "closing" },
        "RUN.SPAWN_FAILED": { target: "closing" },
        "RUN.EXITED": { target: "draining", actions: "noteExit" },
      },
    },
    running: {
      on: {
        ...whileLive,
        "CHILD.TERMINATE": { target: "terminating", actions: "noteTerminate" },
        STOP: { target: "terminating", actions: "noteStop" },
      },
    },
    /** SIGTERM to the tree; the grace, counted from its delivery, runs out into SIGKILL. */
    terminating: {
      entry: "signalTerm",
      initial: "signalling",
      on: whileLive,
      states: {
        signalling: { on: { "RUN.SIGNALLED": { target: "grace" } } },
        grace: { after: { grace: { target: "#childRun.forcing" } } },
      },
    },
    forcing: {
      entry: "signalKill",
      on: whileLive,
    },
    /** The marker proved the output complete; the ack lets the shim exit with the agent's status. */
    acknowledging: {
      entry: "ack",
      after: { ackTimeout: { target: "ackLost" } },
      on: {
        ...reportOutput,
        ...drainedEarly,
        "RUN.EXITED": { target: "draining" },
        "RUN.LINK_DOWN": { target: "hostDown" },
      },
    },
    /** The ack was lost (the shim waits only for us): kill the shim itself. */
    ackLost: {
      entry: "killRoot",
      on: {
        ...reportOutput,
        ...drainedEarly,
        "RUN.EXITED": { target: "draining" },
        "RUN.LINK_DOWN": { target: "hostDown" },
      },
    },
    /** Exit seen without the marker: take what output is still in flight until it is quiet. */
    settling: {
      initial: "quiet",
      after: { drainLimit: { target: "draining" } },
      on: { "RUN.MARKER": { target: "draining", actions: "preferMarker" } },
      states: {
        quiet: {
          after: { drainQuiet: { target: "#childRun.draining" } },
          on: { "RUN.OUTPUT": { target: "quiet", reenter: true, actions: "reportOutput" } },
        },
      },
    },
    /** The link to the remote host dropped: wait for it, give the run up after hostDownTimeout. */
    hostDown: {
      after: { hostDownTimeout: { target: "draining", actions: "noteUnreachable" } },
      on: {
        ...reportOutput,
        ...drainedEarly,
        "RUN.LINK_UP": [
          { guard: "exitKnown", target: "acknowledging", actions: "resync" },
          { guard: "terminateRequested", target: "terminating", actions: "resync" },
          { target: "running", actions: "resync" },
        ],
        "RUN.EXITED": { target: "draining", actions: "noteExit" },
        "CHILD.TERMINATE": { actions: "noteTerminate" },
        // Nobody waits for this run any more: clean up without the host (commands are deferred).
        STOP: { target: "draining", actions: ["noteStop", "noteUnreachable"] },
      },
    },
    /** The trailing OUTPUT, then the output log closed: EXIT means every byte is on disk. */
    draining: {
      entry: "drain",
      // Drained at the marker already (the exit is reported): on to the tree.
      always: { guard: "drained", target: "reaping" },
      on: { ...reportOutput, "RUN.DRAINED": { target: "reaping", actions: ["reportExit", "noteDrained"] } },
    },
    reaping: {
      entry: "reap",
      on: { "RUN.REAPED": { target: "closing" } },
    },
    closing: {
      entry: "close",
      on: {
        "RUN.CLOSED": [
          { guard: "spawnFailed", target: "closed", actions: "reportSpawnError" },
          { target: "closed", actions: "reportGone" },
        ],
      },
    },
    closed: { type: "final" },
  },
});
