/**
 * The world of the session test model (session-model.ts): its options, and what its agent prints
 * (a question, a rate limit, a retry notice, codex's busy line and its clock, a half-drawn frame), in
 * words a real scripted agent can print and the real judgement reads as the model says.
 */
import type { PolicyOverrides } from "../../machines/session.policy.js";

export interface SessionModelOptions {
  /** Restarts the model allows (small keeps the graph small). Default 1. */
  maxRestarts?: number;
  /** What the agent prints when it asks (must match an input-wait pattern). */
  question?: string;
  /** Another question (the judgement model: it replaces the first one while the session waits). */
  otherQuestion?: string;
  /** What it prints otherwise (must not). */
  text?: string;
  /** What the test types. */
  answer?: string;
  /** `false` leaves out RESTART.WINDOW_EXPIRED (for runtimes without a restart window). */
  restartWindow?: boolean;
  /** The session needs an account from the broker for every run (default false). */
  account?: boolean;
  /**
   * Issue 10's moves too: KEYS, the run deadline, the stall ladder's nudge and a default answer to a
   * question that times out (default false: the base model, small enough to cover every edge).
   */
  judgement?: boolean;
  /**
   * The busy stall too: the agent may also print a busy line whose counter ticks (codex's
   * `• Working (12s • esc to interrupt)`, judged as codex), and the busy stall may fall due while
   * it ticks (default false).
   */
  busy?: boolean;
}

export const sessionModelDefaults = {
  maxRestarts: 1,
  question: "Continue? (y/n)",
  otherQuestion: "Proceed? (y/n)",
  text: "working",
  answer: "y",
  restartWindow: true,
  account: false,
  judgement: false,
  busy: false,
};
export const MODEL_LEASE = { leaseId: "lease-1", accountId: "acct-1", provider: "codex", tier: "pro", halfOpen: false };
export const RATE_LIMIT_TEXT = "Error: 429 Too Many Requests - rate limit reached";
/** codex's own words for its limit (a bare "429 Too Many Requests" is judged at its exit only). */
export const BUSY_RATE_LIMIT_TEXT = "■ You’ve hit your usage limit. Try again in 5 minutes.";
/** A retry the agent announces on its screen (machines/agents/retry-notice.ts): noted, no failure. */
export const RETRY_TEXT = "Error: 503 Service Unavailable - retrying in 1s (attempt 1/3)";
/** codex's own retry on its busy line (the busy model's notice; codex judges the model's rate limit line too). */
export const BUSY_RETRY_TEXT = "• Reconnecting... 1/5 (1s • esc to interrupt)";
/** What failed, on the row under it (codex says it there). */
export const BUSY_RETRY_DETAIL = "  └ stream disconnected before completion";
/** The busy model's screen read in the middle of a redraw (the pty's reader got part of one write). */
export const HALF_DRAWN = "• Work";
/** The busy model's busy line at 1 s or 2 s: a tick shows the other one (the abstraction keeps which). */
export const tickLine = (n: 1 | 2) => `• Working (${n}s • esc to interrupt)`;
export const ticks = (screen: readonly string[]) =>
  screen.includes(tickLine(1)) ? 1 : screen.includes(tickLine(2)) ? 2 : 0;
/**
 * The busy model's policy: its busy stall below `stallMs`, since simulated time stands still between
 * ticks (a tick re-arms the stall; only the busy stall's timer, armed at the first tick, is older).
 */
export const busyModelPolicy = (stallMs: number): PolicyOverrides => ({
  judgeAs: "codex",
  busyStallMs: Math.round(stallMs * 0.75),
});
/** Keys the model sends with KEYS and answers a timed-out question with: the agent reads a line "y". */
export const MODEL_ANSWER_KEYS = ["y", "Enter"] as const;
