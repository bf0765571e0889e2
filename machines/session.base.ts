/**
 * The session chart's base setup: its types, the actors it names (stand-ins that do nothing until
 * `machine.provide` replaces them), its delays and its guards. Actions are added in layers with
 * `extend`: a run's (session.run-actions.ts), its user's requests (session.request-actions.ts), what a
 * run comes to (session.outcome-actions.ts), then the account lease's (session.setup.ts).
 */
import { fromCallback, or, setup, stateIn } from "xstate";
import type {
  Ev,
  SessionContext,
  SessionEmitted,
  SessionEvent,
  SessionInput,
  SessionOutput,
} from "./session.context.js";
import {
  endsAtRunBound,
  liveFailure,
  oneShotRun,
  openQuestion,
  profileOf,
  screenOf,
  screenKeysOf,
  startupTimeoutFor,
} from "./session.judgement.js";
import { cannotRecover, limitPause, restartDelay } from "./session.recovery.js";
import { newScreenRetry, reportedFailure } from "./session.retries.js";
import type { CredentialHomeInput, LeaseEvent } from "./session.lease.js";
import { charsOf, inputCommand, inputProblem, SELECTION_KINDS, takesInput } from "./session.input.js";
import {
  BUSY_CONTENT_SETTLE_MS,
  freeOutage,
  hostOutage,
  NEVER_MS,
  QUESTION_GONE_QUIET_MS,
  QUESTION_GONE_SETTLE_MS,
} from "./session.policy.js";
import type {
  AgentTelemetryInput,
  ChildCommand,
  HostStatusEvent,
  HostWatchInput,
  McpHeartbeatInput,
  McpProbeEvent,
  PtyProcessInput,
  TelemetryErrorEvent,
} from "./session.types.js";

/**
 * Stand-in for the real pty actor, for a machine used without `provide`: each run fails to spawn,
 * saying what is missing. It did nothing at all, and an embedder's session sat in `restarting` for
 * ever with no lastError (a review: 100 simulated hours).
 */
export const NO_CHILD_ACTOR =
  "no child actor: sessionMachine runs its agent through its `ptyProcess` actor, which was not provided; " +
  "use sessionMachine.provide({ actors: { ptyProcess: createPtyProcessLogic(...) } }) (docs/xstate.md) or createConductor";
const noChild = fromCallback<ChildCommand, PtyProcessInput>(({ input, sendBack }) => {
  sendBack({ type: "CHILD.SPAWN_ERROR", generation: input.generation, message: NO_CHILD_ACTOR });
});
/** Stand-in credential home: no extra environment. The runtime provides the real one. */
const noCredentials = fromCallback<LeaseEvent, CredentialHomeInput>(({ sendBack }) => {
  sendBack({ type: "CREDENTIALS.READY" });
});

/** Stand-in heartbeat: no verdict ever (l2 stays pending). The runtime provides the real one. */
const noHeartbeat = fromCallback<McpProbeEvent, McpHeartbeatInput>(() => undefined);
/** Stand-in telemetry probe: reports nothing. The runtime provides the real one (actors/agent-telemetry.ts). */
const noTelemetry = fromCallback<TelemetryErrorEvent, AgentTelemetryInput>(() => undefined);
/**
 * Stand-in host watch: reports nothing, so a wait for the host ends only at `hostWait`. The runtime
 * provides the real one (actors/remote-host-watch.ts), which reports the host's link.
 */
const noHostWatch = fromCallback<HostStatusEvent, HostWatchInput>(() => undefined);

export const output = (event: SessionEvent) => event as Ev<"CHILD.OUTPUT">;
/** The wait in `restarting`: none when the user asked for the restart; a host's return, not a time, after an outage. */
export const restartWaitMs = (c: SessionContext) =>
  c.userRestart ? 0 : hostOutage(c) ? NEVER_MS : restartDelay(c, c.recentRestarts);

export const sessionBase = setup({
  types: {
    input: {} as SessionInput,
    context: {} as SessionContext,
    events: {} as SessionEvent,
    emitted: {} as SessionEmitted,
    output: {} as SessionOutput,
  },
  actors: {
    ptyProcess: noChild,
    credentialHome: noCredentials,
    mcpHeartbeat: noHeartbeat,
    agentTelemetry: noTelemetry,
    hostWatch: noHostWatch,
  },
  delays: {
    /** L3: first output must come within this. */
    startupTimeout: ({ context }) => startupTimeoutFor(context),
    /**
     * L1: measured from the last byte, not from the (coalesced) event that reported it; when that
     * byte ended a retry notice, from the end of the wait the CLI announced.
     */
    stallAfter: ({ context }) =>
      Math.max(0, context.policy.stallMs + (context.retryWait?.ms ?? 0) - context.lastOutputLagMs),
    /** L1.5: quiet period before the screen is read for a question. */
    inputQuiet: ({ context }) => Math.max(0, context.policy.inputQuietMs - context.lastOutputLagMs),
    /** Only a busy counter changed this long (from the first such change) → stalled. */
    busyStallAfter: ({ context }) =>
      context.policy.busyStallMs === null
        ? NEVER_MS
        : Math.max(0, context.policy.busyStallMs - context.lastOutputLagMs),
    /** Other content on a ticking turn's screen this long, still there at the next reading → work (session.moves.ts). */
    busyContentSettle: BUSY_CONTENT_SETTLE_MS,
    questionGoneSettle: QUESTION_GONE_SETTLE_MS,
    /** Text typed as an answer: its Enter after the profile's pause (session.input.ts). */
    submitAnswer: ({ context }) => profileOf(context).submitDelayMs ?? 0,
    questionGoneQuiet: QUESTION_GONE_QUIET_MS,
    /** Stalled this long → give up on this run. Never fires when the policy says null. */
    stalledGiveUp: ({ context }) => context.policy.stallTimeoutMs ?? NEVER_MS,
    /** The stall ladder's nudge, before the give-up. */
    stallNudge: ({ context }) => context.policy.stallNudgeMs ?? NEVER_MS,
    /**
     * An unanswered question this long → default answer or failure. Not a TUI idle at its composer:
     * that is no question its run is stuck on but its user's turn (a soak: a TUI left idle 10 min was
     * dead `input_wait_timeout`; with default keys, they would have been typed in as a prompt).
     */
    inputWaitTimeout: ({ context }) =>
      context.inputWait?.kind === "composer" ? NEVER_MS : (context.policy.inputWaitTimeoutMs ?? NEVER_MS),
    /** A run's whole budget, counted from its start. */
    maxRun: ({ context }) => context.policy.maxRunMs ?? NEVER_MS,
    /** Backoff, or a rate limit's reset (session.judgement.ts); none for a restart the user asked for. */
    restartBackoff: ({ context }) => restartWaitMs(context),
    restartWindow: ({ context }) => context.policy.windowMs ?? NEVER_MS,
    /** How long the session waits for its host after a run ended `host_unreachable`. */
    hostWait: ({ context }) => context.policy.hostWaitMs,
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
    screenAsksQuestion: ({ context }) =>
      !oneShotRun(context) && openQuestion(context, context.screen, context.title) !== null,
    questionGone: ({ context, event }) =>
      output(event).generation === context.generation &&
      openQuestion(context, screenOf(output(event)), output(event).title ?? null) === null,
    /** The question waited on is on the screen again (the reading before was a half-drawn frame). */
    questionBack: ({ context, event }) => {
      if (output(event).generation !== context.generation) return false;
      const q = openQuestion(context, screenOf(output(event)), output(event).title ?? null);
      return q !== null && q.question === context.inputWait?.question;
    },
    /**
     * The question was answered and one is on the screen again after it went: the next one, not the
     * one answered (a soak: 3 of 53 fast claude turns, whose composer went and came back within the
     * settle, never left their first wait; a field review: codex's second approval, drawn as the
     * first went, was never reported, and an embedder waiting for it hung).
     */
    nextQuestion: ({ context, event }) =>
      context.answerFrom !== null &&
      output(event).generation === context.generation &&
      openQuestion(context, screenOf(output(event)), output(event).title ?? null) !== null,
    /**
     * A menu that was answered, drawn again with other content (the next approval, another command,
     * in place of the first with no reading between them): the next question. Menus only: text typed
     * at a composer or a prompt line changes the screen and is still the question answered.
     */
    menuReplaced: ({ context, event }) => {
      const e = output(event);
      if (context.answerFrom === null || e.generation !== context.generation) return false;
      if (!SELECTION_KINDS.has(context.inputWait?.kind ?? "")) return false;
      const q = openQuestion(context, screenOf(e), e.title ?? null);
      return q !== null && screenKeysOf(context, screenOf(e), e.title ?? null).content !== context.answerFrom;
    },
    /** The menu still shows what it showed when its answer's text was typed: the text did not answer it. */
    answerUntaken: ({ context, event }) =>
      (event as Ev<"INPUT.SUBMIT">).menu &&
      (event as Ev<"INPUT.SUBMIT">).generation === context.generation &&
      context.screenKey.content === context.answerFrom,
    /** A composer's or a prompt line's text, its Enter written now: answered from here. */
    textSubmitted: ({ context, event }) =>
      !(event as Ev<"INPUT.SUBMIT">).menu && (event as Ev<"INPUT.SUBMIT">).generation === context.generation,
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
      screenKeysOf(context, screenOf(output(event)), output(event).title ?? null).progress ===
        context.screenKey.progress,
    /** New output changed the screen only in a busy line's counter (a turn's clock ticking on). */
    onlyCounterChanged: ({ context, event }) => {
      const e = output(event);
      if (e.generation !== context.generation) return false;
      const keys = screenKeysOf(context, screenOf(e), e.title ?? null);
      return keys.content === context.screenKey.content && keys.progress !== context.screenKey.progress;
    },
    /** The screen a busy turn's clock ticks on, whatever its clock says (`ticking`). */
    busyContentShown: ({ context, event }) => {
      const e = output(event);
      return (
        e.generation === context.generation &&
        screenKeysOf(context, screenOf(e), e.title ?? null).content === context.busyContent
      );
    },
    busyStallEnabled: ({ context }) => context.policy.busyStallMs !== null,
    nudgeDue: ({ context }) => context.policy.stallNudgeMs !== null && !context.nudged,
    mayAutoAnswer: ({ context }) =>
      context.policy.inputWaitDefaultKeys !== null && context.inputWait?.question !== context.autoAnswered,
    inputWaitTimeoutEnabled: ({ context }) => context.policy.inputWaitTimeoutMs !== null,
    killRequested: ({ context }) => context.killRequested,
    /** Within the restart budget, or a rate limit waited out or a host outage (neither counted against it). */
    mayRestart: ({ context }) =>
      context.recentRestarts < context.policy.maxRestarts || limitPause(context) || freeOutage(context),
    /** Waiting for the host after an outage, and it has not answered yet (nor the user restarted). */
    waitingForHost: ({ context }) => hostOutage(context) && !context.backoffElapsed,
    /** The host's link is up again, or refuses us (the next run then says why, and ends the session). */
    hostAnswers: ({ event }) =>
      (event as HostStatusEvent).status === "connected" || (event as HostStatusEvent).status === "rejected",
    readyToRespawn: ({ context }) => !context.treeAlive && context.backoffElapsed,
    /** Not for a headless one-shot: its silence is the model working, and a restart reruns the task. */
    stallGiveUpEnabled: ({ context }) => context.policy.stallTimeoutMs !== null && !oneShotRun(context),
    childRunning: ({ context }) => context.childRunning,
    inputMalformed: ({ event }) => inputProblem(event) !== null,
    /** Input waits as type-ahead for the first child (a TUI: its composer), with room for it (session.input.ts). */
    keepsTypeAhead: ({ context, event }) => takesInput(context, charsOf(inputCommand(context, event))) === "keep",
    needsNoAccount: ({ context }) => context.account === null,
    leasingAccount: stateIn("#session.starting.leasing"),
    preparingAccount: stateIn("#session.starting.preparing"),
    questionFading: or([stateIn("#session.input_wait.gone"), stateIn("#session.input_wait.settled")]),
    otherAccounts: ({ context }) => (context.lease?.alternatives ?? 0) > 0,
    leaseWaitIsOver: ({ context }) => context.leaseWaitOver,
    /**
     * A restart cannot fix a missing account, broken credentials, or what the CLI called terminal
     * (auth, trust, config, context), nor a rate limit that resets beyond `rateLimitMaxWaitMs`.
     */
    unrecoverable: ({ context }) =>
      context.failureMode === "no_account" ||
      context.failureMode === "credentials" ||
      context.failureMode === "internal_error" ||
      context.hostWaitOver ||
      (context.failureMode === "run_timeout" && endsAtRunBound(context)) ||
      cannotRecover(context),
    /** The CLI shows a failure and keeps running (TUI auth error, quota text over a spinner). */
    /** The CLI's screen announces a retry of its own that was not read before (retry-notice.ts). */
    newRetryOnScreen: ({ context, event }) => newScreenRetry(context, output(event)) !== null,
    failureOnScreen: ({ context, event }) =>
      output(event).generation === context.generation && liveFailure(context, output(event)) !== null,
    /** The CLI's telemetry recorded a failure of this run (a 429 it retries behind its spinner). */
    failureReported: ({ context, event }) =>
      (event as TelemetryErrorEvent).generation === context.generation &&
      reportedFailure(context, event as TelemetryErrorEvent) !== null,
    currentRun: ({ context, event }) => (event as Ev<"RUN.DEADLINE">).generation === context.generation,
  },
});
