/**
 * The effects the conductor chart names, provided: the broker and remote runtimes (from the
 * accounts and hosts files), each session's child, the wait for process trees and the log flush.
 */
import { fromPromise } from "xstate";
import { createAgentTelemetryLogic } from "../actors/agent-telemetry.js";
import { createMcpHeartbeatLogic } from "../actors/mcp-heartbeat.js";
import type { ProcessReaper } from "../actors/process-reaper.js";
import type { PtyProcessDeps } from "../actors/pty-process.js";
import { conductorMachine, type SessionPlacement } from "../machines/conductor.machine.js";
import { sessionMachine } from "../machines/session.machine.js";
import { createBrokerRuntime } from "./broker-runtime.js";
import { type ChildRouting, sessionChildLogic } from "./conductor-child.js";
import type { ConductorOptions } from "./conductor-options.js";
import { boundedWait, type TreeLedger } from "./conductor-trees.js";
import type { EventLog } from "./event-log.js";
import type { LogFn } from "./event-log-format.js";
import { createRemoteRuntime } from "./remote-runtime.js";

/** Extra time beyond graceMs for SIGKILLed trees to vanish before a kill or shutdown stops waiting. */
export const SHUTDOWN_MARGIN_MS = 3_000;

export interface RuntimeDeps {
  logsDir: string;
  graceMs: number;
  log: LogFn;
  eventLog: EventLog;
  reaper: ProcessReaper;
  trees: TreeLedger;
  /** Every output byte of a local run, for the result capture. */
  tap: NonNullable<PtyProcessDeps["tap"]>;
  /** The env cookie every local child carries. */
  cookieScope: PtyProcessDeps["cookieScope"];
  /** Adjusts each local run's argv just before its spawn (src/run-argv.ts). */
  wrapLocal?: ChildRouting["wrapLocal"];
  /** The conductor's record of where a session runs (read when its child starts). */
  placementOf: (sessionId: string) => SessionPlacement | undefined;
  /** The accounts' shared state could not be read or written (logged as `broker.io_error` too). */
  onBrokerError?: (error: string) => void;
}

export function openRuntimes(opts: ConductorOptions, d: RuntimeDeps) {
  const { accounts, brokerStateFile: stateFile, credentialsDir, hosts, tmuxSocketName: socketName } = opts;
  try {
    const broker = accounts
      ? createBrokerRuntime({
          accounts,
          stateFile,
          credentialsDir,
          logsDir: d.logsDir,
          log: d.log,
          onIoError: d.onBrokerError,
        })
      : null;
    const remote = hosts
      ? createRemoteRuntime({
          hosts,
          log: d.log,
          track: d.trees.track,
          placementOf: (id) => d.placementOf(id)?.remote ?? undefined,
          ...(socketName ? { socketName } : {}),
        })
      : null;
    return { broker, remote };
  } catch (err) {
    // A bad accounts or hosts file: say so in the log we opened, close it, and let the caller see why.
    d.log("conductor.config_error", { error: String((err as Error)?.message ?? err) });
    void d.eventLog.close();
    throw err;
  }
}
export type Runtimes = ReturnType<typeof openRuntimes>;

export function conductorLogic({ broker, remote }: Runtimes, d: RuntimeDeps) {
  const ptyProcess = sessionChildLogic({
    trees: d.trees,
    log: d.log,
    tap: d.tap,
    cookieScope: d.cookieScope,
    ...(d.wrapLocal ? { wrapLocal: d.wrapLocal } : {}),
    ...(broker ? { envFor: broker.envFor } : {}),
    remote: remote?.runner ?? null,
    isRemote: (id) => Boolean(d.placementOf(id)?.remote),
  });
  const credentials = broker ? { credentialHome: broker.credentialHome } : {};
  return conductorMachine.provide({
    actors: {
      session: sessionMachine.provide({
        actors: {
          ptyProcess,
          mcpHeartbeat: createMcpHeartbeatLogic(),
          agentTelemetry: createAgentTelemetryLogic({}, remote?.telemetry),
          ...(remote ? { hostWatch: remote.hostWatch } : {}),
          ...credentials,
        },
      }),
      awaitProcessTrees: fromPromise(async () => {
        // Children are stopped in the same step that started us: let their cleanups queue first.
        await new Promise((r) => setImmediate(r));
        await boundedWait(d.reaper.whenIdle(), d.graceMs + SHUTDOWN_MARGIN_MS);
      }),
      flushLog: fromPromise(() => d.eventLog.flush()),
    },
  });
}
