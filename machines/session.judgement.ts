/**
 * The session chart's judgement of its child, from what the CLI printed: pure helpers the guards
 * and actions of session.setup.ts call. Which agent profile applies, the failure of a run (exit
 * or live on screen), the open question, and how long to wait before the next run.
 */
import {
  type AgentProfile,
  agentProfile,
  type FailureClass,
  type FailureVerdict,
  findQuestion,
  firstTurnPrompt,
  judgeExit,
  judgeScreen,
  lastMeaningfulLine,
  messageIn,
  type ScreenKeys,
  screenKeys,
  type Question,
  redactSecrets,
  streamErrors,
  TERMINAL_CLASSES,
  toolless,
} from "./agents/index.js";
import { inksDecide } from "./agents/row-ink.js";
import { clip } from "./agents/screen-lines.js";
import { classifyFailure, DEFAULT_INPUT_WAIT_PATTERNS } from "./classify-output.js";
import { findRetryHint } from "./retry-hint.js";
import { runArgv } from "./session.context.js";
import { NEVER_MS, type SessionPolicy } from "./session.policy.js";
import type { ChildEvent, ChildSpec, FailureMode } from "./session.types.js";

type Output = Extract<ChildEvent, { type: "CHILD.OUTPUT" }>;
type Exit = Extract<ChildEvent, { type: "CHILD.EXIT" }>;

/** What the judgement reads from the session's context. */
export interface JudgedContext {
  agent: string;
  /** The run's launch (its argv, what the launcher knew of the CLI's login). */
  spec?: Pick<ChildSpec, "argv" | "resumeArgv" | "loggedOut" | "cols" | "env">;
  /** Whether the current run started `spec.argv` or `spec.resumeArgv` (session.context.ts). */
  runMode?: "fresh" | "resume";
  policy: SessionPolicy;
  leaseStatus: "none" | "requested" | "held";
  account: unknown;
  /** The question open when this run's last `sendInput` was typed (the screen's text, never the input). */
  answeredQuestion?: string | null;
  /** The trust dialog this run answered (session.context.ts): no question while it is applied. */
  trustAnswered?: string | null;
  /** Failed calls of this turn the CLI retried by itself, as its telemetry reported them. */
  reportedRetries?: number;
  /** A reading of this run had a coloured row (row-ink.ts `showsColour`): its inks tell whose words are whose. */
  colourSeen?: boolean;
  /** A reading of this run showed its first turn begun (session.context.ts). */
  turnBegun?: boolean;
}

/** The open question as the session keeps it (`pattern`/`line`: the seed's fields). */
export interface InputWaitInfo {
  pattern: string;
  line: string;
  kind: Question["kind"];
  question: string;
  choices: string[];
  /** The highlighted choice of a menu (index in `choices`), when it marks one. */
  selected?: number;
}

export const profileOf = (c: JudgedContext) => agentProfile(c.policy.judgeAs ?? c.agent);
/** The whole screen when the producer sent it, else the tail it always sends. */
export const screenOf = (e: Output | Exit): string[] => e.screen ?? ("screenTail" in e ? (e as Output).screenTail : []);
/** The pty's width when the spec names none (actors/pty-run.ts). */
const DEFAULT_COLS = 120;
/**
 * The zone the CLI prints its clock times in when the session's env sets `TZ` (an IANA name, a leading
 * `:` allowed): "try again at 10:29 PM" read in the conductor's zone was 6.5 h off for a session on
 * Asia/Kolkata (a field review). A POSIX rule string (`IST-5:30`) is not read: the conductor's zone then.
 */
function zoneOf(tz: string | undefined): string | null {
  const name = tz?.replace(/^:/, "");
  if (!name) return null;
  try {
    new Intl.DateTimeFormat("en", { timeZone: name });
    return name;
  } catch {
    return null;
  }
}

/** What the judgement knows of the run besides its text: the zone, its login, the terminal's width. */
export const runClock = (c: JudgedContext) => ({
  timeZone: c.policy.timeZone ?? zoneOf(c.spec?.env?.TZ),
  loggedOut: c.spec?.loggedOut === true,
  cols: c.spec?.cols ?? DEFAULT_COLS,
  argv: c.spec?.argv,
});
const clockOf = (c: JudgedContext, e: Output | Exit) => ({ now: e.at, ...runClock(c) });

export function modeOf(cls: FailureClass): FailureMode {
  return cls === "rate_limit" ? "rate_limited" : cls;
}

/**
 * A reading's inks where they can tell the CLI's words from the model's: this reading's (row-ink.ts
 * `inksDecide`), after a coloured one of the run, or in a one-shot. In a TUI that draws no colour
 * (`NO_COLOR=1`) the words alone judge, as for a CLI without `ownInk`.
 */
const inksOf = (c: JudgedContext, inks: readonly number[] | undefined) =>
  c.colourSeen || inksDecide(inks) || runIsOneShot(c) ? inks : undefined;

/** A failure the CLI shows while still running; with a leased account, any rate-limit wording too. */
export function liveFailure(c: JudgedContext, e: Output): FailureVerdict | null {
  const screen = screenOf(e);
  const seen = judgeScreen(profileOf(c), screen, e.title ?? null, clockOf(c, e), e.passed, inksOf(c, e.inks));
  if (seen) return e.lineOpen && endsLastRow(e.screenTail, seen.line) ? null : seen;
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

/**
 * The failure's line is the screen's last row and the output ends inside it: the rest of the line may
 * still be on its way (a pty hands a long line over in pieces on a loaded machine: the recorded codex
 * 401 lost its `, url: …` as lastError, gemini's auth hint its end). It is judged on the next reading,
 * or at the exit, once the line is whole. A line as the failure reads it may lack the row's UI mark,
 * so the row's end is what must match.
 */
function endsLastRow(tail: readonly string[], line: string): boolean {
  // The tail is the screen's last non-empty rows (screen-tail.ts `reading`).
  const row = (tail.at(-1) ?? "").trim();
  return row !== "" && line.trimEnd().endsWith(row.slice(-Math.min(row.length, 40)));
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
  const clock = clockOf(c, e);
  const v = judgeExit(profileOf(c), evidence, clock);
  // The transport's own account (a host gone) beats the last line of output, which is no error.
  const line =
    v?.line ??
    e.detail ??
    // The stream's own error, in its words (gemini's result event quotes the API's JSON).
    streamErrorWords(e.recentOutput) ??
    lastMeaningfulLine(evidence, clock.cols, profileOf(c)) ??
    (e.signal ? `killed by ${e.signal}` : null);
  return {
    failureMode: e.failureMode ?? (v ? modeOf(v.class) : "exit_nonzero"),
    lastError: line === null ? null : redactSecrets(line),
    // Else a hint anywhere in its last output, read in the session's zone as the verdict's (a field
    // review: read in the conductor's, "try again at 10:29 PM" was hours off for a session on another TZ).
    retryAfterMs:
      v?.retryAfterMs ??
      e.retryAfterMs ??
      findRetryHint(e.recentOutput, clock.now, { timeZone: clock.timeZone })?.ms ??
      null,
  };
}

/** The last stream-json error event's message, as words (the message it quotes, not its JSON); null without one. */
function streamErrorWords(recentOutput: string): string | null {
  const last = streamErrors(recentOutput).at(-1);
  return last ? clip(messageIn(last.message).trim()) : null;
}

/** Runs a probe gives up on: stalled, silent at start-up, over `maxRunMs`. */
const TIMEOUT_MODES = new Set<FailureMode>(["stall_timeout", "startup_timeout", "run_timeout"]);

/**
 * A run a probe gave up on may still say why on its last screen (a CLI that stalled on "status:
 * 503", on its login error): that class, and its line, instead of the bare timeout. Null otherwise.
 * A terminal class only from the CLI's own UI wording (live rules): an agent that quoted "401
 * Unauthorized" from its work and then stalled is restarted, not ended.
 */
export function judgeTimedOutRun(
  c: JudgedContext & { screen: readonly string[]; inks?: readonly number[] | undefined; title: string | null },
  mode: FailureMode,
): RunJudgement | null {
  // Nobody answered: the question is what the run waited on (a field review: `dead` said nothing of it).
  if (mode === "input_wait_timeout") {
    const q = openQuestion(c, c.screen, c.title);
    return q && { failureMode: mode, lastError: redactSecrets(`unanswered: ${clip(q.question)}`), retryAfterMs: null };
  }
  if (!TIMEOUT_MODES.has(mode)) return null;
  // A tool's words on screen say nothing of why the CLI stopped (agents/tool-rows.ts).
  const evidence = {
    exitCode: null,
    signal: null,
    recentOutput: "",
    screen: toolless(profileOf(c), c.screen),
    title: c.title,
  };
  const clock = runClock(c);
  const own = judgeScreen(profileOf(c), c.screen, c.title, clock, [], inksOf(c, c.inks));
  if (own) return verdictJudgement(own);
  const v = judgeExit(profileOf(c), evidence, clock);
  if (v && !TERMINAL_CLASSES.has(v.class)) return verdictJudgement(v);
  return mode === "run_timeout" ? overRunBound(c) : null;
}

/**
 * A run past `maxRunMs` whose screen says nothing of why: the bound is its lastError (a field review:
 * `run_timeout`, lastError null, run again at once). A one-shot is not run again (`endsAtRunBound`).
 */
function overRunBound(c: JudgedContext): RunJudgement {
  const bound = c.policy.maxRunMs === null ? "" : ` (${Math.round(c.policy.maxRunMs / 1000)} s)`;
  const why = endsAtRunBound(c)
    ? `: a one-shot is not run again from its start (restart.mode "resume" goes on with it)`
    : "";
  return { failureMode: "run_timeout", lastError: `no end within maxRunMs${bound}${why}`, retryAfterMs: null };
}

/**
 * A one-shot past `maxRunMs` ends there: a fresh run would do its whole task again (its edits, its
 * commands), as a stall's restart would (docs/agents.md); a resumed run goes on with it.
 */
export function endsAtRunBound(c: JudgedContext): boolean {
  return c.policy.restartMode !== "resume" && runIsOneShot(c);
}

/** This run is a headless one-shot (`oneShotRun`), for a context whose spec may not be there yet. */
export function runIsOneShot(c: JudgedContext): boolean {
  return c.spec !== undefined && profileOf(c).oneShot(c.spec.argv.slice(1), c.spec.argv[0]);
}

export function verdictJudgement(v: FailureVerdict): RunJudgement {
  return { failureMode: modeOf(v.class), lastError: redactSecrets(v.line), retryAfterMs: v.retryAfterMs };
}

export function openQuestion(c: JudgedContext, screen: readonly string[], title: string | null): InputWaitInfo | null {
  const patterns = [...DEFAULT_INPUT_WAIT_PATTERNS, ...c.policy.inputWaitPatterns];
  const q = findQuestion(profileOf(c), screen, title, patterns, c.answeredQuestion ?? null);
  if (!q || (q.kind === "trust" && q.text === c.trustAnswered)) return null;
  // Its argv's prompt not begun yet: the composer is drawn, the first turn is still to come.
  if (q.kind === "composer" && !c.turnBegun && firstTurnPrompt(profileOf(c), runArgv(c)) !== null) return null;
  const info = { pattern: q.pattern, line: q.text, kind: q.kind, question: q.text, choices: q.choices };
  return q.selected === undefined ? info : { ...info, selected: q.selected };
}

/**
 * L3, the start-up timeout: none for a headless one-shot run of a known CLI, which may be silent
 * until it is done (issue 10: a working `claude -p` was killed as a start-up timeout). `maxRunMs`
 * bounds such a run instead; without it, the run is unbounded.
 */
export function startupTimeoutFor(c: JudgedContext & Required<Pick<JudgedContext, "spec">>): number {
  return oneShotRun(c) ? (c.policy.maxRunMs ?? NEVER_MS) : c.policy.startupTimeoutMs;
}

/**
 * A headless one-shot run of a known CLI (`claude -p`, `codex exec`, `gemini -p`): it reads no
 * input and may go quiet for minutes while the model works (codex exec: 42 s gaps recorded).
 * Its silence is shown (`stalled`) but never restarts it: a restart runs the whole task again.
 * Nothing on its screen is a question either: `codex exec` repeats the prompt in its header, and
 * a prompt ending in "?" read as one made a working run wait for an answer it could never read.
 */
export function oneShotRun(c: JudgedContext & Required<Pick<JudgedContext, "spec">>): boolean {
  return profileOf(c).oneShot(c.spec.argv.slice(1), c.spec.argv[0]);
}

/**
 * The screen's keys, computed once per output (issue 13: the `screenUnchanged` guard and the
 * `noteOutput` action each computed them, the larger half of the chart's cost per output event). A
 * one-entry memo of a pure function: the same profile, screen array and title give the same keys;
 * the context keeps the object itself (one field, no copy).
 * Screens are never mutated once sent (the context keeps them), so the array's identity is enough.
 */
let memo: { profile: AgentProfile; screen: readonly string[]; title: string | null; keys: ScreenKeys } | null = null;
export function screenKeysOf(c: JudgedContext, screen: readonly string[], title: string | null): ScreenKeys {
  const profile = profileOf(c);
  if (memo !== null && memo.screen === screen && memo.title === title && memo.profile === profile) return memo.keys;
  const keys = screenKeys(profile, screen, title);
  if (memo === null) memo = { profile, screen, title, keys };
  else {
    memo.profile = profile;
    memo.screen = screen;
    memo.title = title;
    memo.keys = keys;
  }
  return keys;
}
