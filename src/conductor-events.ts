/**
 * The facade's API events (`on("stateChange")`, `completed`, `dead`, … with the seed's names) and
 * the log lines of a session, both made from what its statechart emits. Every API event carries
 * `at` (wall clock and the monotonic hrtime clock). Order: the events of one step arrive in the
 * order the chart took its moves (`stateChange` to `failed`, `stateChange` to `dead`, then `dead`),
 * and `completed`/`dead` always follow the `stateChange` that entered that state.
 */
import { EventEmitter } from "node:events";
import type { SessionEmitted } from "../machines/session.machine.js";
import type { SessionState } from "../machines/session.types.js";
import type { SpawnConfig } from "./conductor-options.js";
import { describeArgv, redactEnv } from "./event-log.js";
import type { LogFn } from "./event-log-format.js";
import type { LaunchSpec } from "./launcher.js";
import { listenerErrorFields } from "./listener-errors.js";
import type { ProbeVerdict } from "./schema/policy.js";
import type { SurvivorReport } from "./survivors.js";
import { ConductorError } from "./errors.js";
import { closest } from "./schema/issues.js";
import { actorDeath } from "./session-view.js";

/** When an event happened: `wallMs` is `Date.now()`; `monoMs` is `process.hrtime` in ms (never goes back). */
export interface EventTime {
  wallMs: number;
  monoMs: number;
}

export interface ConductorEventPayloads {
  stateChange: { sessionId: string; from: SessionState; to: SessionState; reason: string; at: EventTime };
  completed: { sessionId: string; at: EventTime };
  dead: Omit<Extract<SessionEmitted, { type: "dead" }>, "type"> & { at: EventTime };
  inputWait: Omit<Extract<SessionEmitted, { type: "inputWait" }>, "type"> & { at: EventTime };
  allCompleted: { sessions: number; at: EventTime };
  shutdown: { reason: string; at: EventTime };
  /**
   * The event log could not write (disk full): what failed; the log records the gap once it can
   * (EventLogError). With `session`: that session's output log (OutputLogError: `lostBytes`, `since`).
   */
  logError: Record<string, unknown> & { at: EventTime };
  account: { sessionId: string; accountId: string; provider: string; tier: string; at: EventTime };
  accountWait: { sessionId: string; etaMs: number | null; reason: string; at: EventTime };
  /** The CLI's stream announced it retries a failed call by itself (claude's `api_retry`, codex's "Reconnecting... 2/5"). */
  agentRetry: Omit<Extract<SessionEmitted, { type: "agentRetry" }>, "type" | "generation"> & { at: EventTime };
  /** One per probe verdict: what `probeOpts.onProbe` receives, with `at` as every API event. */
  probe: Omit<ProbeVerdict, "at"> & { at: EventTime };
  /**
   * The accounts' shared state file could not be read or written: cool-downs are not kept and claims
   * not shared with other conductors until it can be (`broker.io_error` in the log).
   */
  brokerError: { error: string; at: EventTime };
  /** Processes a dead conductor on the same logsDir left running, found at start and ended (src/survivors.ts). */
  survivors: SurvivorReport & { at: EventTime };
}
export type ConductorEventName = keyof ConductorEventPayloads;
export type Listener<K extends ConductorEventName> = (payload: ConductorEventPayloads[K]) => void;

/** `on`/`off`: typed listeners, and listeners typed loosely (the seed's style) accepted as they are. */
export interface ListenerMethod<Self> {
  <K extends ConductorEventName>(event: K, fn: Listener<K>): Self;
  (event: ConductorEventName, fn: (payload: never) => void): Self;
}

/** Every event the API emits, at run time (the type above is gone by then): `on` checks names against it. */
const EVENT_NAMES = Object.keys({
  stateChange: true,
  completed: true,
  dead: true,
  inputWait: true,
  allCompleted: true,
  shutdown: true,
  logError: true,
  account: true,
  accountWait: true,
  agentRetry: true,
  probe: true,
  brokerError: true,
  survivors: true,
} satisfies Record<ConductorEventName, true>);

/**
 * A listener of an event that never comes is a silent failure (a field review: `on("statechange")`
 * was taken and never called): an unknown name, or a listener that is no function, is refused.
 */
function checkListener(call: string, event: unknown, fn: unknown): void {
  if (typeof event !== "string" || !EVENT_NAMES.includes(event)) {
    const guess = typeof event === "string" ? closest(event, EVENT_NAMES) : undefined;
    throw new ConductorError(
      `${call}(${JSON.stringify(event) ?? String(event)}, …): no such event${guess ? `; did you mean "${guess}"?` : ""} (events: ${EVENT_NAMES.join(", ")})`,
      { code: "INVALID_OPTIONS", field: "event" },
    );
  }
  if (typeof fn !== "function")
    throw new ConductorError(`${call}("${event}", listener): the listener must be a function, got ${typeof fn}`, {
      code: "INVALID_OPTIONS",
      field: "listener",
    });
}

/** `on`/`off` for an API object: they return it, so calls chain as in the seed. */
export function listenerMethods<Self>(emitter: EventEmitter, self: () => Self) {
  type Loose = (payload: unknown) => void;
  const on: ListenerMethod<Self> = (event: ConductorEventName, fn: (payload: never) => void) => {
    checkListener("on", event, fn);
    emitter.on(event, fn as Loose);
    return self();
  };
  const off: ListenerMethod<Self> = (event: ConductorEventName, fn: (payload: never) => void) => {
    emitter.off(event, fn as Loose);
    return self();
  };
  return { on, off };
}

export const now = (): EventTime => ({ wallMs: Date.now(), monoMs: Number(process.hrtime.bigint()) / 1e6 });

const withoutType = <E extends { type: string }>({ type: _type, ...rest }: E) => rest;

export function createApiEvents(log: LogFn) {
  const emitter = new EventEmitter();
  return {
    emitter,
    /** A throwing listener must never break a statechart mid-step: caught and logged. */
    emit<K extends ConductorEventName>(name: K, payload: ConductorEventPayloads[K]): void {
      for (const listener of emitter.listeners(name)) {
        try {
          (listener as (p: unknown) => void)(payload);
        } catch (err) {
          log("conductor.listener_error", listenerErrorFields(name, err));
        }
      }
    },
  };
}
export type ApiEvents = ReturnType<typeof createApiEvents>;

export interface SessionHooks {
  /** What the launcher decided (approvals, output), logged with each spawn; absent for `command`. */
  preset: LaunchSpec["preset"];
  /** A run exited: every byte it wrote has been read (the result capture finishes it). */
  onExit: (generation: number) => void;
  /** The session reached a final state. */
  onFinal: () => void;
  /** The argv the latest run was really started with (a preset's, adjusted per run: run-argv.ts). */
  ranArgv?: () => readonly string[] | undefined;
}

/**
 * What a session whose own actor threw reports: a move to `dead` and its `dead`, as the chart would
 * have emitted them (the chart is stopped; its last context says where it was).
 */
export function actorErrorAsDeath(
  c: { id: string; state: SessionState; restarts: number },
  err: unknown,
): SessionEmitted[] {
  const death = actorDeath(err);
  return [
    { type: "stateChange", sessionId: c.id, from: c.state, to: "dead", reason: death.reason, restarts: c.restarts },
    { type: "dead", sessionId: c.id, ...death },
  ];
}

/** Logs one session's emitted events and turns them into API events. `config` stays in this closure only. */
export function sessionEventHandler(config: SpawnConfig, log: LogFn, api: ApiEvents, hooks: SessionHooks) {
  const { preset, onExit, onFinal, ranArgv } = hooks;
  const session = config.id;
  // The prompt is the user's text (it may hold secrets): the log keeps its length, not its words.
  const secrets = config.prompt ? [config.prompt] : [];
  return (e: SessionEmitted): void => {
    const at = now();
    switch (e.type) {
      case "stateChange":
        log("session.state_change", { session, from: e.from, to: e.to, reason: e.reason, restarts: e.restarts });
        api.emit("stateChange", { sessionId: session, from: e.from, to: e.to, reason: e.reason, at });
        if (e.to === "completed" || e.to === "dead") onFinal();
        return;
      case "spawn":
        log("session.spawn", {
          session,
          agent: config.agent,
          pid: e.pid,
          attempt: e.generation,
          argv: describeArgv(ranArgv?.() ?? e.argv, secrets),
          ...(config.prompt ? { promptLength: config.prompt.length } : {}),
          envKeys: redactEnv(config.env),
          ...(preset ? { approvals: preset.approvals, output: preset.output } : {}),
          mode: e.mode,
        });
        return;
      case "nudge":
        log("session.nudge", { session, attempt: e.generation, keys: e.keys });
        return;
      case "autoAnswer":
        log("session.auto_answer", { session, attempt: e.generation, keys: e.keys, question: e.question });
        return;
      case "restartWait":
        log("session.restart_wait", { session, delayMs: e.delayMs, failureMode: e.failureMode });
        return;
      case "hostWait":
        log("session.host_wait", {
          session,
          host: e.host,
          status: e.status,
          since: new Date(e.since).toISOString(),
          ...(e.error ? { error: e.error } : {}),
          maxWaitMs: e.maxWaitMs,
        });
        return;
      case "exit":
        onExit(e.generation);
        log("session.exit", {
          session,
          attempt: e.generation,
          code: e.exitCode,
          signal: e.signal,
          failureMode: e.failureMode,
          lastError: e.lastError,
        });
        return;
      case "gone":
        log("reaper.tree_gone", { session, attempt: e.generation });
        return;
      case "inputWait":
        log("session.input_wait", {
          session,
          attempt: e.generation,
          l1: "input_wait",
          pattern: e.pattern,
          kind: e.kind,
          question: e.question,
          ...(e.choices.length > 0 ? { choices: e.choices } : {}),
        });
        api.emit("inputWait", { ...withoutType(e), sessionId: session, at });
        return;
      case "completed":
        api.emit("completed", { sessionId: session, at });
        try {
          config.onCompleted?.({ sessionId: session });
        } catch (err) {
          log("conductor.listener_error", listenerErrorFields("onCompleted", err, session));
        }
        return;
      case "dead":
        log("session.dead", {
          session,
          reason: e.reason,
          failureMode: e.failureMode,
          lastError: e.lastError,
          ...(e.unsentInput ? { unsentInput: e.unsentInput } : {}),
        });
        api.emit("dead", { ...withoutType(e), sessionId: session, at });
        return;
      case "account": {
        const { accountId, provider, tier } = e.lease;
        log("session.account", { session, accountId, provider, tier });
        api.emit("account", { sessionId: session, accountId, provider, tier, at });
        return;
      }
      case "agentRetry": {
        const { generation, attempt, of, delayMs, status, error } = e;
        // `attempt` in the log is the run's number, as on every session line; the CLI's is `retry`.
        log("session.agent_retry", { session, attempt: generation, retry: attempt, of, delayMs, status, error });
        api.emit("agentRetry", { sessionId: session, attempt, of, delayMs, status, error, at });
        return;
      }
      case "mcpProbe":
        log("session.mcp_probe", { session, attempt: e.generation, l2: e.ok ? "ok" : "fail", reason: e.reason });
        return;
      case "inputRefused":
        log("session.input_refused", { session, input: e.input, why: e.why });
        return;
      case "accountWait":
        log("session.account_wait", { session, etaMs: e.etaMs, reason: e.reason });
        api.emit("accountWait", { sessionId: session, etaMs: e.etaMs, reason: e.reason, at });
        return;
    }
  };
}
