/**
 * The contract between the child-run statechart and the transport it invokes (a local pty or a
 * remote tmux pane). Pure types: the machine never knows which transport runs the child.
 */
import type { ChildCommand, FailureMode, PtyProcessInput, ScreenReading, WriteCommand } from "./session.types.js";

/** How a run ended, as far as the transport can tell. */
export interface ChildExit {
  exitCode: number | null;
  signal: string | null;
  /** Set when the transport knows better than a status (`remote_completion_token`, `host_unreachable`). */
  reason?: string;
  failureMode?: FailureMode;
  /** What the transport saw when the output says nothing (a host's connection error). */
  detail?: string;
  /** `host_unreachable` mid-run: how long the run had its host, its spawn to the link's drop (ms). */
  upMs?: number;
}

/** Every duration of the run's lifecycle, read by the machine's named delays. */
export interface ChildRunTiming {
  /** Marker seen and acknowledged, but the child does not exit: kill it after this long. */
  ackTimeoutMs: number;
  /** Exit seen without the marker: the output has ended once it is quiet this long ... */
  drainQuietMs: number;
  /** ... or this long after the exit, whichever comes first. */
  drainLimitMs: number;
  /** The runner was stopped with the child still running: SIGTERM, this long, SIGKILL. */
  stopGraceMs: number;
  /** The link to a remote host is down: give the run up after this long. */
  hostDownMs: number;
  /** What is left of the tree after the exit gets SIGTERM, this long, SIGKILL (the transport's reap). */
  reapGraceMs: number;
}

export const DEFAULT_TIMING: ChildRunTiming = {
  ackTimeoutMs: 2_000,
  drainQuietMs: 100,
  drainLimitMs: 1_000,
  stopGraceMs: 2_000,
  hostDownMs: 60_000,
  reapGraceMs: 1_000,
};

export interface ChildRunInput {
  child: PtyProcessInput;
  timing?: Partial<ChildRunTiming>;
}

/** What the transport tells the machine. */
export type TransportEvent =
  | { type: "RUN.SPAWNED"; pid: number }
  | { type: "RUN.SPAWN_FAILED"; message: string }
  /** The spawn was cancelled before anything was created. */
  | { type: "RUN.CANCELLED" }
  /** Coalesced output activity, already logged and rendered. */
  | ({ type: "RUN.OUTPUT"; bytes: number; lagMs: number; screenTail: string[] } & ScreenReading)
  /**
   * The exit shim's marker: every byte before it has been read; the shim waits for the ack.
   * `drainNow`: the transport can drain and close the output before the shim exits (a local pty:
   * nothing after the marker is output), so the exit is reported without waiting for the ack's
   * round trip and the shim's exit.
   */
  | { type: "RUN.MARKER"; exit: ChildExit; drainNow?: boolean }
  /**
   * The run is over as far as the transport can see (process or pane dead, completion token,
   * pane gone, host unreachable). `settle`: output may still be in flight (node-pty can deliver
   * `exit` before the last `data`, microsoft/node-pty#72, #726), so wait for it to go quiet.
   */
  | { type: "RUN.EXITED"; exit: ChildExit; settle: boolean }
  /** The first SIGTERM of a terminate has been delivered: the grace counts from here. */
  | { type: "RUN.SIGNALLED" }
  /** `upMs`: since the run's spawn, by the transport's clock (the session counts a short run's outage). */
  | { type: "RUN.LINK_DOWN"; why: string; upMs?: number }
  /** Input written may not have arrived (a remote link reset under it); not written again. */
  | { type: "RUN.INPUT_UNSURE"; length: number; error: string; at: number }
  | { type: "RUN.LINK_UP" }
  /** The trailing output was reported and the output log is closed. */
  | ({ type: "RUN.DRAINED"; recentOutput: string; at: number } & ScreenReading)
  /** Nothing of the child's tree is left. */
  | { type: "RUN.REAPED" }
  /** Files, screen and listeners are closed. */
  | { type: "RUN.CLOSED" };

export interface SignalRequest {
  signal: "TERM" | "KILL";
  /** `tree`: every process of the child (its group, its session, its descendants); `root`: the first one only. */
  scope: "tree" | "root";
  reason: string;
  /** With the first SIGTERM: how long until SIGKILL (for the logs). */
  graceMs?: number;
}

/** What the machine asks of the transport. Each asynchronous step answers with one event (a tree SIGTERM: RUN.SIGNALLED). */
export type TransportCommand =
  | ({ type: "WRITE" } & WriteCommand)
  | { type: "RESIZE"; cols: number; rows: number }
  | ({ type: "SIGNAL" } & SignalRequest)
  /** Write the marker's nonce back: the shim may exit now. */
  | { type: "ACK" }
  /** After a reconnect: learn what happened while the link was down. */
  | { type: "RESYNC" }
  /** Terminated before it was spawned: create nothing more (answer RUN.CANCELLED, or RUN.SPAWNED if too late). */
  | { type: "CANCEL" }
  /** Report the trailing output, close the output log (answer RUN.DRAINED). */
  | { type: "DRAIN"; exit: ChildExit }
  /** End what is left of the tree (answer RUN.REAPED). */
  | { type: "REAP"; graceMs: number }
  /** Close files and listeners (answer RUN.CLOSED). */
  | { type: "CLOSE" };

/** Events the run machine takes: the session's commands, the runner being stopped, the transport's reports. */
export type ChildRunEvent = ChildCommand | { type: "STOP" } | TransportEvent;
