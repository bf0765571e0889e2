/**
 * The session chart's judgement of its child, from what the CLI printed: pure helpers the guards
 * and actions of session.setup.ts call. Which agent profile applies, the failure of a run (exit
 * or live on screen), the open question, and how long to wait before the next run.
 */
import {
  agentProfile,
  type FailureClass,
  type FailureVerdict,
  findQuestion,
  judgeExit,
  judgeScreen,
  lastMeaningfulLine,
  progressKey,
  type Question,
  redactSecrets,
  TERMINAL_CLASSES,
} from "./agents/index.js";
import { classifyFailure, DEFAULT_INPUT_WAIT_PATTERNS } from "./classify-output.js";
import { findRetryHint } from "./retry-hint.js";
import { backoffDelay, type SessionPolicy } from "./session.policy.js";
import type { ChildEvent, FailureMode } from "./session.types.js";

type Output = Extract<ChildEvent, { type: "CHILD.OUTPUT" }>;
type Exit = Extract<ChildEvent, { type: "CHILD.EXIT" }>;

/** What the judgement reads from the session's context. */
export interface JudgedContext {
  agent: string;
  policy: SessionPolicy;
  leaseStatus: "none" | "requested" | "held";
  account: unknown;
}

/** The open question as the session keeps it (`pattern`/`line`: the seed's fields). */
export interface InputWaitInfo {
  pattern: string;
  line: string;
  kind: Question["kind"];
  question: string;
  choices: string[];
}

export const profileOf = (c: JudgedContext) => agentProfile(c.policy.judgeAs ?? c.agent);
/** The whole screen when the producer sent it, else the tail it always sends. */
export const screenOf = (e: Output | Exit): string[] => e.screen ?? ("screenTail" in e ? (e as Output).screenTail : []);
const clockOf = (c: JudgedContext, e: Output | Exit) => ({ now: e.at, timeZone: c.policy.timeZone });

export function modeOf(cls: FailureClass): FailureMode {
  return cls === "rate_limit" ? "rate_limited" : cls;
}

/** A failure the CLI shows while still running; with a leased account, any rate-limit wording too. */
export function liveFailure(c: JudgedContext, e: Output): FailureVerdict | null {
  const screen = screenOf(e);
  const seen = judgeScreen(profileOf(c), screen, e.title ?? null, clockOf(c, e));
  if (seen) return seen;
  if (c.leaseStatus !== "held") return null;
  // The seed's rule, kept for accounts: a CLI that prints its limit and waits fails over.
  const generic = classifyFailure(screen.join("\n"));
  if (!generic) return null;
  const line = screen.find((l) => l.includes(generic.match)) ?? generic.match;
  // Its hint ("try again in 3 seconds") sets the account's cool-down; without it the default applies.
  const { now, timeZone } = clockOf(c, e);
  const hint = findRetryHint(screen.join("\n"), now, { timeZone });
  return { class: "rate_limit", line: line.trim(), source: "screen", retryAfterMs: hint?.ms ?? null };
}

export interface RunJudgement {
  failureMode: FailureMode | null;
  /** The CLI's own error line, secrets redacted. */
  lastError: string | null;
  retryAfterMs: number | null;
}

/** How a run that exited ended: class from the exit code, stream, output and screen. */
export function judgeRunExit(c: JudgedContext, e: Exit): RunJudgement {
  if (e.exitCode === 0 && !e.signal) return { failureMode: null, lastError: null, retryAfterMs: null };
  const evidence = {
    exitCode: e.exitCode,
    signal: e.signal,
    recentOutput: e.recentOutput,
    screen: e.screen ?? [],
    title: e.title ?? null,
  };
  const v = judgeExit(profileOf(c), evidence, clockOf(c, e));
  const line = v?.line ?? lastMeaningfulLine(evidence);
  return {
    failureMode: e.failureMode ?? (v ? modeOf(v.class) : "exit_nonzero"),
    lastError: line === null ? null : redactSecrets(line),
    retryAfterMs: v?.retryAfterMs ?? e.retryAfterMs ?? null,
  };
}

export function verdictJudgement(v: FailureVerdict): RunJudgement {
  return { failureMode: modeOf(v.class), lastError: redactSecrets(v.line), retryAfterMs: v.retryAfterMs };
}

export function openQuestion(c: JudgedContext, screen: readonly string[], title: string | null): InputWaitInfo | null {
  const q = findQuestion(profileOf(c), screen, title, [...DEFAULT_INPUT_WAIT_PATTERNS, ...c.policy.inputWaitPatterns]);
  return q ? { pattern: q.pattern, line: q.text, kind: q.kind, question: q.text, choices: q.choices } : null;
}

export const screenProgress = (c: JudgedContext, screen: readonly string[], title: string | null) =>
  progressKey(profileOf(c), screen, title);

/** A restart asks the same unanswered question again: as final as the CLI's terminal classes. */
const TERMINAL_MODES = new Set<string>([...TERMINAL_CLASSES, "input_wait_timeout"]);

/** A restart cannot help: the CLI said so, or its rate limit resets later than the policy waits. */
export function cannotRecover(c: JudgedContext & { failureMode: FailureMode | null; retryAfterMs: number | null }) {
  if (c.failureMode === null) return false;
  if (TERMINAL_MODES.has(c.failureMode)) return true;
  return (
    c.failureMode === "rate_limited" &&
    c.account === null &&
    c.retryAfterMs !== null &&
    c.retryAfterMs > c.policy.rateLimitMaxWaitMs
  );
}

/**
 * Before restart n (1-based, in the window): a rate limit without an account pool waits for its
 * reset (or `rateLimitWaitMs` when the CLI named none); with a pool the broker switches accounts,
 * so only the usual backoff applies. `network`/`crash` back off from `failureBackoffInitialMs`.
 */
export function restartDelay(
  c: JudgedContext & { failureMode: FailureMode | null; retryAfterMs: number | null },
  n: number,
): number {
  const p = c.policy;
  const usual = backoffDelay(p, n);
  if (c.failureMode === "rate_limited" && c.account === null) {
    return Math.max(usual, Math.min(p.rateLimitMaxWaitMs, c.retryAfterMs ?? p.rateLimitWaitMs));
  }
  if (c.failureMode === "network" || c.failureMode === "crash") {
    return backoffDelay({ ...p, backoffInitialMs: Math.max(p.backoffInitialMs, p.failureBackoffInitialMs) }, n);
  }
  return usual;
}
