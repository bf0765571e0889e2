/**
 * Judging a run by what its CLI printed: pure functions over an agent profile and what the
 * screen actor saw (exit code, the whole rendered screen, the window title, recent output).
 * `now` (epoch ms) and `timeZone` make wall-clock resets ("resets 3pm") deterministic.
 */
import { classifyFailure } from "../classify-output.js";
import { findRetryHint } from "../retry-hint.js";
import { command } from "./command.js";
import { cliOwnLines, echoOf } from "./own-lines.js";
import { BUSY_TAIL, clip, evidenceLines, outputLines, textLines, UI_MARK, unwrapRows } from "./screen-lines.js";
import { lastMeaningfulLine, messageIn, readable } from "./last-words.js";
import { ownRows } from "./row-ink.js";
import { streamErrors } from "./stream-events.js";
import type { AgentProfile, FailureClass, FailureRule, FailureVerdict } from "./types.js";

export { contentOf, unwrapRows } from "./screen-lines.js";
export { messageIn } from "./last-words.js";
export { streamErrors } from "./stream-events.js";

export interface RunEvidence {
  exitCode: number | null;
  signal: string | null;
  /** ANSI-free recent output (unwrapped lines; stream-json events are whole here). */
  recentOutput: string;
  /** The whole rendered screen, top to bottom. */
  screen: readonly string[];
  title: string | null;
}

/** When the verdict is given (wall-clock resets), and what the launcher knew of the run. */
export interface Clock {
  now?: number | undefined;
  timeZone?: string | null | undefined;
  /** The launcher found no login for the CLI (`ChildSpec.loggedOut`): rules with `whenLoggedOut` apply it. */
  loggedOut?: boolean | undefined;
  /** The terminal's width: where a TUI's own word wrap ends a row (unwrapRows). */
  cols?: number | undefined;
  /** The run's own arguments (its prompt): a CLI echoing them is not saying an error (judgeScreen). */
  argv?: readonly string[] | undefined;
}

/**
 * The first rule (most specific first) that matches a line, looking through each source in turn,
 * last line first: the output's unwrapped lines before the screen's, where a long line is cut
 * into rows of the terminal's width (a row holding only `…"API_KEY_INVALID",…` is no message).
 */
function firstRuleMatch(
  rules: readonly FailureRule[],
  sources: readonly (readonly string[])[],
  wanted?: FailureClass,
  notTheCli?: (line: string) => boolean,
): { rule: FailureRule; line: string } | null {
  for (const rule of rules) {
    if (wanted && rule.class !== wanted) continue;
    for (const text of sources) {
      for (let i = text.length - 1; i >= 0; i--) {
        const line = text[i] as string;
        if (rule.pattern.test(line) && !notTheCli?.(line))
          return { rule, line: rule.says?.exec(line)?.[0] ?? messageIn(line, rule.pattern) };
      }
    }
  }
  return null;
}

/** When a limit resets: the rule's own line's reset if it says where (`resetAt`), else the evidence's, else its `resetHint`. */
function limitReset(line: string, text: string, clock: Clock, rule?: Pick<FailureRule, "resetHint" | "resetAt">) {
  const read = (t: string) => findRetryHint(t, clock.now, { timeZone: clock.timeZone });
  if (rule?.resetAt) {
    const own = rule.resetAt.exec(line)?.[1];
    return own === undefined ? null : read(`resets ${own}`);
  }
  return read(text) ?? (rule?.resetHint ? read(rule.resetHint) : null);
}

function verdict(
  cls: FailureClass,
  line: string,
  source: FailureVerdict["source"],
  text: string,
  clock: Clock,
  rule?: Pick<FailureRule, "resetHint" | "resetAt">,
): FailureVerdict {
  const hint = cls === "rate_limit" ? limitReset(line, text, clock, rule) : null;
  // Without the TUI's marks: lastError is the CLI's words, not its layout.
  const words = line.trim().replace(UI_MARK, "").replace(BUSY_TAIL, "");
  return { class: cls, line: clip(words), source, retryAfterMs: hint?.ms ?? null };
}

/** A rule's verdict; a logged-out CLI's `whenLoggedOut` class, with what to do after its line. */
function ruleVerdict(
  hit: { rule: FailureRule; line: string },
  source: FailureVerdict["source"],
  text: string,
  clock: Clock,
): FailureVerdict {
  const alt = clock.loggedOut ? hit.rule.whenLoggedOut : undefined;
  if (!alt) {
    const line = hit.rule.hint ? `${hit.line.trim()} (${hit.rule.hint})` : hit.line;
    return verdict(hit.rule.class, line, source, text, clock, hit.rule);
  }
  return verdict(alt.class, `${hit.line.trim()} (${alt.hint})`, source, text, clock);
}

const CRASH_SIGNALS = new Set(["SIGSEGV", "SIGBUS", "SIGABRT", "SIGILL", "SIGFPE"]);

/** Why a run that exited badly failed; null when nothing the CLI said gives a class. */
export function judgeExit(profile: AgentProfile, e: RunEvidence, clock: Clock = {}): FailureVerdict | null {
  const text = evidenceLines(e);
  const whole = `${e.recentOutput}\n${e.screen.join("\n")}`;
  const rules = [...profile.failures, ...(profile === command ? [] : command.failures)];
  const stream = streamErrors(e.recentOutput);
  const sources = [outputLines(e), textLines(unwrapRows(e.screen, clock.cols))];
  const streamClass = (s: { code: string | null; message: string }): FailureClass | null =>
    (s.code ? profile.streamErrorCodes[s.code] : undefined) ?? firstRuleMatch(rules, [[s.message]])?.rule.class ?? null;
  /** A stream error's verdict: the words of its message (not the JSON it quotes), the rule's hint. */
  const streamVerdict = (
    s: { code: string | null; message: string },
    cls: FailureClass,
    from: FailureVerdict["source"],
  ) => {
    const hit = firstRuleMatch(rules, [[s.message]], cls);
    if (hit) return ruleVerdict(hit, from, whole, clock);
    return verdict(cls, messageIn(s.message), from, whole, clock);
  };

  const byCode = e.exitCode !== null ? profile.exitCodes[e.exitCode] : undefined;
  if (byCode) {
    const hit = firstRuleMatch(rules, sources, byCode);
    if (hit) return { ...ruleVerdict(hit, "exit_code", whole, clock), class: byCode };
    const said = stream.find((s) => streamClass(s) === byCode);
    if (said) return streamVerdict(said, byCode, "exit_code");
    return verdict(
      byCode,
      lastMeaningfulLine(e, clock.cols, profile) ?? `exit code ${e.exitCode}`,
      "exit_code",
      whole,
      clock,
    );
  }
  for (let i = stream.length - 1; i >= 0; i--) {
    const s = stream[i] as { code: string | null; message: string };
    const cls = streamClass(s);
    if (cls) return streamVerdict(s, cls, "stream");
  }
  const hit = firstRuleMatch(rules, sources);
  if (hit) return ruleVerdict(hit, "output", whole, clock);
  const generic = classifyFailure(whole);
  if (generic) {
    // The last line that says it on its own: "[ratelimited] sending request" holds the words too.
    const line = text.findLast((l) => classifyFailure(l) !== null) ?? generic.match;
    // A stream event's words, not its JSON (`{"type":"turn.failed","error":{"message":"…"}}`).
    return verdict("rate_limit", readable(line) ?? line, "output", whole, clock);
  }
  if (e.signal && CRASH_SIGNALS.has(e.signal))
    return verdict("crash", `killed by ${e.signal}`, "exit_code", whole, clock);
  return null;
}

/**
 * A failure the CLI shows while it keeps running (a TUI sitting on "Invalid API key", a spinner
 * over a quota message). Only the profile's `live` rules: the CLI's own UI wording, on the rows
 * in the CLI's own ink when the profile says which (`ownInk`) and the reading has inks (`inks`, row
 * for row). Plain output is all in the default ink: a text-mode one-shot of such a CLI is judged at
 * its exit.
 */
export function judgeScreen(
  profile: AgentProfile,
  screen: readonly string[],
  title: string | null,
  clock: Clock = {},
  passed: readonly string[] = [],
  inks?: readonly number[],
): FailureVerdict | null {
  const live = profile.failures.filter((r) => r.live);
  if (live.length === 0) return null;
  // Where the ink tells the CLI's words, only its own rows are read; lines that scrolled past have no
  // ink and are not read live (a long answer printed at once scrolls past between two readings; the
  // exit reads all of it). What scrolled past comes first: it came before what is on screen now.
  const byInk = profile.ownInk !== undefined && inks?.length === screen.length;
  // A tool call's rows are the model's command and the tool's words (tool-rows.ts): a box whose top
  // scrolled past is read with what passed.
  const withPassed = passed.length > 0 && !byInk;
  const [before, shown] = withPassed ? withoutTools(profile, passed, screen) : [passed, toolless(profile, screen)];
  const rows = byInk ? ownRows(shown, inks, profile.ownInk, profile.busy) : shown;
  const onScreen = textLines(unwrapRows(rows, clock.cols));
  const all = withPassed ? [...textLines(before), ...onScreen] : onScreen;
  const text = cliOwnLines(profile, all);
  const onNotice = live.filter((r) => r.onRetryNotice);
  const hit =
    (onNotice.length > 0 ? firstRuleMatch(onNotice, [all]) : null) ??
    firstRuleMatch(live, [title ? [...text, title] : text], undefined, echoOf(clock.argv));
  const whole = passed.length > 0 ? [...passed, ...screen].join("\n") : screen.join("\n");
  return hit ? ruleVerdict(hit, "screen", whole, clock) : null;
}

/** The rows with a tool call's rows blanked, row for row (the profile's `toolRows`). */
export function toolless(profile: AgentProfile, rows: readonly string[]): readonly string[] {
  return profile.toolRows ? profile.toolRows(rows) : rows;
}

/** `passed` and `screen` as one run of rows, a tool call's rows blanked, split back. */
function withoutTools(profile: AgentProfile, passed: readonly string[], screen: readonly string[]) {
  if (!profile.toolRows) return [passed, screen] as const;
  const rows = profile.toolRows([...passed, ...screen]);
  return [rows.slice(0, passed.length), rows.slice(passed.length)] as const;
}

/**
 * An API error the CLI recorded in its own telemetry while it keeps running (gemini retrying a 429
 * behind its spinner): the profile's live rules on its message, else a 429 that names its wait. Other
 * errors are left to the CLI's own retries and its screen (a 503, a bare 429 it may yet get past).
 * `retriedBefore`: the failed calls of this turn the CLI already retried by itself (its reportedRetryLimit,
 * its reportedErrorLimit; its failsWhenRepeated rules apply from the second).
 */
export function judgeReportedError(
  profile: AgentProfile,
  report: { status: number | null; message: string },
  clock: Clock = {},
  retriedBefore = 0,
): FailureVerdict | null {
  // One the CLI retries by itself (gemini's per-minute 429): its own retry, judged once it gives up,
  // or once it has retried as often in one turn as its one-shot would before giving up.
  if (profile.retriesReported?.(report)) {
    const limit = profile.reportedRetryLimit;
    if (limit === undefined || retriedBefore + 1 < limit) return null;
    const line = `${messageIn(report.message)} (${profile.name} retried it ${retriedBefore + 1} times this turn)`;
    return verdict("rate_limit", line, "telemetry", report.message, clock);
  }
  const hit = firstRuleMatch(
    profile.failures.filter((r) => r.live),
    [[report.message]],
  );
  if (hit) return ruleVerdict(hit, "telemetry", report.message, clock);
  const again = retriedBefore > 0 ? firstRuleMatch(profile.failsWhenRepeated ?? [], [[report.message]]) : null;
  if (again) return ruleVerdict(again, "telemetry", report.message, clock);
  // A 429 that says when to come back is a limit to wait out. One that does not (gemini's "Resource
  // exhausted. Please try again later.") is one the CLI retries with backoff by itself: judged when it
  // prints its failure, if it ever does (a field review: a transient 429 gemini got past alone was
  // restarted twice, 18 s became 139 s).
  const wait = report.status === 429 ? findRetryHint(report.message, clock.now, { timeZone: clock.timeZone }) : null;
  if (wait) return verdict("rate_limit", messageIn(report.message), "telemetry", report.message, clock);
  return pastErrorLimit(profile, report, clock, retriedBefore);
}

/** A failed call past the most one turn may report (`reportedErrorLimit`): its rule's class, else network. */
function pastErrorLimit(
  profile: AgentProfile,
  report: { status: number | null; message: string },
  clock: Clock,
  retriedBefore: number,
): FailureVerdict | null {
  const limit = profile.reportedErrorLimit;
  if (limit === undefined || retriedBefore + 1 < limit) return null;
  const cls = firstRuleMatch([...profile.failures, ...command.failures], [[report.message]])?.rule.class ?? "network";
  const line = `${messageIn(report.message)} (${profile.name} failed ${retriedBefore + 1} calls this turn)`;
  return verdict(cls, line, "telemetry", report.message, clock);
}
