/**
 * The seed-compatible per-session view (`getSnapshot()`), derived from a session actor's
 * snapshot. Handles (actor refs, ptys) never appear here: plain data only.
 */
import type { SnapshotFrom } from "xstate";
import type { SessionPlacement } from "../machines/conductor.machine.js";
import type { PreviousRun } from "../machines/session.context.js";
import type { sessionMachine } from "../machines/session.machine.js";
import type { FailureMode, HostLinkStatus, SessionState } from "../machines/session.types.js";
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

/** A remote session's link to its host (the host's one SSH connection, shared by its sessions). */
export interface SessionLink {
  host: string;
  /**
   * `up`: connected. `connecting`: its first try. `reconnecting`: lost, retrying (for the first
   * `giveUpAfterMs`, 30 s). `down`: unreachable past that (still retried, at the backoff's cap), or
   * refused (host key, authentication: `error` says which).
   */
  status: "up" | "connecting" | "reconnecting" | "down";
  /** ISO time it last went up or down; null before the conductor first used the host. */
  since: string | null;
  /** The connection's last error while it is not up. */
  error: string | null;
}

/** What the host's link reports, as the remote runtime reads it (src/remote-runtime.ts). */
export interface HostLinkReading {
  status: HostLinkStatus;
  since: number;
  error: string | null;
}

export interface SessionSnapshot {
  id: string;
  agent: string;
  state: SessionState;
  /** The running agent's pid; null once its tree is gone or the session is final (a pid is reused). */
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
  /**
   * How the run before this one ended (`attempt` counts runs from 1): a session that crashes every
   * few minutes reads `healthy`, `lastError` null, between its crashes; this says why it restarted.
   * Null before a second run.
   */
  previousRun: PreviousRun | null;
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
  /** Remote sessions: the link to the host, now (a run reads `healthy` through an outage); null for local ones. */
  link: SessionLink | null;
  /**
   * The last input written to a remote run may not have arrived: its link reset under it unnoticed,
   * and it is not typed again (that could answer a prompt twice). `attempt`: the run it was written to;
   * `length` of the input, never its text. Null once later input is written (or never so).
   */
  inputUnsure: { at: string; attempt: number; length: number; error: string } | null;
}

const LINK_STATUS: Record<HostLinkStatus, SessionLink["status"]> = {
  connected: "up",
  connecting: "connecting",
  reconnecting: "reconnecting",
  unreachable: "down",
  rejected: "down",
};

function linkView(host: string, reading: HostLinkReading | undefined): SessionLink {
  if (!reading) return { host, status: "connecting", since: null, error: null };
  const status = LINK_STATUS[reading.status];
  return { host, status, since: new Date(reading.since).toISOString(), error: status === "up" ? null : reading.error };
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
  linkOf: (host: string) => HostLinkReading | undefined = () => undefined,
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
    // A final chart stops before its child's GONE could clear it; the number may name another process soon.
    pid: c.state === "dead" || c.state === "completed" ? null : c.pid,
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
    previousRun: c.previousRun,
    account: c.lease ? { accountId: c.lease.accountId, provider: c.lease.provider, tier: c.lease.tier } : null,
    accountWait: c.leaseStatus === "requested" && c.leaseWait ? { ...c.leaseWait, etaAt: due.accountEtaAt } : null,
    result,
    nextRunAt: c.state === "restarting" ? due.nextRunAt : null,
    link: placement?.remote ? linkView(placement.remote.host, linkOf(placement.remote.host)) : null,
    inputUnsure: c.inputUnsure && {
      at: new Date(c.inputUnsure.at).toISOString(),
      attempt: c.inputUnsure.generation,
      length: c.inputUnsure.length,
      error: c.inputUnsure.error,
    },
  };
}
