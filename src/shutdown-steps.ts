/**
 * `shutdown()` is a sequence of independent steps (the broker, the remote hosts, the ledger entry,
 * the event log, the `shutdown` event, the control socket): each must run whatever an earlier one
 * threw. A field review made the logs directory read-only under a run: the ledger's unlink threw
 * EROFS, the event log was never closed, `shutdown` never fired, the control socket kept
 * `conductor run` alive forever and `shutdown()` rejected with a bare Node error.
 */
import type { LogFn } from "./event-log-format.js";
import { errorText } from "./event-log-line.js";

export type ShutdownStep = <T>(step: string, run: () => T | Promise<T>) => Promise<T | undefined>;

/**
 * A step's failure is a `conductor.shutdown_error` line (while the log is open) and a warning on
 * stderr: the log may sit on the very disk that failed. The step's result is `undefined` then.
 */
export function shutdownSteps(log: LogFn, logClosed: () => boolean): ShutdownStep {
  return async (step, run) => {
    try {
      return await run();
    } catch (err) {
      const error = errorText(err);
      if (!logClosed()) log("conductor.shutdown_error", { step, error });
      process.emitWarning(`shutdown step "${step}" failed: ${error}; the other steps ran`, "ConductorShutdownError");
      return undefined;
    }
  };
}
