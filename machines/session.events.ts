/**
 * The session statechart's events: those it takes (its users', its child's, its probes', the broker's)
 * and those it emits (the facade and the event log listen to these), and what a final session outputs.
 */
import type { InputWaitInfo } from "./session.judgement.js";
import type { LeaseEvent, SessionLease } from "./session.lease.js";
import type {
  AgentRetryEvent,
  ChildEvent,
  FailureMode,
  HostStatusEvent,
  McpProbeEvent,
  SessionState,
  TelemetryErrorEvent,
} from "./session.types.js";

export type SessionEvent =
  | { type: "START" }
  | { type: "KILL"; reason?: string }
  /** End this run and start the next one now (restartSession): a restart, never `failed` or `dead`. */
  | { type: "RESTART"; reason?: string }
  | { type: "INPUT"; text: string }
  /**
   * Text typed as an answer, its Enter due (the profile's pause): a menu's Enter, sent only if the text
   * did not answer it; else the answer is given from here (session.input.ts).
   */
  | { type: "INPUT.SUBMIT"; generation: number; menu: boolean }
  /** Named keys (`Enter`, `Esc`, `Down`, `Ctrl-C`…, or single characters) written to the child as bytes. */
  | { type: "KEYS"; keys: readonly string[] }
  /** The run reached `maxRunMs` (raised with a delay when the run began). */
  | { type: "RUN.DEADLINE"; generation: number }
  | { type: "RESTART.WINDOW_EXPIRED" }
  | LeaseEvent
  | ChildEvent
  | McpProbeEvent
  | TelemetryErrorEvent
  | AgentRetryEvent
  | HostStatusEvent;

/** Events the session emits (`actor.on(type, fn)`): the facade and the event log listen to these. */
export type SessionEmitted =
  | { type: "stateChange"; sessionId: string; from: SessionState; to: SessionState; reason: string; restarts: number }
  | {
      type: "spawn";
      sessionId: string;
      generation: number;
      pid: number;
      argv: readonly string[];
      mode: "fresh" | "resume";
    }
  | {
      type: "exit";
      sessionId: string;
      generation: number;
      exitCode: number | null;
      signal: string | null;
      failureMode: FailureMode | null;
      lastError: string | null;
    }
  | { type: "gone"; sessionId: string; generation: number }
  | {
      type: "inputWait";
      sessionId: string;
      /**
       * The run that asks (1 for the first; a restart's is higher): a composer of a later run than
       * the one an input went to is no answer to it, its turn went with the run that ended.
       */
      generation: number;
      pattern: string;
      line: string;
      kind: InputWaitInfo["kind"];
      question: string;
      choices: string[];
    }
  | { type: "completed"; sessionId: string }
  | {
      type: "dead";
      sessionId: string;
      reason: string;
      failureMode: FailureMode | null;
      lastError: string | null;
      /** Inputs typed ahead of a run's child that never ran (session.input.ts): never written. */
      unsentInput?: number;
    }
  /** The stall ladder's middle step: keys written to a stalled child before it is restarted. */
  | { type: "nudge"; sessionId: string; generation: number; keys: readonly string[] }
  /** A question left unanswered for `inputWaitTimeoutMs` got the configured default keys. */
  | { type: "autoAnswer"; sessionId: string; generation: number; question: string; keys: readonly string[] }
  /** Waiting for the host after a run ended `host_unreachable`: its link's status, now and at each change. */
  | ({ type: "hostWait"; sessionId: string; maxWaitMs: number } & Omit<HostStatusEvent, "type">)
  /** The wait before the next run, and why (a rate limit's reset, a backoff). */
  | { type: "restartWait"; sessionId: string; delayMs: number; failureMode: FailureMode | null }
  | { type: "account"; sessionId: string; lease: SessionLease }
  | { type: "accountWait"; sessionId: string; etaMs: number | null; reason: string }
  /** The CLI announced it retries a failed call by itself (`PROBE.RETRY`); `lastError` says so too. */
  | ({ type: "agentRetry"; sessionId: string } & Omit<AgentRetryEvent, "type" | "outputBytes">)
  /** L2 changed its verdict (first round of a run, ok → fail, fail → ok, or another reason). */
  | { type: "mcpProbe"; sessionId: string; generation: number; ok: boolean; reason: string }
  /** An INPUT or KEYS event sent to the chart was malformed (`why`); nothing was written. */
  | { type: "inputRefused"; sessionId: string; input: "INPUT" | "KEYS"; why: string };

/** What a final session's actor outputs (`onDone`'s `event.output`, `snapshot.output`). */
export interface SessionOutput {
  id: string;
  state: SessionState;
  reason: string;
  restarts: number;
  failureMode: FailureMode | null;
  lastError: string | null;
  exit: { exitCode: number | null; signal: string | null } | null;
}

export type Ev<T extends SessionEvent["type"]> = Extract<SessionEvent, { type: T }>;
