/**
 * A listener of the conductor's events (or an `onCompleted`/`onProbe` callback) that throws is caught:
 * a chart must not break mid-step, and the other sessions go on. Caught must not mean unseen: each
 * throw is a `conductor.listener_error` line with where it threw, and the first of each listener is a
 * process warning on stderr too (an embedder's bug otherwise lived only in the JSONL, a field review).
 */
import type { LogFn } from "./event-log-format.js";

/** The line's fields: the listener, the error's message and its first stack frame (`where`). */
export function listenerErrorFields(listener: string, err: unknown, session?: string): Record<string, unknown> {
  const error = String((err as Error)?.message ?? err);
  const where = (err as Error)?.stack
    ?.split("\n")
    .find((l) => /^\s+at /.test(l))
    ?.trim()
    .replace(/^at /, "");
  return { listener, ...(session === undefined ? {} : { session }), error, ...(where ? { where } : {}) };
}

/**
 * `log`, with a listener's error also warned about: the first of each listener, and every one once the
 * log is closed (a `shutdown` listener's, which no line can hold any more).
 */
export function warnListenerErrors(log: LogFn, logClosed: () => boolean): LogFn {
  const warned = new Set<string>();
  return (event, data) => {
    if (event !== "conductor.listener_error") return log(event, data);
    const listener = String(data?.listener);
    const closed = logClosed();
    if (closed || !warned.has(listener)) {
      warned.add(listener);
      const where = data?.where ? ` (at ${String(data.where)})` : "";
      const rest = closed ? "" : "; caught, the sessions go on; each throw is a conductor.listener_error line";
      process.emitWarning(
        `a "${listener}" listener threw: ${String(data?.error)}${where}${rest}`,
        "ConductorListenerError",
      );
    }
    if (!closed) log(event, data);
  };
}
