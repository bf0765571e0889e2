/**
 * The session chart's actions for one run: announce moves, start, feed and stop the child, note its
 * output, exit and spawn errors. Its user's requests (restart, kill, input):
 * session.request-actions.ts. What the run comes to (questions, restarts, verdicts, final events):
 * session.outcome-actions.ts.
 */
import { assign, cancel, enqueueActions, raise } from "xstate";
import { output, sessionBase } from "./session.base.js";
import { type Ev, runArgv, type SessionEvent } from "./session.context.js";
import { judgeRunExit, judgeTimedOutRun, profileOf, screenOf, screenKeysOf } from "./session.judgement.js";
import { newScreenRetry, retryThrough } from "./session.retries.js";
import { firstTurnSeen, NO_SCREEN_KEYS, redactSecrets, retryOnScreen } from "./agents/index.js";
import { showsColour } from "./agents/row-ink.js";
import type { FailureMode, McpHeartbeatInput, McpProbeEvent, PtyProcessInput, SessionState } from "./session.types.js";

/**
 * Healthy's two `after` timers as XState names them (`xstate.after.<delay>.<state id>`, also the id
 * it schedules them under). Output re-arms them in place instead of re-entering healthy (issue 13:
 * a re-entry per output event ran the whole exit/entry machinery). A rename upstream would leave two
 * timers armed at once: test/session.machine.test.ts's "stalled exactly stallMs after the last
 * output" catches it.
 */
export const HEALTHY_QUIET = "xstate.after.inputQuiet.session.healthy";
export const HEALTHY_STALL = "xstate.after.stallAfter.session.healthy";
const quietDue = { type: HEALTHY_QUIET } as unknown as SessionEvent;
const stallDue = { type: HEALTHY_STALL } as unknown as SessionEvent;

export const sessionRunSetup = sessionBase.extend({
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
    beginRun: assign(({ context: c }) => ({
      previousRun:
        c.generation > 0
          ? {
              attempt: c.generation,
              exit: c.exit,
              failureMode: c.failureMode,
              lastError: c.lastError,
              restartedOnRequest: c.userRestart,
            }
          : null,
      generation: c.generation + 1,
      pid: null,
      childRunning: false,
      // Input sent while the run starts is kept for its child, as the first run's (a field review:
      // `await restartSession(id)` then `sendInput` was refused, the new child not spawned yet).
      typeAhead: c.typeAhead ?? [],
      exit: null,
      failureMode: null,
      inputWait: null,
      screenTail: [],
      screen: [],
      inks: undefined,
      colourSeen: false,
      turnBegun: false,
      title: null,
      screenKey: NO_SCREEN_KEYS,
      busyContent: "",
      lastError: null,
      nudged: false,
      autoAnswered: null,
      answeredQuestion: null,
      trustAnswered: null,
      lastOutputLagMs: 0,
      retryWait: null,
      retryShown: null,
      reportedRetries: 0,
      screenRetry: "",
      retryAfterMs: null,
      userRestart: false,
      leaseWaitOver: false,
      hostWait: null,
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
      // The CLI's telemetry is read from before its first write, so this run's records are all seen.
      if (context.spec.agentTelemetry) {
        const path = context.spec.agentTelemetry;
        enqueue.stopChild("telemetry");
        enqueue.spawnChild("agentTelemetry", {
          id: "telemetry",
          input: {
            sessionId: context.id,
            generation: context.generation,
            path,
            owned: context.spec.agentTelemetryOwned === true,
          },
        });
      }
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
        argv: runArgv(context) ?? context.spec.argv,
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
      const wait = context.retryWait;
      const screenKey = screenKeysOf(context, screen, title);
      return {
        ...retryThrough(context, e.bytes, screen),
        outputBytes: e.bytes,
        lastOutputLagMs: e.lagMs,
        // Output past the retry notice: the CLI is at work again, the wait it announced is over.
        retryWait: wait !== null && e.bytes > wait.outputBytes ? null : wait,
        // The notice gone from the screen: the next one is new even if it reads the same (a later
        // turn's `attempt 1/10`).
        screenRetry:
          context.screenRetry !== "" && retryOnScreen(profileOf(context), screen) === null ? "" : context.screenRetry,
        screenTail: e.screenTail,
        screen,
        // Row for row with the whole screen only (a tail has none).
        inks: e.screen ? e.inks : undefined,
        colourSeen: context.colourSeen || (e.screen !== undefined && showsColour(e.inks)),
        turnBegun: context.turnBegun || firstTurnSeen(profileOf(context), runArgv(context), screen, title),
        title,
        screenKey,
      };
    }),
    /** `ticking` begins: the screen noted last is the one its clock ticks on. */
    noteBusyContent: assign(({ context }) => ({ busyContent: context.screenKey.content })),
    /** Progress while healthy: both timers count again from this output's last byte (lagMs). */
    cancelQuiet: cancel(HEALTHY_QUIET),
    armQuiet: raise(quietDue, { id: HEALTHY_QUIET, delay: "inputQuiet" }),
    /**
     * A retry notice read on the screen is a retry the CLI announced, as a stream's is: raised as
     * PROBE.RETRY (lastError, `agentRetry`, its wait not counted as a stall), once per notice.
     */
    noteScreenRetry: enqueueActions(({ context, event, enqueue }) => {
      const e = output(event);
      const retry = newScreenRetry(context, e);
      if (retry === null) return;
      const { key, ...notice } = retry;
      enqueue.assign({ screenRetry: key });
      enqueue.raise({ type: "PROBE.RETRY", generation: e.generation, ...notice, outputBytes: e.bytes });
    }),
    cancelStall: cancel(HEALTHY_STALL),
    armStall: raise(stallDue, { id: HEALTHY_STALL, delay: "stallAfter" }),
    noteExit: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Ev<"CHILD.EXIT">;
      const clean = e.exitCode === 0 && !e.signal;
      const { failureMode, lastError, retryAfterMs } = judgeRunExit(context, e);
      enqueue.stopChild("mcp");
      enqueue.stopChild("telemetry");
      enqueue.assign({
        childRunning: false,
        exit: { exitCode: e.exitCode, signal: e.signal },
        failureMode,
        lastError,
        retryAfterMs,
        outageUpMs: e.upMs ?? null,
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
    /** The exit of a run already ended (restarting): recorded, not judged (a field review: it stayed null). */
    noteEndedExit: assign(({ event }) => {
      const { exitCode, signal } = event as Ev<"CHILD.EXIT">;
      return { childRunning: false, exit: { exitCode, signal } };
    }),
    // The message is the run's error: `dead` and the snapshot say it (the reason becomes the restart
    // budget's by then), not only the event log.
    noteSpawnError: assign(({ event }) => {
      const { message } = event as Ev<"CHILD.SPAWN_ERROR">;
      return {
        childRunning: false,
        treeAlive: false,
        failureMode: "spawn_error" as const,
        reason: `spawn_error:${message}`,
        lastError: redactSecrets(message),
      };
    }),
    noteGone: enqueueActions(({ context, event, enqueue }) => {
      enqueue.assign({ treeAlive: false, childRunning: false, pid: null });
      // The run's account was given back and its tree is gone: its credential home (and the claim on
      // the account other conductors wait for) goes now, not after the backoff or a rate limit's
      // reset (a field review: an idle account stayed claimed through a 7 s backoff).
      if (context.leaseStatus !== "held") {
        enqueue.stopChild("creds");
        enqueue.assign({ envRef: null });
      }
      enqueue.emit({ type: "gone", sessionId: context.id, generation: (event as Ev<"CHILD.GONE">).generation });
    }),
    /** Ask the pty actor to end the tree; it answers with EXIT (if running) and GONE. */
    terminateChild: enqueueActions(({ context, enqueue }) => {
      // The run's verdict is in: its probes have nothing left to say. A remote one polls its host
      // (remote-telemetry.ts), and the wait before the next run can last hours (a usage limit's reset).
      enqueue.stopChild("mcp");
      enqueue.stopChild("telemetry");
      if (!context.treeAlive) return;
      enqueue.sendTo("pty", { type: "CHILD.TERMINATE", reason: context.reason, graceMs: context.policy.graceMs });
    }),
    /** Stop the pty actor; if its tree is still dying, the reaper (owned by the actor's cleanup) finishes it. */
    releaseChild: enqueueActions(({ enqueue }) => {
      enqueue.stopChild("pty");
      enqueue.stopChild("hostWatch");
      enqueue.stopChild("creds");
      enqueue.stopChild("mcp");
      enqueue.stopChild("telemetry");
      enqueue.assign({ treeAlive: false, childRunning: false, envRef: null });
    }),
  },
});
