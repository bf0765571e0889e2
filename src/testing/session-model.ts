/**
 * The session statechart as a test model. The machine itself is the model; what this adds is
 * the part only a tester knows: which events can really happen in a state (a child must have
 * spawned before it prints; the tree dies after the exit; the broker answers a lease request
 * only when there is one) and which context matters (the abstraction), so traversal stays
 * small and every generated step is something a scripted agent or the test can really do.
 */
import { createEmptyActor, type SnapshotFrom } from "xstate";
import { TestModel } from "xstate/graph";
import { openQuestion } from "../../machines/session.judgement.js";
import { sessionMachine, type SessionEvent, type SessionInput } from "../../machines/session.machine.js";
import type { PolicyOverrides } from "../../machines/session.policy.js";
import { machineTransitions } from "./coverage.js";
import { edgeCoverPaths, type ModelPath, predictTransition, selectCovering, withPrediction } from "./paths.js";
import {
  BUSY_RATE_LIMIT_TEXT,
  BUSY_RETRY_DETAIL,
  BUSY_RETRY_TEXT,
  busyModelPolicy,
  HALF_DRAWN,
  MODEL_ANSWER_KEYS,
  MODEL_LEASE,
  RATE_LIMIT_TEXT,
  RETRY_TEXT,
  type SessionModelOptions,
  sessionModelDefaults as defaults,
  tickLine,
  ticks,
} from "./session-model-world.js";
import { describeSessionEvent } from "./session-model-words.js";

export * from "./session-model-world.js";
export { describeSessionEvent } from "./session-model-words.js";

export type SessionSnapshotValue = SnapshotFrom<typeof sessionMachine>;
export type SessionModelPath = ModelPath<SessionSnapshotValue, SessionEvent> & { account: boolean; busy: boolean };

/** The model's machine input: only the policy parts that guards read matter. */
export function sessionModelInput(opts: SessionModelOptions = {}): SessionInput {
  const o = { ...defaults, ...opts };
  const policy: PolicyOverrides = {
    maxRestarts: o.maxRestarts,
    stallTimeoutMs: 1_000,
    windowMs: o.restartWindow ? 60_000 : null,
    // The stall ladder's nudge and a default answer to an unanswered question: the judgement model.
    stallNudgeMs: o.judgement ? 500 : null,
    inputWaitTimeoutMs: o.judgement ? 1_000 : null,
    inputWaitDefaultKeys: [...MODEL_ANSWER_KEYS],
    ...(o.busy ? busyModelPolicy(30_000) : { busyStallMs: null }),
  };
  return {
    id: "model",
    agent: "command",
    spec: { argv: ["/bin/true"] },
    policy,
    ...(o.account ? { account: { provider: MODEL_LEASE.provider } } : {}),
  };
}

/** The model's steps see a broker (any actor will do: the model delivers no message). */
const modelBroker = createEmptyActor();
export const predictSessionStep = (s: SessionSnapshotValue, e: SessionEvent) =>
  predictTransition(sessionMachine, s, e, { broker: modelBroker });

const asks = (s: SessionSnapshotValue) => openQuestion(s.context, s.context.screen, s.context.title) !== null;
const after = (delay: string, path: string) =>
  ({ type: `xstate.after.${delay}.session.${path}` }) as unknown as SessionEvent;
/** Event types some transition of the machine handles (the model offers only those). */
const handled = (type: string) => machineTransitions(sessionMachine).some((t) => t.event === type);
const guarded = (guard: string) => machineTransitions(sessionMachine).some((t) => t.guard === guard);

/** The events that can really happen in this snapshot, in a stable order. */
export function sessionModelEvents(s: SessionSnapshotValue, opts: SessionModelOptions = {}): SessionEvent[] {
  const o = { ...defaults, ...opts };
  if (s.status !== "active") return [];
  const c = s.context;
  const g = c.generation;
  const kill: SessionEvent = { type: "KILL", reason: "model_kill" };
  // restartSession (the judgement model: its transitions are covered without tripling the edge cover).
  const restart: SessionEvent[] = o.judgement ? [{ type: "RESTART", reason: "model_restart" }] : [];
  if (s.matches("init")) return [{ type: "START" }, kill, ...restart];
  if (s.matches("restarting")) {
    // The old tree dies first (it was told to, or exited); the backoff runs out after that. A restart
    // asked for during the backoff only while the tree is gone: the runtime reports GONE by itself.
    // A run ended by a TERM (a timeout, a restart asked for) exits first: its exit is recorded.
    if (c.childRunning)
      return [{ type: "CHILD.EXIT", generation: g, exitCode: null, signal: "SIGTERM", recentOutput: "" }, kill];
    if (c.treeAlive) return [{ type: "CHILD.GONE", generation: g }, kill];
    return c.backoffElapsed ? [kill] : [after("restartBackoff", "restarting"), kill, ...restart];
  }
  if (s.matches({ starting: "leasing" })) {
    // Only the broker speaks now; it may also never answer (then leaseWait runs out).
    const out: SessionEvent[] = [kill, ...restart];
    if (c.leaseStatus === "requested") {
      out.push(
        { type: "LEASE.GRANTED", lease: { ...MODEL_LEASE } },
        { type: "LEASE.QUEUED", etaMs: 1_000, reason: "all_busy" },
      );
      // An account of a pool: its credentials failing sends the run to lease another.
      if (o.judgement) out.push({ type: "LEASE.GRANTED", lease: { ...MODEL_LEASE, alternatives: 1 } });
      out.push(
        { type: "LEASE.UNAVAILABLE", etaMs: null, code: "none_free", reason: "no account free" },
        after("leaseWait", "starting"),
      );
    }
    return out;
  }
  if (s.matches({ starting: "preparing" })) {
    return [
      kill,
      ...restart,
      { type: "CREDENTIALS.READY", envRef: "creds-1" },
      { type: "CREDENTIALS.ERROR", message: "profile unreadable" },
      { type: "CREDENTIALS.BUSY", message: "account in use by another conductor", retryAfterMs: 15_000 },
      // The run's wait for an account may run out while its credentials are being prepared.
      ...(c.leaseWaitOver ? [] : [after("leaseWait", "starting")]),
    ];
  }
  if (s.matches("starting") && c.pid === null && !c.childRunning) {
    // Spawning is synchronous with entering launching: it either worked or it did not.
    return [
      { type: "CHILD.SPAWNED", generation: g, pid: 4242 },
      { type: "CHILD.SPAWN_ERROR", generation: g, message: "EACCES" },
    ];
  }
  const out: SessionEvent[] = [kill, ...restart];
  if (c.childRunning) {
    const output = (line: string, ...below: string[]): SessionEvent => ({
      type: "CHILD.OUTPUT",
      generation: g,
      bytes: c.outputBytes + 1,
      lagMs: 0,
      screenTail: [line, ...below],
    });
    out.push(
      output(o.text),
      output(o.question),
      { type: "CHILD.EXIT", generation: g, exitCode: 0, signal: null, recentOutput: "" },
      { type: "CHILD.EXIT", generation: g, exitCode: 1, signal: null, recentOutput: "" },
      { type: "INPUT", text: o.answer },
    );
    if (o.judgement) {
      // A dialog drawn over the question being waited on: asked anew once the screen settles.
      if (s.matches("input_wait")) out.push(output(o.otherQuestion));
      out.push({ type: "KEYS", keys: [...MODEL_ANSWER_KEYS] });
      // The run's budget: the test sends the deadline itself (maxRunMs is unit-tested on SimulatedClock).
      out.push({ type: "RUN.DEADLINE", generation: g });
      // L2's verdict: recorded and reported, never a move (the heartbeat actor is unit-tested on its own).
      out.push({ type: "PROBE.L2", generation: g, ok: false, reason: "mcp_fail:model=stopped" });
      // The CLI's telemetry records a 429 that names its wait (actors/agent-telemetry.ts is tested on its
      // own): the run fails on it (a bare 429 is the CLI's to retry).
      out.push({
        type: "PROBE.TELEMETRY",
        generation: g,
        event: "model.api_error",
        status: 429,
        message: "quota exceeded; retry in 30s",
        at: 0,
      });
      // A failed call it recorded that no rule calls a failure (gemini's `fetch failed sending request`):
      // a retry it makes, noted as one. Once a run, as the screen's notice below.
      if (c.lastError === null)
        out.push({
          type: "PROBE.TELEMETRY",
          generation: g,
          event: "model.api_error",
          status: null,
          message: "fetch failed",
          at: 0,
        });
      // The CLI's stream announces its own retry (src/agent-stream.ts is tested on its own): noted, no move.
      out.push({
        type: "PROBE.RETRY",
        generation: g,
        attempt: 1,
        of: 10,
        delayMs: 500,
        status: 529,
        error: "overloaded",
        outputBytes: 0,
      });
    }
    // The busy model: its busy line's counter ticks while it works, and while it is stalled on that.
    if (o.busy && (s.matches("healthy") || s.matches("stalled")))
      out.push(output(tickLine(ticks(c.screen) === 1 ? 2 : 1)));
    // While only the counter ticks, healthy or stalled: a redraw, a reading of a half-drawn frame (in
    // `changed` again: no move; after the settle: work), codex's rate limit line, its own retry (once a run).
    if (o.busy && (s.matches({ healthy: "ticking" }) || s.matches({ stalled: "ticking" }))) {
      out.push(output(c.screen[0] ?? tickLine(1)), output(HALF_DRAWN), output(BUSY_RATE_LIMIT_TEXT));
      if (c.screenRetry === "") out.push(output(BUSY_RETRY_TEXT, BUSY_RETRY_DETAIL));
    }
    // A command prints a rate limit and waits: a failure on screen while an account is held.
    if (c.leaseStatus === "held" && guarded("failureOnScreen")) out.push(output(RATE_LIMIT_TEXT));
    // Once a run, first of its retries: a real screen keeps the notice above later output (the same
    // notice again is a redraw), where the model's one-line screen would have it gone.
    if (o.judgement && c.screenRetry === "" && c.lastError === null && guarded("newRetryOnScreen"))
      out.push(output(RETRY_TEXT));
  }
  if (c.leaseStatus === "held" && handled("LEASE.EXPIRED"))
    out.push({ type: "LEASE.EXPIRED", lease: { leaseId: MODEL_LEASE.leaseId } });
  // Renewal is a delayed event the session raises to itself while it holds a lease.
  if (c.leaseStatus === "held" && handled("LEASE.RENEW_DUE"))
    out.push({ type: "LEASE.RENEW_DUE", leaseId: MODEL_LEASE.leaseId });
  // Timers: only the one that fires first when the agent stays quiet.
  if (s.matches("starting") && c.childRunning) out.push(after("startupTimeout", "starting.launching"));
  // Other content on a ticking turn's screen: its settle (1 s) comes before every other timer.
  const settling = s.matches({ healthy: { ticking: "changed" } }) || s.matches({ stalled: { ticking: "changed" } });
  if (settling) out.push(after("busyContentSettle", `${s.matches("healthy") ? "healthy" : "stalled"}.ticking.changed`));
  else if (s.matches("healthy"))
    out.push(
      asks(s)
        ? after("inputQuiet", "healthy")
        : // Ticking, the busy stall's timer is the older one (busyModelPolicy).
          s.matches({ healthy: "ticking" }) && c.policy.busyStallMs !== null
          ? after("busyStallAfter", "healthy.ticking")
          : after("stallAfter", "healthy"),
    );
  // The stall ladder: the nudge comes first, the give-up after it.
  else if (s.matches("stalled"))
    out.push(
      c.policy.stallNudgeMs !== null && !c.nudged ? after("stallNudge", "stalled") : after("stalledGiveUp", "stalled"),
    );
  // In input_wait the restart window passes (while a restart is recent), or the question times out, or
  // once it is gone from the screen, it stays away for the settle (or its timeout, armed before, falls due).
  if (s.matches("input_wait")) {
    if (c.recentRestarts > 0 && o.restartWindow) out.push({ type: "RESTART.WINDOW_EXPIRED" });
    else if (s.matches({ input_wait: "gone" }) || s.matches({ input_wait: "settled" })) {
      const gone = s.matches({ input_wait: "gone" });
      out.push(
        gone ? after("questionGoneSettle", "input_wait.gone") : after("questionGoneQuiet", "input_wait.settled"),
      );
      if (o.judgement && c.policy.inputWaitTimeoutMs !== null) out.push(after("inputWaitTimeout", "input_wait"));
    } else if (c.policy.inputWaitTimeoutMs !== null) out.push(after("inputWaitTimeout", "input_wait"));
  }
  return out;
}

/** The abstraction: state, whether a question is on screen, and the flags guards read. */
export function serializeSessionState(s: SessionSnapshotValue): string {
  if (s.status !== "active") return JSON.stringify(s.value);
  const c = s.context;
  return JSON.stringify({
    value: s.value,
    asks: asks(s),
    running: c.childRunning,
    tree: c.treeAlive,
    spawned: c.pid !== null,
    backoff: c.backoffElapsed,
    recent: c.recentRestarts,
    kill: c.killRequested,
    account: c.account !== null,
    lease: c.leaseStatus,
    pool: (c.lease?.alternatives ?? 0) > 0,
    leaseWaitOver: c.leaseWaitOver,
    nudged: c.nudged,
    answered: c.autoAnswered !== null,
    // The question waited on was answered (sendInput, keys): seen again, it is the next one.
    waitAnswered: c.answerFrom !== null,
    // A retry notice read this run, and whether the screen shows it (what the next output is judged against).
    retried: c.screenRetry !== "",
    notice: c.screen.includes(RETRY_TEXT) || c.screen.includes(BUSY_RETRY_TEXT),
    // The busy model: the screen is the busy line (the next tick changes only its counter).
    ticks: ticks(c.screen),
    // A half-drawn frame: other content than "working" on a ticking turn's screen.
    half: c.screen.includes(HALF_DRAWN),
  });
}

/** An xstate/graph `TestModel` of the session machine with the realistic events and abstraction. */
export function sessionTestModel(opts: SessionModelOptions = {}) {
  // `createTestModel` refuses machines with `after`; the TestModel class itself does not.
  return new TestModel<SessionSnapshotValue, SessionEvent, SessionInput>(
    withPrediction(sessionMachine, predictSessionStep as never) as never,
    {
      events: (s: SessionSnapshotValue) => sessionModelEvents(s, opts),
      serializeState: (s: SessionSnapshotValue) => serializeSessionState(s),
      input: sessionModelInput(opts),
    },
  );
}

export interface SessionPathsResult {
  /** Abstract test states and edges of the model(s). */
  states: number;
  edges: number;
  paths: SessionModelPath[];
}

/**
 * Paths through the session machine, without and with an account (`account` unset: both).
 * `cover: "edges"` (default) takes every edge of the abstract graph; `"transitions"` keeps the
 * fewest of those that still take every transition definition the model can reach.
 */
export function sessionPaths(opts: SessionModelOptions & { cover?: "edges" | "transitions" } = {}): SessionPathsResult {
  const configs = opts.account === undefined ? [false, true] : [opts.account];
  const busy = opts.busy === true;
  const result: SessionPathsResult = { states: 0, edges: 0, paths: [] };
  for (const account of configs) {
    const o = { ...opts, account };
    const { graph, paths } = edgeCoverPaths(
      sessionMachine,
      {
        events: (s: SessionSnapshotValue) => sessionModelEvents(s, o),
        serializeState: serializeSessionState,
        input: sessionModelInput(o),
        predict: predictSessionStep,
      },
      (e) => describeSessionEvent(e, o),
    );
    result.states += graph.states.size;
    result.edges += graph.edges.length;
    result.paths.push(...paths.map((p) => ({ ...p, account, busy })));
  }
  if (opts.cover === "transitions") result.paths = selectCovering(result.paths);
  return result;
}
