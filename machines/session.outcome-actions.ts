/**
 * The session chart's actions for what a run comes to: a question (noted, announced, answered by
 * policy), the stall ladder's nudge, restarts and their window, the verdicts read from the screen or
 * the CLI's telemetry, and the final events. The run itself: session.run-actions.ts; its user's
 * requests: session.request-actions.ts.
 */
import { assign, emit, enqueueActions } from "xstate";
import { messageIn, redactSecrets, workKey } from "./agents/index.js";
import { findRetryHint } from "./retry-hint.js";
import { output, restartWaitMs } from "./session.base.js";
import { liveFailure, openQuestion, profileOf, runClock, verdictJudgement } from "./session.judgement.js";
import { limitPause } from "./session.recovery.js";
import { isRetryNotice, reportedFailure, retriedByItself, retryNotice } from "./session.retries.js";
import { keysToBytes } from "./session.keys.js";
import { freeOutage, hostOutage } from "./session.policy.js";
import { sessionRequestSetup } from "./session.request-actions.js";
import type { AgentRetryEvent, HostStatusEvent, TelemetryErrorEvent } from "./session.types.js";

const iso = (ms: number) => new Date(ms).toISOString();

export const sessionOutcomeSetup = sessionRequestSetup.extend({
  actions: {
    noteInputWait: assign(({ context }) => {
      const hit = openQuestion(context, context.screen, context.title);
      // A CLI that asks waits on its user, not on a retry it announced: the next stall counts as ever.
      // The retry is over (its call went through, or the CLI would say it failed): its words are no
      // lastError of a session that is fine (a field review: gemini's and claude's TUIs answered after
      // their own retries, at their composers, and still showed the 429 they had retried).
      if (!hit) return {};
      const stale = isRetryNotice(context.lastError) ? { lastError: null } : {};
      return {
        inputWait: hit,
        reason: `input_wait:${hit.pattern}`,
        retryWait: null,
        retryShown: null,
        reportedRetries: 0,
        ...stale,
      };
    }),
    /** After the stateChange, so a listener that answers at once sees the session in input_wait. */
    emitInputWait: emit(({ context }) => ({
      type: "inputWait" as const,
      sessionId: context.id,
      generation: context.generation,
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
    clearInputWait: assign({ inputWait: null, answerFrom: null }),
    countRestart: enqueueActions(({ context, enqueue }) => {
      // A rate limit waited out is a pause: in `restarts`, not in the budget `maxRestarts` counts.
      if (limitPause(context)) {
        enqueue.assign({ restarts: context.restarts + 1, backoffElapsed: false, reason: "rate_limit_wait" });
        return;
      }
      // So is a host that went away from a run that had lasted (freeOutage): the next run waits for
      // it (restarting, hostWatch), uncounted. A shorter run's outage waits the same way, counted.
      if (freeOutage(context)) {
        enqueue.assign({ restarts: context.restarts + 1, backoffElapsed: false, reason: "host_wait", hostWait: null });
        return;
      }
      enqueue.assign({
        restarts: context.restarts + 1,
        recentRestarts: context.recentRestarts + 1,
        backoffElapsed: false,
        // Of the budget: with a restart window, restarts that left it are no longer counted (restart_2/1 read as a bug).
        reason: `restart_${context.recentRestarts + 1}/${context.policy.maxRestarts}`,
        // A short run's outage: counted, and its wait for the host starts afresh all the same.
        ...(hostOutage(context) ? { hostWait: null } : {}),
      });
      if (context.policy.windowMs !== null) {
        enqueue.raise({ type: "RESTART.WINDOW_EXPIRED" }, { delay: "restartWindow" });
      }
    }),
    forgetRestart: assign(({ context }) => ({ recentRestarts: Math.max(0, context.recentRestarts - 1) })),
    announceRestartWait: enqueueActions(({ context, enqueue }) => {
      // A wait for the host has no delay to tell: its link's status says it (`hostWait`, noteHostStatus).
      if (hostOutage(context) && !context.userRestart) return;
      enqueue.emit({
        type: "restartWait",
        sessionId: context.id,
        delayMs: restartWaitMs(context),
        failureMode: context.failureMode,
      });
    }),
    /** After an outage, the host's link is watched until it answers (the runtime's `hostWatch` actor). */
    watchHost: enqueueActions(({ context, enqueue }) => {
      if (!hostOutage(context) || context.userRestart) return;
      enqueue.spawnChild("hostWatch", { id: "hostWatch", input: { sessionId: context.id } });
    }),
    /** The link's status while the session waits: kept, and told (the event log's `session.host_wait`) when it changes. */
    noteHostStatus: enqueueActions(({ context, event, enqueue }) => {
      const { type: _type, ...link } = event as HostStatusEvent;
      enqueue.assign({ hostWait: link });
      const was = context.hostWait;
      if (was?.status === link.status && was.since === link.since && was.host === link.host) return;
      enqueue.emit({ type: "hostWait", sessionId: context.id, maxWaitMs: context.policy.hostWaitMs, ...link });
    }),
    /** The host answers: the next run starts as soon as the old tree is gone, no backoff. */
    hostBack: assign({ backoffElapsed: true, reason: "host_back" }),
    /** The next run begins: after a host's return the move says so. */
    noteRespawn: assign(({ context }) => ({
      reason: context.reason === "host_back" && hostOutage(context) ? "host_back" : "respawn",
    })),
    /** The host did not come back within hostWaitMs: dead (not restartable), saying since when it is away. */
    noteHostGaveUp: assign(({ context }) => {
      const ms = context.policy.hostWaitMs;
      const link = context.hostWait;
      const where = link
        ? `host ${link.host} still ${link.status} (since ${iso(link.since)}${link.error ? `: ${link.error}` : ""})`
        : `the host is still away (${context.lastError ?? "host_unreachable"})`;
      return {
        hostWaitOver: true,
        reason: `hostWaitMs(${ms})_exceeded`,
        lastError: `${where}; waited ${ms} ms (restart.hostWaitMs) after the run gave it up`,
      };
    }),
    markBackoffElapsed: assign({ backoffElapsed: true }),
    explainDeath: assign(({ context }) => ({
      reason: context.killRequested ? context.reason : `maxRestarts(${context.policy.maxRestarts})_exceeded`,
    })),
    /** Dead at once: say which failure a restart cannot fix (no_account/credentials keep their reason). */
    explainUnrecoverable: assign(({ context }) =>
      context.failureMode === "no_account" ||
      context.failureMode === "credentials" ||
      context.failureMode === "internal_error" ||
      context.hostWaitOver
        ? {}
        : { reason: `not_restartable:${context.failureMode}` },
    ),
    /** An actor of the session threw (`xstate.error.actor.<id>`): which, and what it said. */
    noteActorError: assign(({ event }) => {
      const e = event as unknown as { type: string; error?: unknown };
      const actor = e.type.slice("xstate.error.actor.".length);
      const message = e.error instanceof Error ? e.error.message : String(e.error);
      return {
        failureMode: "internal_error" as const,
        reason: "internal_error",
        lastError: `the session's ${actor} actor threw: ${message}`,
        childRunning: false,
      };
    }),
    /** The CLI's failure on screen: its class, its line, and (rate limits) when it resets. */
    noteFailureOnScreen: assign(({ context, event }) => {
      const v = liveFailure(context, output(event));
      if (!v) return {};
      const j = verdictJudgement(v);
      return { ...j, reason: `${j.failureMode}_on_screen` };
    }),
    /** The CLI's telemetry recorded the failure (its screen shows only a spinner): its class, line and reset. */
    noteReportedFailure: assign(({ context, event }) => {
      const v = reportedFailure(context, event as TelemetryErrorEvent);
      if (!v) return {};
      const j = verdictJudgement(v);
      return { ...j, reason: `${j.failureMode}_in_telemetry` };
    }),
    /** A failed call the CLI's telemetry recorded and no rule calls a failure: a retry it makes (PROBE.RETRY). */
    noteReportedRetry: enqueueActions(({ context, event, enqueue }) => {
      const e = event as TelemetryErrorEvent;
      if (retriedByItself(context, e)) enqueue.assign({ reportedRetries: context.reportedRetries + 1 });
      enqueue.raise({
        type: "PROBE.RETRY",
        generation: e.generation,
        attempt: null,
        of: null,
        // The wait the API named (gemini waits at least that long before its next attempt): no stall.
        delayMs: findRetryHint(e.message, e.at, { timeZone: runClock(context).timeZone })?.ms ?? null,
        status: e.status,
        // The API's words, not its JSON ({"error":{"code":429,"message":"Resource exhausted. …"}}).
        error: messageIn(e.message),
        outputBytes: context.outputBytes,
      });
    }),
    /** The CLI retries a call by itself: not a failure, but the run waits on the API, and says so. */
    noteRetry: enqueueActions(({ context, event, enqueue }) => {
      const { type: _type, outputBytes, ...retry } = event as AgentRetryEvent;
      // claude waits up to ~40 s between its retries, printing nothing: longer than the default stallMs.
      // A notice reported after output past it (a late report) announces a wait that is over.
      const waits = retry.delayMs !== null && retry.delayMs > 0 && outputBytes >= context.outputBytes;
      const retryWait = waits ? { ms: retry.delayMs as number, outputBytes } : null;
      const retryShown = {
        outputBytes: Math.max(outputBytes, context.outputBytes),
        content: workKey(profileOf(context), context.screen),
      };
      enqueue.assign({ lastError: retryNotice(retry), retryWait, retryShown });
      // Its words as lastError has them: codex quotes the key it was refused, half masked (`sk-FAKE-*****-KEY`).
      enqueue.emit({ type: "agentRetry", sessionId: context.id, ...retry, error: redactSecrets(retry.error) });
    }),
    emitCompleted: emit(({ context }) => ({ type: "completed" as const, sessionId: context.id })),
    emitDead: emit(({ context }) => ({
      type: "dead" as const,
      sessionId: context.id,
      reason: context.reason,
      failureMode: context.failureMode,
      lastError: context.lastError,
      // Typed ahead of a first child that never ran: `sendInput` said true, so say it was never sent.
      ...(context.typeAhead?.length ? { unsentInput: context.typeAhead.length } : {}),
    })),
  },
});
