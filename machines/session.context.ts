/**
 * The session statechart's data: what it is started with and what it holds (its events: session.events.ts).
 * session.setup.ts names the actors, delays, guards and actions that use them.
 */
import { checkSessionInput } from "./session.input-check.js";
import { NO_SCREEN_KEYS, type ScreenKeys } from "./agents/index.js";
import type { InputWaitInfo } from "./session.judgement.js";
import type { RetryShown } from "./session.retries.js";
import type { AccountRequirement, SessionLease } from "./session.lease.js";
import { type PolicyOverrides, resolvePolicy, type SessionPolicy } from "./session.policy.js";
import type { ChildSpec, FailureMode, HostStatusEvent, McpHeartbeatSpec, WriteCommand } from "./session.types.js";
import { type SessionState, STATES } from "./session.types.js";

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

/** An ended run as its successor's context keeps it (`attempt` counts runs from 1). */
export interface PreviousRun {
  attempt: number;
  exit: { exitCode: number | null; signal: string | null } | null;
  failureMode: FailureMode | null;
  lastError: string | null;
  /** It was ended by `restartSession` (nothing failed). */
  restartedOnRequest: boolean;
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
  /** Input sent before this run's child ran, written once it has spawned (a TUI: at its composer); null since (session.input.ts). */
  typeAhead: readonly WriteCommand[] | null;
  /**
   * The question open when this run's last `sendInput` was typed: that line with the answer's echo
   * after it is no question any more. The screen's text, never the input (it may be a secret).
   */
  answeredQuestion: string | null;
  /**
   * The screen's content key when the question waited on was answered (`sendInput`, or keys that do
   * more than move a menu's selection); null while unanswered. The question seen again after that is
   * the next one, asked anew (session.moves.ts).
   */
  answerFrom: string | null;
  /**
   * The trust dialog this run answered: on the screen again, it is that answer being applied, never
   * asked again in this run. gemini 0.61 redraws its box on the answer and keeps it up while it
   * restarts itself (~2 s, `restarting to apply the trust changes` under it), and each reading between
   * made it a next question, reported twice (answers.live.ts `gemini-trust`, 2026-12-05 and 12-06).
   */
  trustAnswered: string | null;
  backoffElapsed: boolean;
  lastOutputLagMs: number;
  outputBytes: number;
  /**
   * The wait the CLI announced before retrying a failed call itself (`PROBE.RETRY`), while it has
   * printed nothing past the notice: a stall is counted from its end, not from the notice.
   */
  retryWait: { ms: number; outputBytes: number } | null;
  /**
   * The output's length and the screen's content when the CLI's last retry was noted: new content
   * past it with no retry notice on screen is the retry gone through, whose words leave `lastError`.
   */
  retryShown: RetryShown | null;
  /**
   * Failed calls of this turn the CLI's telemetry reported and the CLI retries by itself (its
   * profile's `retriesReported`); 0 again once it waits on its user or a run begins.
   */
  reportedRetries: number;
  /** The retry notice last read on this run's screen (its key, retry-notice.ts): a redraw is no new one. */
  screenRetry: string;
  screenTail: string[];
  /** The whole rendered screen and the window title of the latest output (the tail when no screen). */
  screen: string[];
  /** The ink of each of `screen`'s rows when the reading had them (agents/row-ink.ts). */
  inks: number[] | undefined;
  /** Some reading of this run had a coloured row (row-ink.ts `showsColour`): its inks tell the CLI's words. */
  colourSeen: boolean;
  /** A reading of this run showed its first turn begun (agents/first-turn.ts `firstTurnSeen`: at work, or the prompt echoed). */
  turnBegun: boolean;
  title: string | null;
  /**
   * The screen's keys (agents/progress-key.ts): output that leaves `progress` unchanged (a frozen
   * spinner) is no progress; output that leaves `content` unchanged changed only a busy clock.
   */
  screenKey: ScreenKeys;
  /** The content key of the screen a busy turn's clock ticks on (`ticking`): other content is judged against it. */
  busyContent: string;
  inputWait: InputWaitInfo | null;
  /** The CLI's own error line of the failed run, or its spawn error (secrets redacted), for the snapshot and `dead`. */
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
  /**
   * How the run before the current one ended: a session that crashes every minute reads `healthy`
   * with no `lastError` between its crashes, and this is what says it flaps. Null before a second run.
   */
  previousRun: PreviousRun | null;
  killRequested: boolean;
  account: AccountRequirement | null;
  /** `requested`: asked the broker and waiting; `held`: this run's lease, released exactly once. */
  leaseStatus: "none" | "requested" | "held";
  lease: SessionLease | null;
  leaseWait: { etaMs: number | null; reason: string } | null;
  /** This run's `leaseWaitMs` ran out while its credentials were being prepared (then held elsewhere: dead). */
  leaseWaitOver: boolean;
  /**
   * The host as its link last reported it while the session waits for it after a run ended
   * `host_unreachable` (`restarting`, the `hostWatch` actor); null when not waiting or not heard yet.
   */
  hostWait: Omit<HostStatusEvent, "type"> | null;
  /**
   * The last input written to a remote run may not have arrived (its link reset under it): which run,
   * its length, the channel's error, when (epoch ms). Null again once later input is written.
   */
  inputUnsure: { generation: number; length: number; error: string; at: number } | null;
  /** The wait for the host ran past `hostWaitMs`: the session is dead (not restartable). */
  hostWaitOver: boolean;
  /** The last run ended `host_unreachable` mid-run: how long it had its host (CHILD.EXIT `upMs`). */
  outageUpMs: number | null;
  /** Reference to this run's credentials, resolved by the child actor (no secret in context). */
  envRef: string | null;
  /** Retry hint from the output of the run that failed, for the account's cool-down. */
  retryAfterMs: number | null;
  mcpHeartbeat: McpHeartbeatSpec | null;
  /** L2's last verdict: `skip` without a heartbeat, `pending` until a run's first round. */
  l2: { status: "skip" | "pending" | "ok" | "fail"; reason: string };
}

export type { Ev, SessionEmitted, SessionEvent, SessionOutput } from "./session.events.js";

/**
 * A session's context before its first run. Made by a spread, not returned as a literal: XState's
 * `assign` copies the context with `Object.assign({}, context, update)`, and V8 copies a spread-made
 * object by its map, in one step, where a 38-key literal's copy is built key by key and ends in
 * dictionary mode (issue 13: a ~4.8 KB hash table for every assign of every session, and retained
 * per session, against ~0.4 KB). bench/output-alloc.mjs shows it as `assign` bytes per event.
 */
export function initialContext(input: SessionInput): SessionContext {
  checkSessionInput(input);
  return { ...contextLiteral(input) };
}

function contextLiteral(input: SessionInput): SessionContext {
  return {
    id: input.id,
    agent: input.agent,
    spec: input.spec,
    outPath: input.outPath,
    errPath: input.errPath,
    policy: resolvePolicy(input.policy),
    state: STATES.INIT,
    reason: "",
    restarts: 0,
    recentRestarts: 0,
    generation: 0,
    pid: null,
    childRunning: false,
    treeAlive: false,
    typeAhead: [],
    answeredQuestion: null,
    answerFrom: null,
    trustAnswered: null,
    backoffElapsed: false,
    lastOutputLagMs: 0,
    outputBytes: 0,
    retryWait: null,
    retryShown: null,
    reportedRetries: 0,
    screenRetry: "",
    screenTail: [],
    screen: [],
    inks: undefined,
    colourSeen: false,
    turnBegun: false,
    title: null,
    screenKey: NO_SCREEN_KEYS,
    busyContent: "",
    inputWait: null,
    lastError: null,
    nudged: false,
    autoAnswered: null,
    userRestart: false,
    runMode: "fresh",
    exit: null,
    failureMode: null,
    previousRun: null,
    killRequested: false,
    account: input.account ?? null,
    leaseStatus: "none",
    lease: null,
    leaseWait: null,
    leaseWaitOver: false,
    hostWait: null,
    inputUnsure: null,
    hostWaitOver: false,
    outageUpMs: null,
    envRef: null,
    retryAfterMs: null,
    mcpHeartbeat: input.mcpHeartbeat ?? null,
    l2: { status: input.mcpHeartbeat ? "pending" : "skip", reason: "" },
  };
}

/** The argv the current run started: its resume argv on a resumed run (`runMode`). */
export function runArgv(c: {
  runMode?: "fresh" | "resume";
  spec?: { argv: readonly string[]; resumeArgv?: readonly string[] };
}): readonly string[] | undefined {
  return c.runMode === "resume" && c.spec?.resumeArgv ? c.spec.resumeArgv : c.spec?.argv;
}
