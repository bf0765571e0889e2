/**
 * The probe verdicts the seed's probes reported one by one (`probeOpts.onProbe`, API event `probe`),
 * read off the session statechart's own moves: here probes are events, so a verdict is the move.
 */
import type { SessionEmitted } from "../machines/session.machine.js";
import type { ApiEvents } from "./conductor-events.js";
import { now } from "./conductor-events.js";
import type { LogFn } from "./event-log-format.js";
import type { ProbeVerdict } from "./schema/policy.js";

export type { ProbeVerdict };

/**
 * The verdict a session event stands for, if any: l0 process alive (spawn ok, exit fail), l1 output
 * progress (stall, input wait, resumed), l3 start-up acknowledged (first output ok, start-up timeout
 * fail). l2 (MCP heartbeat) is not probed by this version: the snapshot reports it as "skip".
 */
export function probeVerdictOf(e: SessionEmitted, at: number): ProbeVerdict | null {
  const v = (level: ProbeVerdict["level"], ok: boolean, reason: string): ProbeVerdict => ({
    sessionId: e.sessionId,
    level,
    ok,
    reason,
    at,
  });
  switch (e.type) {
    case "spawn":
      return v("l0", true, "spawned");
    case "exit":
      return v("l0", false, `exit_code:${e.exitCode},signal:${e.signal}`);
    case "inputWait":
      return v("l1", false, `input_wait:${e.pattern}`);
    case "stateChange":
      if (e.to === "healthy" && e.from === "starting") return v("l3", true, e.reason);
      if (e.to === "healthy") return v("l1", true, e.reason);
      if (e.to === "stalled") return v("l1", false, e.reason);
      if (e.to === "failed" && e.reason === "L3_timeout") return v("l3", false, e.reason);
      if (e.to === "failed" && e.reason === "stall_timeout") return v("l1", false, e.reason);
      return null;
    default:
      return null;
  }
}

/**
 * Hands each verdict to the session's `onProbe` (else the conductor's) and to the API event `probe`.
 * `onProbe` gets the seed-style object (`at` in epoch ms); the API event carries `at` as every API event.
 */
export function probeReporter(onProbe: ((v: ProbeVerdict) => void) | undefined, api: ApiEvents, log: LogFn) {
  return (e: SessionEmitted): void => {
    const at = now();
    const verdict = probeVerdictOf(e, at.wallMs);
    if (!verdict) return;
    try {
      onProbe?.(verdict);
    } catch (err) {
      const error = String((err as Error)?.message ?? err);
      log("conductor.listener_error", { listener: "onProbe", session: e.sessionId, error });
    }
    api.emit("probe", { ...verdict, at });
  };
}
