/**
 * The probe verdicts the seed's probes reported one by one (`probeOpts.onProbe`, API event `probe`),
 * read off the session statechart's own moves: here probes are events, so a verdict is the move.
 */
import type { SessionEmitted } from "../machines/session.machine.js";
import type { McpHeartbeatSpec, McpHeartbeatTarget } from "../machines/session.types.js";
import type { ApiEvents } from "./conductor-events.js";
import { now } from "./conductor-events.js";
import type { ConductorOptions, SpawnConfig } from "./conductor-options.js";
import { ConductorError } from "./errors.js";
import type { LogFn } from "./event-log-format.js";
import { listenerErrorFields } from "./listener-errors.js";
import type { ProbeVerdict } from "./schema/policy.js";

export type { ProbeVerdict };

/**
 * The verdict a session event stands for, if any: l0 process alive (spawn ok, exit fail), l1 output
 * progress (stall, input wait, resumed), l2 MCP heartbeat (when its verdict changes), l3 start-up
 * acknowledged (first output ok, start-up timeout fail).
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
    case "mcpProbe":
      return v("l2", e.ok, e.reason);
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
      log("conductor.listener_error", listenerErrorFields("onProbe", err, e.sessionId));
    }
    api.emit("probe", { ...verdict, at });
  };
}

const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000;
const DEFAULT_HEARTBEAT_TIMEOUT_MS = 5_000;

/**
 * The L2 heartbeat a session runs, or null: asked for (`mcpHeartbeat` / the seed's `enableL2`, the
 * session's probeOpts over the conductor's) and `mcpServers` configured. A remote session's servers run
 * on its host, out of this process's sight: asking for L2 there is refused, not silently skipped.
 */
export function mcpHeartbeatFor(config: SpawnConfig, opts: ConductorOptions): McpHeartbeatSpec | null {
  const first = <T>(pick: (p: NonNullable<ConductorOptions["probeOpts"]>) => T | undefined): T | undefined =>
    [config.probeOpts, opts.probeOpts].map((p) => (p ? pick(p) : undefined)).find((v) => v !== undefined);
  const asked = first((p) => p.mcpHeartbeat ?? p.enableL2);
  const servers = Object.entries(config.mcpServers ?? {});
  if (asked !== true || servers.length === 0) return null;
  if (config.remote)
    throw new ConductorError(
      `session "${config.id}": probeOpts.enableL2 (mcpHeartbeat) on a remote session: its MCP servers run on ` +
        `host "${config.host}", where this version does not probe them; drop enableL2 (l2 is then "skip")`,
      { code: "OPTION_NOT_SUPPORTED", field: "probeOpts.enableL2" },
    );
  const targets: McpHeartbeatTarget[] = servers.map(([name, s]) =>
    "url" in s
      ? { name, kind: "http", url: s.url }
      : { name, kind: "stdio", command: s.command, args: [...(s.args ?? [])] },
  );
  return {
    servers: targets,
    intervalMs: first((p) => p.mcpHeartbeatIntervalMs ?? p.l2ThresholdMs) ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
    timeoutMs: first((p) => p.mcpHeartbeatTimeoutMs ?? p.probeTimeoutMs) ?? DEFAULT_HEARTBEAT_TIMEOUT_MS,
  };
}
