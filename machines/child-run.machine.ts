/**
 * One run of a session's child, from spawn to a reaped tree, for a local pty and a remote tmux
 * pane alike: spawning → running → (exit seen | terminate → grace → forced) → draining the
 * output → reaping the tree → closed. The transport (`ptyTransport`, `tmuxPaneTransport`) is an
 * invoked actor that does the I/O and reports what it sees; this chart decides what it means.
 * Pure: time is only named delays, effects are commands to the transport, reports to the
 * session are emitted `ChildEvent`s (the runner forwards them).
 */
import { type ChildRunContext, childRunSetup, listening } from "./child-run.setup.js";
import { DEFAULT_TIMING } from "./child-run.types.js";

export type { ChildRunContext } from "./child-run.setup.js";
export { outputReport } from "./child-run.setup.js";

const reportOutput = { "RUN.OUTPUT": { guard: "listening", actions: "reportOutput" } } as const;
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
  "RUN.LINK_DOWN": { target: "hostDown", actions: "noteLinkDown" },
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
    upMs: null,
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
    "RUN.INPUT_UNSURE": { guard: "listening", actions: "reportInputUnsure" },
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
        "RUN.LINK_DOWN": { target: "hostDown", actions: "noteLinkDown" },
      },
    },
    /** The ack was lost (the shim waits only for us): kill the shim itself. */
    ackLost: {
      entry: "killRoot",
      on: {
        ...reportOutput,
        ...drainedEarly,
        "RUN.EXITED": { target: "draining" },
        "RUN.LINK_DOWN": { target: "hostDown", actions: "noteLinkDown" },
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
          on: { "RUN.OUTPUT": { target: "quiet", reenter: true, actions: "reportOutputIfListening" } },
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

type ConfigNode = { on?: Record<string, unknown>; states?: Record<string, ConfigNode> };
const handlesOutput = (n: ConfigNode): boolean =>
  n.on?.["RUN.OUTPUT"] !== undefined || Object.values(n.states ?? {}).some(handlesOutput);
/**
 * The top-level states whose one answer to RUN.OUTPUT is `reportOutput` (when listening): no
 * target, no context change, no other action, and no substate answering otherwise. Read off the
 * definition above, so a state that starts to treat output differently leaves this set by itself.
 */
export const OUTPUT_RELAY_STATES: ReadonlySet<string> = new Set(
  Object.entries((childRunMachine.config.states ?? {}) as Record<string, ConfigNode>)
    .filter(
      ([, n]) =>
        n.on?.["RUN.OUTPUT"] === reportOutput["RUN.OUTPUT"] && !Object.values(n.states ?? {}).some(handlesOutput),
    )
    .map(([name]) => name),
);

/**
 * A RUN.OUTPUT in this snapshot would only be reported to the session, as `outputReport` makes it:
 * the runner may relay it without a step of the chart (issue 13: that step, per output event, was a
 * third of what the supervisor's output path allocated). Pure: the snapshot decides. A state with
 * substates (terminating) takes the chart's step: it is short-lived, and naming its top state costs.
 */
export function relaysOutput(s: { status: string; value: unknown; context: ChildRunContext }): boolean {
  return (
    s.status === "active" && typeof s.value === "string" && OUTPUT_RELAY_STATES.has(s.value) && listening(s.context)
  );
}
