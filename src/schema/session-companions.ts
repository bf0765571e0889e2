/**
 * Session options that act only beside another: alone they do nothing, while the caller who set
 * them believes they do (an embedder review). Refused for `spawnSession` and file sessions alike.
 * The conductor-wide ones (`createConductor`, a file's top level) stay free: they are defaults.
 */
import type { z } from "zod";
import { inlineJson } from "./issues.js";

/** The heartbeat's own tuning, our names and the seed's: each is read only when it runs. */
const HEARTBEAT_TUNING = ["mcpHeartbeatIntervalMs", "l2ThresholdMs", "mcpHeartbeatTimeoutMs", "probeTimeoutMs"];
const SERVERS = `"mcpServers": ${inlineJson({ files: { command: "npx", args: ["-y", "@acme/files-mcp"] } })}`;

interface Companions {
  agent?: string;
  account?: unknown;
  leaseWaitMs?: unknown;
  mcpServers?: Record<string, unknown>;
}

/** `probeKey` is how the input spells the session's probe options: `probeOpts` (API) or `probe` (file). */
export function companionChecks(s: Companions, probeKey: "probe" | "probeOpts", probe: unknown, ctx: z.RefinementCtx) {
  // `params.example` replaces the field's own example: what to add is the point here.
  const at = (path: string[], message: string, example: string) =>
    ctx.addIssue({ code: "custom", path, message, params: { example } });
  if (s.leaseWaitMs !== undefined && s.account === undefined)
    at(
      ["leaseWaitMs"],
      'bounds the wait for an account, and this session leases none: add "account", or remove leaseWaitMs',
      `"account": ${s.agent === "command" ? '"codex"' : "true"}, "leaseWaitMs": ${inlineJson(s.leaseWaitMs)}`,
    );
  if (Object.keys(s.mcpServers ?? {}).length > 0 || probe === null || typeof probe !== "object") return;
  const p = probe as Record<string, unknown>;
  // `false` asks for no heartbeat, which is what runs: only a `true` or a tuning promises one.
  const given = ["mcpHeartbeat", "enableL2"].filter((k) => p[k] === true);
  given.push(...HEARTBEAT_TUNING.filter((k) => p[k] !== undefined));
  for (const key of given)
    at(
      [probeKey, key],
      'is for the MCP heartbeat, which checks the session\'s "mcpServers", and this session has none: add "mcpServers" (codex, claude), or remove it',
      SERVERS,
    );
}
