/**
 * The session statechart's setup: its types, the actors it names, its delays, guards and actions.
 * The chart itself (states and moves) is in session.machine.ts. Pure: effects are events to
 * actors that `machine.provide` replaces; time is only named delays.
 */
import { type AnyActorRef, assign, emit, enqueueActions, fromCallback, sendTo, setup } from "xstate";
import {
  cannotRecover,
  type InputWaitInfo,
  judgeRunExit,
  judgeTimedOutRun,
  liveFailure,
  openQuestion,
  restartDelay,
  screenOf,
  screenProgress,
  startupTimeoutFor,
  verdictJudgement,
} from "./session.judgement.js";
import { keysToBytes } from "./session.keys.js";
import {
  type AccountRequirement,
  type CredentialHomeInput,
  type LeaseEvent,
  leaseOf,
  releaseEvent,
  type SessionLease,
} from "./session.lease.js";
import { NEVER_MS, type PolicyOverrides, type SessionPolicy } from "./session.policy.js";
import type {
  ChildCommand,
  ChildEvent,
  ChildSpec,
  FailureMode,
  McpHeartbeatInput,
  McpHeartbeatSpec,
  McpProbeEvent,
  PtyProcessInput,
  SessionState,
} from "./session.types.js";

export interface SessionInput {
  id: string;
  /** A label for logs and snapshots (`codex`, `claude`, `command`, ...). */
  agent: string;
  spec: ChildSpec;
  outPath?: string;
  errPath?: string;
  policy?: PolicyOverrides;
  /** Each run needs an account leased from the broker (`systemId: "broker"`). */
  account?: AccountRequirement;
  /** L2: heartbeat the agent's MCP servers while each run lasts (actor `mcpHeartbeat`). */
  mcpHeartbeat?: McpHeartbeatSpec;
}

export interface SessionContext {
  id: string;
  agent: string;
  spec: ChildSpec;
  outPath: string | undefined;
  errPath: string | undefined;
  policy: SessionPolicy;
  /** The state name last announced: `from` of the next stateChange. */
  state: SessionState;
  /** Why the current (or pending) move happens. */
  reason: string;
  restarts: number;
  /** Restarts still inside the restart window. */
  recentRestarts: number;
  /** Run number of the current child; events of older children are ignored. */
  generation: number;
  pid: number | null;
  /** The agent process is running (SPAWNED .. EXIT). */
  childRunning: boolean;
  /** Some process of the child's tree may be alive (spawn .. GONE). */
  treeAlive: boolean;
  backoffElapsed: boolean;
  lastOutputLagMs: number;
  outputBytes: number;
  screenTail: string[];
  /** The whole rendered screen and the window title of the latest output (the tail when no screen). */
  screen: string[];
  title: string | null;
  /** Progress fingerprint of the screen: output that leaves it unchanged (a frozen spinner) is no progress. */
  screenKey: string;
  inputWait: InputWaitInfo | null;
  /** The CLI's own error line of the failed run (secrets redacted), for the snapshot and `dead`. */
  lastError: string | null;
  /** This stall was already nudged (the ladder: stalled → nudge → restart). */
  nudged: boolean;
  /** The question last answered with the default keys: the same one again is not answered twice. */
  autoAnswered: string | null;
  /** The pending restart was asked for (`RESTART`, restartSession): no backoff, not counted against maxRestarts. */
  userRestart: boolean;
  /** Whether the current run started `argv` (`fresh`) or `spec.resumeArgv` (`resume`). */
  runMode: "fresh" | "resume";
  exit: { exitCode: number | null; signal: string | null } | null;
  failureMode: FailureMode | null;
  killRequested: boolean;
  account: AccountRequirement | null;
  /** `requested`: asked the broker and waiting; `held`: this run's lease, released exactly once. */
  leaseStatus: "none" | "requested" | "held";
  lease: SessionLease | null;
  leaseWait: { etaMs: number | null; reason: string } | null;
  /** Reference to this run's credentials, resolved by the child actor (no secret in context). */
  envRef: string | null;
  /** Retry hint from the output of the run that failed, for the account's cool-down. */
  retryAfterMs: number | null;
  mcpHeartbeat: McpHeartbeatSpec | null;
  /** L2's last verdict: `skip` without a heartbeat, `pending` until a run's first round. */
  l2: { status: "skip" | "pending" | "ok" | "fail"; reason: string };
}

export type SessionEvent =
  | { type: "START" }
  | { type: "KILL"; reason?: string }
  /** End this run and start the next one now (restartSession): a restart, never `failed` or `dead`. */
  | { type: "RESTART"; reason?: string }
  | { type: "INPUT"; text: string }
  /** Named keys (`Enter`, `Esc`, `Down`, `Ctrl-C`…, or single characters) written to the child as bytes. */
  | { type: "KEYS"; keys: readonly string[] }
  /** The run reached `maxRunMs` (raised with a delay when the run began). */
  | { type: "RUN.DEADLINE"; generation: number }
  | { type: "RESTART.WINDOW_EXPIRED" }
  | LeaseEvent
  | ChildEvent
  | McpProbeEvent;

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
      pattern: string;
      line: string;
      kind: InputWaitInfo["kind"];
      question: string;
      choices: string[];
    }
  | { type: "completed"; sessionId: string }
  | { type: "dead"; sessionId: string; reason: string; failureMode: FailureMode | null; lastError: string | null }
  /** The stall ladder's middle step: keys written to a stalled child before it is restarted. */
  | { type: "nudge"; sessionId: string; generation: number; keys: readonly string[] }
  /** A question left unanswered for `inputWaitTimeoutMs` got the configured default keys. */
  | { type: "autoAnswer"; sessionId: string; generation: number; question: string; keys: readonly string[] }
  /** The wait before the next run, and why (a rate limit's reset, a backoff). */
  | { type: "restartWait"; sessionId: string; delayMs: number; failureMode: FailureMode | null }
  | { type: "account"; sessionId: string; lease: SessionLease }
  | { type: "accountWait"; sessionId: string; etaMs: number | null; reason: string }
  /** L2 changed its verdict (first round of a run, ok → fail, fail → ok, or another reason). */
  | { type: "mcpProbe"; sessionId: string; generation: number; ok: boolean; reason: string };

export type Ev<T extends SessionEvent["type"]> = Extract<SessionEvent, { type: T }>;

/** Stand-in for the real pty actor: a machine used without `provide` does nothing at all. */
const noChild = fromCallback<ChildCommand, PtyProcessInput>(() => undefined);
/** Stand-in credential home: no extra environment. The runtime provides the real one. */
const noCredentials = fromCallback<LeaseEvent, CredentialHomeInput>(({ sendBack }) => {
  sendBack({ type: "CREDENTIALS.READY" });
});

/** Stand-in heartbeat: no verdict ever (l2 stays pending). The runtime provides the real one. */
const noHeartbeat = fromCallback<McpProbeEvent, McpHeartbeatInput>(() => undefined);

const output = (event: SessionEvent) => event as Ev<"CHILD.OUTPUT">;
/** The wait in `restarting`: none when the user asked for the restart. */
const restartWaitMs = (c: SessionContext) => (c.userRestart ? 0 : restartDelay(c, c.recentRestarts));

export const sessionSetup = setup({
  types: {
    input: {} as SessionInput,
    context: {} as SessionContext,
    events: {} as SessionEvent,
    emitted: {} as SessionEmitted,
  },
  actors: { ptyProcess: noChild, credentialHome: noCredentials, mcpHeartbeat: noHeartbeat },
  delays: {
    /** L3: first output must come within this. */
    startupTimeout: ({ context }) => startupTimeoutFor(context),
    /** L1: measured from the last byte, not from the (coalesced) event that reported it. */
    stallAfter: ({ context }) => Math.max(0, context.policy.stallMs - context.lastOutputLagMs),
    /** L1.5: quiet period before the screen is read for a question. */
    inputQuiet: ({ context }) => Math.max(0, context.policy.inputQuietMs - context.lastOutputLagMs),
    /** Stalled this long → give up on this run. Never fires when the policy says null. */
    stalledGiveUp: ({ context }) => context.policy.stallTimeoutMs ?? NEVER_MS,
    /** The stall ladder's nudge, before the give-up. */
    stallNudge: ({ context }) => context.policy.stallNudgeMs ?? NEVER_MS,
    /** An unanswered question this long → default answer or failure. */
    inputWaitTimeout: ({ context }) => context.policy.inputWaitTimeoutMs ?? NEVER_MS,
    /** A run's whole budget, counted from its start. */
    maxRun: ({ context }) => context.policy.maxRunMs ?? NEVER_MS,
    /** Backoff, or a rate limit's reset (session.judgement.ts); none for a restart the user asked for. */
    restartBackoff: ({ context }) => restartWaitMs(context),
    restartWindow: ({ context }) => context.policy.windowMs ?? NEVER_MS,
    /** How long a run may wait for an account before the session gives up. */
    leaseWait: ({ context }) => context.policy.leaseWaitMs,
    /** Renew a held lease at half its TTL. */
    leaseRenew: ({ context }) => Math.max(1_000, Math.floor((context.lease?.ttlMs ?? 1_800_000) / 2)),
  },
  guards: {
    fromCurrentChild: ({ context, event }) => "generation" in event && event.generation === context.generation,
    exitedCleanly: ({ context, event }) =>
      (event as Ev<"CHILD.EXIT">).generation === context.generation &&
      (event as Ev<"CHILD.EXIT">).exitCode === 0 &&
      !(event as Ev<"CHILD.EXIT">).signal,
    screenAsksQuestion: ({ context }) => openQuestion(context, context.screen, context.title) !== null,
    questionGone: ({ context, event }) =>
      output(event).generation === context.generation &&
      openQuestion(context, screenOf(output(event)), output(event).title ?? null) === null,
    /**
     * The screen asks something else than the question being waited on (a dialog drawn over the
     * composer): the new one is judged once the screen settles again, not the one seen first.
     */
    questionChanged: ({ context, event }) => {
      if (output(event).generation !== context.generation) return false;
      const q = openQuestion(context, screenOf(output(event)), output(event).title ?? null);
      return q !== null && q.question !== context.inputWait?.question;
    },
    /** Bytes arrived but the screen shows nothing new (a redraw, a frozen spinner): no progress. */
    screenUnchanged: ({ context, event }) =>
      output(event).generation === context.generation &&
      screenProgress(context, screenOf(output(event)), output(event).title ?? null) === context.screenKey,
    nudgeDue: ({ context }) => context.policy.stallNudgeMs !== null && !context.nudged,
    mayAutoAnswer: ({ context }) =>
      context.policy.inputWaitDefaultKeys !== null && context.inputWait?.question !== context.autoAnswered,
    inputWaitTimeoutEnabled: ({ context }) => context.policy.inputWaitTimeoutMs !== null,
    killRequested: ({ context }) => context.killRequested,
    mayRestart: ({ context }) => context.recentRestarts < context.policy.maxRestarts,
    readyToRespawn: ({ context }) => !context.treeAlive && context.backoffElapsed,
    stallGiveUpEnabled: ({ context }) => context.policy.stallTimeoutMs !== null,
    childRunning: ({ context }) => context.childRunning,
    needsNoAccount: ({ context }) => context.account === null,
    /**
     * A restart cannot fix a missing account, broken credentials, or what the CLI called terminal
     * (auth, trust, config, context), nor a rate limit that resets beyond `rateLimitMaxWaitMs`.
     */
    unrecoverable: ({ context }) =>
      context.failureMode === "no_account" || context.failureMode === "credentials" || cannotRecover(context),
    /** The CLI shows a failure and keeps running (TUI auth error, quota text over a spinner). */
    failureOnScreen: ({ context, event }) =>
      output(event).generation === context.generation && liveFailure(context, output(event)) !== null,
    currentRun: ({ context, event }) => (event as Ev<"RUN.DEADLINE">).generation === context.generation,
  },
  actions: {
    /** Every state's entry: emit one stateChange per real move (self re-entry is not a move). */
    announce: enqueueActions(({ context, enqueue }, params: { to: SessionState }) => {
      if (context.state === params.to) return;
      enqueue.emit({
        type: "stateChange",
        sessionId: context.id,
        from: context.state,
        to: params.to,
        reason: context.reason,
        restarts: context.restarts,
      });
      enqueue.assign({ state: params.to });
    }),
    because: assign(({ context }, params: { reason: string; failureMode?: FailureMode }) => ({
      reason: params.reason,
      ...(params.failureMode ? { failureMode: params.failureMode } : {}),
      // A timed-out run whose screen says why is judged by what it says (session.judgement.ts).
      ...(params.failureMode ? judgeTimedOutRun(context, params.failureMode) : {}),
    })),
    /** A new run: new generation, so events of any earlier child fail the generation guards. */
    beginRun: assign(({ context }) => ({
      generation: context.generation + 1,
      pid: null,
      childRunning: false,
      exit: null,
      failureMode: null,
      inputWait: null,
      screenTail: [],
      screen: [],
      title: null,
      screenKey: "",
      lastError: null,
      nudged: false,
      autoAnswered: null,
      lastOutputLagMs: 0,
      retryAfterMs: null,
      userRestart: false,
    })),
    /** The run's budget: a delayed event this run's generation, ignored by any later run. */
    armRunDeadline: enqueueActions(({ context, enqueue }) => {
      if (context.policy.maxRunMs === null) return;
      enqueue.raise({ type: "RUN.DEADLINE", generation: context.generation }, { delay: "maxRun" });
    }),
    startChild: enqueueActions(({ context, enqueue }) => {
      // A restart resumes the previous run's conversation when the policy asks and the CLI can.
      const resume = context.generation > 1 && context.policy.restartMode === "resume" && !!context.spec.resumeArgv;
      const { resumeArgv, ...spec } = context.spec;
      const input: PtyProcessInput = {
        sessionId: context.id,
        generation: context.generation,
        spec: {
          ...spec,
          argv: resume && resumeArgv ? resumeArgv : spec.argv,
          ...(context.envRef ? { envRef: context.envRef } : {}),
          // The agent can tell a restart from a first run (e.g. to resume with --continue).
          env: { ...context.spec.env, CONDUCTOR_SESSION_ID: context.id, CONDUCTOR_ATTEMPT: String(context.generation) },
        },
        ...(context.outPath ? { outPath: context.outPath } : {}),
        ...(context.errPath ? { errPath: context.errPath } : {}),
      };
      enqueue.assign({ treeAlive: true, runMode: resume ? "resume" : "fresh" });
      enqueue.spawnChild("ptyProcess", { id: "pty", input });
    }),
    noteSpawned: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Ev<"CHILD.SPAWNED">;
      enqueue.assign({ pid: e.pid, childRunning: true });
      enqueue.emit({
        type: "spawn",
        sessionId: context.id,
        generation: e.generation,
        pid: e.pid,
        argv: context.runMode === "resume" && context.spec.resumeArgv ? context.spec.resumeArgv : context.spec.argv,
        mode: context.runMode,
      });
      // L2 watches this run from its spawn (it needs the agent's pid) to its exit.
      if (!context.mcpHeartbeat) return;
      const input: McpHeartbeatInput = {
        ...context.mcpHeartbeat,
        sessionId: context.id,
        generation: e.generation,
        pid: e.pid,
      };
      enqueue.stopChild("mcp");
      enqueue.assign({ l2: { status: "pending", reason: "" } });
      enqueue.spawnChild("mcpHeartbeat", { id: "mcp", input });
    }),
    noteMcpProbe: enqueueActions(({ context, event, enqueue }) => {
      const e = event as McpProbeEvent;
      const status = e.ok ? "ok" : "fail";
      if (context.l2.status === status && context.l2.reason === e.reason) return;
      enqueue.assign({ l2: { status, reason: e.reason } });
      enqueue.emit({ type: "mcpProbe", sessionId: context.id, generation: e.generation, ok: e.ok, reason: e.reason });
    }),
    noteOutput: assign(({ context, event }) => {
      const e = output(event);
      const screen = screenOf(e);
      const title = e.title === undefined ? context.title : e.title;
      return {
        outputBytes: e.bytes,
        lastOutputLagMs: e.lagMs,
        screenTail: e.screenTail,
        screen,
        title,
        screenKey: screenProgress(context, screen, title),
      };
    }),
    noteExit: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Ev<"CHILD.EXIT">;
      const clean = e.exitCode === 0 && !e.signal;
      const { failureMode, lastError, retryAfterMs } = judgeRunExit(context, e);
      enqueue.stopChild("mcp");
      enqueue.assign({
        childRunning: false,
        exit: { exitCode: e.exitCode, signal: e.signal },
        failureMode,
        lastError,
        retryAfterMs,
      });
      enqueue.emit({
        type: "exit",
        sessionId: context.id,
        generation: e.generation,
        exitCode: e.exitCode,
        signal: e.signal,
        failureMode,
        lastError,
      });
      enqueue.assign({
        reason: e.reason ?? (clean ? "exit_0" : `exit_code:${e.exitCode},signal:${e.signal}`),
      });
    }),
    noteSpawnError: assign(({ event }) => ({
      childRunning: false,
      treeAlive: false,
      failureMode: "spawn_error" as const,
      reason: `spawn_error:${(event as Ev<"CHILD.SPAWN_ERROR">).message}`,
    })),
    noteGone: enqueueActions(({ context, event, enqueue }) => {
      enqueue.assign({ treeAlive: false, childRunning: false, pid: null });
      enqueue.emit({ type: "gone", sessionId: context.id, generation: (event as Ev<"CHILD.GONE">).generation });
    }),
    /**
     * A restart asked for (restartSession): this run ends as a kill would end it, but the session goes
     * on. Counted in `restarts`, not in the crash budget (`recentRestarts`); no backoff.
     */
    noteRestartRequest: assign(({ context, event }) => ({
      reason: (event as Ev<"RESTART">).reason ?? "user_restart",
      restarts: context.restarts + 1,
      userRestart: true,
      backoffElapsed: true,
      failureMode: null,
    })),
    /** Asked again while a restart waits out its backoff (or a rate limit's reset): start as soon as the tree is gone. */
    skipBackoff: assign(({ event }) => ({
      reason: (event as Ev<"RESTART">).reason ?? "user_restart",
      userRestart: true,
      backoffElapsed: true,
    })),
    noteKill: assign(({ event }) => ({
      killRequested: true,
      reason: (event as Ev<"KILL">).reason ?? "user_kill",
      failureMode: "killed" as const,
    })),
    noteInputWait: assign(({ context }) => {
      const hit = openQuestion(context, context.screen, context.title);
      return hit ? { inputWait: hit, reason: `input_wait:${hit.pattern}` } : {};
    }),
    /** After the stateChange, so a listener that answers at once sees the session in input_wait. */
    emitInputWait: emit(({ context }) => ({
      type: "inputWait" as const,
      sessionId: context.id,
      pattern: context.inputWait?.pattern ?? "",
      line: context.inputWait?.line ?? "",
      kind: context.inputWait?.kind ?? "prompt",
      question: context.inputWait?.question ?? "",
      choices: context.inputWait?.choices ?? [],
    })),
    /** The unanswered question gets the policy's default keys, once. */
    autoAnswer: enqueueActions(({ context, enqueue }) => {
      const keys = context.policy.inputWaitDefaultKeys ?? [];
      // input_wait's exit already cleared `inputWait`: read the question from the screen again.
      const question = openQuestion(context, context.screen, context.title)?.question ?? "";
      enqueue.assign({ autoAnswered: question, reason: "input_wait_answered" });
      enqueue.sendTo("pty", { type: "CHILD.WRITE", data: keysToBytes(keys) });
      enqueue.emit({ type: "autoAnswer", sessionId: context.id, generation: context.generation, question, keys });
    }),
    /** The stall ladder's nudge: keys (Enter, Esc…) that wake some TUIs, logged as its own step. */
    nudge: enqueueActions(({ context, enqueue }) => {
      const keys = context.policy.stallNudgeKeys;
      enqueue.assign({ nudged: true });
      if (context.childRunning) enqueue.sendTo("pty", { type: "CHILD.WRITE", data: keysToBytes(keys) });
      enqueue.emit({ type: "nudge", sessionId: context.id, generation: context.generation, keys });
    }),
    resetNudge: assign({ nudged: false }),
    clearInputWait: assign({ inputWait: null }),
    /** Ask the pty actor to end the tree; it answers with EXIT (if running) and GONE. */
    terminateChild: enqueueActions(({ context, enqueue }) => {
      if (!context.treeAlive) return;
      enqueue.sendTo("pty", { type: "CHILD.TERMINATE", reason: context.reason, graceMs: context.policy.graceMs });
    }),
    /**
     * Enter is CR, as a keyboard sends it: TUIs in raw mode wait for \r, and a line-mode
     * terminal turns it into \n (ICRNL), so line readers see "text\n" as in the seed.
     */
    forwardInput: sendTo("pty", ({ event }) => ({
      type: "CHILD.WRITE" as const,
      data: `${(event as Ev<"INPUT">).text}\r`,
    })),
    forwardKeys: sendTo("pty", ({ event }) => ({
      type: "CHILD.WRITE" as const,
      data: keysToBytes((event as Ev<"KEYS">).keys),
    })),
    countRestart: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({
        restarts: context.restarts + 1,
        recentRestarts: context.recentRestarts + 1,
        backoffElapsed: false,
        reason: `restart_${context.restarts + 1}/${context.policy.maxRestarts}`,
      });
      if (context.policy.windowMs !== null) {
        enqueue.raise({ type: "RESTART.WINDOW_EXPIRED" }, { delay: "restartWindow" });
      }
    }),
    forgetRestart: assign(({ context }) => ({ recentRestarts: Math.max(0, context.recentRestarts - 1) })),
    announceRestartWait: emit(({ context }) => ({
      type: "restartWait" as const,
      sessionId: context.id,
      delayMs: restartWaitMs(context),
      failureMode: context.failureMode,
    })),
    markBackoffElapsed: assign({ backoffElapsed: true }),
    /** Stop the pty actor; if its tree is still dying, the reaper (owned by the actor's cleanup) finishes it. */
    releaseChild: enqueueActions(({ enqueue }) => {
      enqueue.stopChild("pty");
      enqueue.stopChild("creds");
      enqueue.stopChild("mcp");
      enqueue.assign({ treeAlive: false, childRunning: false, envRef: null });
    }),
    explainDeath: assign(({ context }) => ({
      reason: context.killRequested ? context.reason : `maxRestarts(${context.policy.maxRestarts})_exceeded`,
    })),
    /** Dead at once: say which failure a restart cannot fix (no_account/credentials keep their reason). */
    explainUnrecoverable: assign(({ context }) =>
      context.failureMode === "no_account" || context.failureMode === "credentials"
        ? {}
        : { reason: `not_restartable:${context.failureMode}` },
    ),
    requestLease: enqueueActions(({ context, enqueue, self, system }) => {
      if (!context.account) return;
      const broker = system.get("broker") as AnyActorRef | undefined;
      if (!broker) {
        enqueue.raise({
          type: "LEASE.UNAVAILABLE",
          etaMs: null,
          code: "no_broker",
          reason: "this session needs an account but the conductor has no accounts configured (pass `accounts`)",
        });
        return;
      }
      enqueue.assign({ leaseStatus: "requested", leaseWait: null });
      enqueue.sendTo(broker, {
        type: "LEASE.REQUEST",
        provider: context.account.provider,
        sessionId: context.id,
        wait: true,
        replyTo: self,
        ...(context.account.requireHost ? { requireHost: context.account.requireHost } : {}),
      });
    }),
    noteLease: enqueueActions(({ context, event, enqueue }) => {
      const lease = leaseOf((event as Ev<"LEASE.GRANTED">).lease);
      enqueue.assign({ lease, leaseStatus: "held", leaseWait: null });
      enqueue.emit({ type: "account", sessionId: context.id, lease });
      // A run can outlast the lease TTL; unrenewed, the broker would lease the account again.
      enqueue.raise({ type: "LEASE.RENEW_DUE", leaseId: lease.leaseId }, { delay: "leaseRenew" });
    }),
    renewLease: enqueueActions(({ context, event, enqueue, system }) => {
      const due = event as Ev<"LEASE.RENEW_DUE">;
      const broker = system.get("broker") as AnyActorRef | undefined;
      if (context.leaseStatus !== "held" || !context.lease || context.lease.leaseId !== due.leaseId || !broker) return;
      enqueue.sendTo(broker, {
        type: "LEASE.RENEW",
        accountId: context.lease.accountId,
        provider: context.lease.provider,
        sessionId: context.id,
      });
      enqueue.raise({ type: "LEASE.RENEW_DUE", leaseId: context.lease.leaseId }, { delay: "leaseRenew" });
    }),
    noteLeaseQueued: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Ev<"LEASE.QUEUED">;
      enqueue.assign({ leaseWait: { etaMs: e.etaMs, reason: e.reason } });
      enqueue.emit({ type: "accountWait", sessionId: context.id, etaMs: e.etaMs, reason: e.reason });
    }),
    // After a wait that timed out the request is still queued at the broker: leaseStatus stays
    // "requested" so that `releaseLease` cancels it (else the dead session would be granted later).
    noteNoAccount: assign(({ context, event }) => ({
      leaseStatus: event.type === "LEASE.UNAVAILABLE" ? ("none" as const) : context.leaseStatus,
      failureMode: "no_account" as const,
      reason:
        event.type === "LEASE.UNAVAILABLE"
          ? `no_account:${event.code}: ${event.reason}`
          : "no_account: none became free within leaseWaitMs",
    })),
    prepareCredentials: enqueueActions(({ context, event, enqueue }) => {
      const grant = (event as Ev<"LEASE.GRANTED">).lease;
      enqueue.stopChild("creds");
      enqueue.spawnChild("credentialHome", {
        id: "creds",
        input: { sessionId: context.id, agent: context.agent, generation: context.generation, lease: grant },
      });
    }),
    noteCredentials: assign(({ event }) => ({ envRef: (event as Ev<"CREDENTIALS.READY">).envRef ?? null })),
    noteCredentialsError: assign(({ event }) => ({
      failureMode: "credentials" as const,
      reason: `credentials: ${(event as Ev<"CREDENTIALS.ERROR">).message}`,
    })),
    /** The CLI's failure on screen: its class, its line, and (rate limits) when it resets. */
    noteFailureOnScreen: assign(({ context, event }) => {
      const v = liveFailure(context, output(event));
      if (!v) return {};
      const j = verdictJudgement(v);
      return { ...j, reason: `${j.failureMode}_on_screen` };
    }),
    /** Exactly once per lease: the status goes back to none in the same step. */
    releaseLease: enqueueActions(({ context, enqueue, system }, params: { ok: boolean; stopped?: boolean }) => {
      const broker = system.get("broker") as AnyActorRef | undefined;
      if (context.leaseStatus === "requested" && broker) {
        enqueue.sendTo(broker, { type: "LEASE.CANCEL", sessionId: context.id, provider: context.account?.provider });
      }
      if (context.leaseStatus === "held" && context.lease && broker) {
        enqueue.sendTo(
          broker,
          releaseEvent(
            context.id,
            context.lease,
            params.ok,
            // A run the user stopped (a restart) says nothing about the account: "killed" skips its circuit.
            params.ok ? null : params.stopped ? "killed" : context.failureMode,
            context.retryAfterMs,
          ),
        );
      }
      // The credential home outlives the lease until the run's tree is gone (releaseChild, or the
      // final state stopping every child): a dying agent keeps its config dir during its grace.
      enqueue.assign({ leaseStatus: "none", lease: null });
    }),
    emitCompleted: emit(({ context }) => ({ type: "completed" as const, sessionId: context.id })),
    emitDead: emit(({ context }) => ({
      type: "dead" as const,
      sessionId: context.id,
      reason: context.reason,
      failureMode: context.failureMode,
      lastError: context.lastError,
    })),
  },
});
