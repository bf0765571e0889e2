/**
 * The seed-compatible per-session view (`getSnapshot()`), derived from a session actor's
 * snapshot. Handles (actor refs, ptys) never appear here: plain data only.
 */
import type { SnapshotFrom } from "xstate";
import type { SessionPlacement } from "../machines/conductor.machine.js";
import type { sessionMachine } from "../machines/session.machine.js";
import type { FailureMode, SessionState } from "../machines/session.types.js";
import type { AgentResult } from "./agent-stream.js";

export interface SessionHealth {
  /** L0: the agent process is running (the seed's values: "ok" / "fail"). */
  l0: "ok" | "fail";
  /** L1 / L1.5: output progress as the machine judges it. */
  l1: "ok" | "stall" | "input_wait" | "n/a";
  /**
   * L2: MCP heartbeat, the seed's values: "ok" / "fail", "skip" when the session has no heartbeat
   * (no `mcpServers` or no `mcpHeartbeat`); "pending" until a run's first round.
   */
  l2: "skip" | "pending" | "ok" | "fail";
  /** L3: first output acknowledged. */
  l3: "pending" | "ok" | "timeout";
  outputBytes: number;
  inputWait: { pattern: string; line: string } | null;
}

export interface SessionSnapshot {
  id: string;
  agent: string;
  state: SessionState;
  pid: number | null;
  remote: boolean;
  host: string | null;
  restarts: number;
  health: SessionHealth;
  outPath: string | null;
  errPath: string | null;
  /** Epoch milliseconds, as the seed's snapshot. */
  createdAt: number;
  /** `createdAt` as an ISO-8601 string. */
  createdAtIso: string;
  reason: string;
  failureMode: FailureMode | null;
  /**
   * The CLI's own error line of the failed run ("Invalid API key · …"), or why it could not be
   * started (a spawn error's message), secrets redacted.
   */
  lastError: string | null;
  exit: { exitCode: number | null; signal: string | null } | null;
  /** The account this run leased (id and provider), or null. */
  account: { accountId: string; provider: string; tier: string } | null;
  /**
   * Waiting for an account: when one is expected to free up (`etaMs` as said when the wait began;
   * `etaAt` that time as ISO, which does not go stale), and why none is free now.
   */
  accountWait: { etaMs: number | null; etaAt: string | null; reason: string } | null;
  /** The last one-shot run's result, parsed from the agent's stream (`output: "stream"`), or null. */
  result: AgentResult | null;
  /** While `restarting` waits (a backoff, a rate limit's reset): when the next run is due, ISO; else null. */
  nextRunAt: string | null;
}

type Snap = SnapshotFrom<typeof sessionMachine>;

/** Why a session whose own actor threw is dead: its view, its `dead` event and log line. */
export const actorDeath = (err: unknown) => ({
  reason: "internal_error",
  failureMode: "internal_error" as const,
  lastError: `the session actor threw: ${err instanceof Error ? err.message : String(err)}`,
});

/** A session's view: its own snapshot, and where and since when it runs from the conductor's record. */
export function viewOf(
  snap: Snap,
  placement: SessionPlacement | undefined,
  result: AgentResult | null = null,
  due: { nextRunAt: string | null; accountEtaAt: string | null } = { nextRunAt: null, accountEtaAt: null },
): SessionSnapshot {
  // A session whose own actor threw is dead (its chart stopped where it was: conductor-events.ts).
  const c =
    snap.status === "error"
      ? { ...snap.context, ...actorDeath(snap.error), state: "dead" as const, childRunning: false }
      : snap.context;
  // The conductor's record keeps the ISO string; the seed's field is epoch milliseconds.
  const createdAtIso = placement?.createdAt ?? "";
  const l1: SessionHealth["l1"] =
    c.state === "stalled" ? "stall" : c.state === "input_wait" ? "input_wait" : c.state === "healthy" ? "ok" : "n/a";
  const l3: SessionHealth["l3"] =
    c.failureMode === "startup_timeout" ? "timeout" : c.state === "starting" || c.state === "init" ? "pending" : "ok";
  return {
    id: c.id,
    agent: c.agent,
    state: c.state,
    pid: c.pid,
    remote: Boolean(placement?.remote),
    host: placement?.remote?.host ?? null,
    restarts: c.restarts,
    health: {
      // A final session watches no process: a killed one's chart stopped before its child's exit came.
      l0: c.childRunning && c.state !== "dead" && c.state !== "completed" ? "ok" : "fail",
      l1,
      l2: c.l2.status,
      l3,
      outputBytes: c.outputBytes,
      inputWait: c.inputWait,
    },
    outPath: c.outPath ?? null,
    errPath: c.errPath ?? null,
    createdAt: createdAtIso ? Date.parse(createdAtIso) : 0,
    createdAtIso,
    reason: c.reason,
    failureMode: c.failureMode,
    lastError: c.lastError,
    exit: c.exit,
    account: c.lease ? { accountId: c.lease.accountId, provider: c.lease.provider, tier: c.lease.tier } : null,
    accountWait: c.leaseStatus === "requested" && c.leaseWait ? { ...c.leaseWait, etaAt: due.accountEtaAt } : null,
    result,
    nextRunAt: c.state === "restarting" ? due.nextRunAt : null,
  };
}
