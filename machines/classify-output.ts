/**
 * Pure text classifiers used by the session statechart: why did a run fail, and is the agent
 * waiting for an answer. No Node imports: this module runs inside machine guards/actions.
 */

import { stripAnsi } from "./ansi.js";

// ---------------------------------------------------------------------------------------------
// Failure classification
// ---------------------------------------------------------------------------------------------

export interface RateLimitVerdict {
  mode: "rate_limited";
  /** The text that triggered the verdict (for the event log). */
  match: string;
}

/** The seed's generic wording, minus its bare `429` alternative. */
const RATE_LIMIT_WORDS = /rate.?limit|quota|throttl|too.many.requests|usage.limit/i;

/**
 * A 429 only counts as an HTTP status: after `HTTP/x.y`, or after a status-ish word
 * (`status 429`, `"statusCode": 429`, `Error: 429`, `code=429`), or in parentheses after such a
 * word (`API error (429)`). A bare 429 (line number `foo.js:429`, port `:4290`, an id) does not.
 */
const STATUS_WORD = "(?:status(?:[ _-]?code)?|code|error|err|http(?:[ _-]?status)?|response)";
const HTTP_429: readonly RegExp[] = [
  /\bHTTP\/\d(?:\.\d)?\s+429(?![\w/-]|[.:]\d)/i,
  // Only quote/colon/equals/space between the word and the number: "tests failed: 429" or
  // "response time 429ms" are not statuses.
  new RegExp(String.raw`\b${STATUS_WORD}"?\s*[:=]?\s*"?429(?![\w/-]|[.:]\d)`, "i"),
  new RegExp(String.raw`\b(?:${STATUS_WORD}|failed|request)\b[^\n()]{0,40}\(\s*429\s*\)`, "i"),
];

/** Classifies the (ANSI-stripped) recent output of a run that ended badly. */
export function classifyFailure(recentOutput: string): RateLimitVerdict | null {
  const text = stripAnsi(recentOutput);
  for (const re of [RATE_LIMIT_WORDS, ...HTTP_429]) {
    const m = re.exec(text);
    if (m) return { mode: "rate_limited", match: m[0].trim() };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Input-wait detection
// ---------------------------------------------------------------------------------------------

export interface InputWaitPattern {
  /** Short stable name reported in the `inputWait` event. */
  readonly name: string;
  readonly regex: RegExp;
}

export interface InputWaitMatch {
  pattern: string;
  line: string;
}

/** A trailing default like `[1]` or `(default: x)` may follow a prompt's colon. */
const TRAILING_DEFAULT = String.raw`(?:\s*(?:\[[^\]]*\]|\([^)]*\)))?`;

/**
 * Lines are right-trimmed before matching, so "ends with" means the last visible character.
 * Order matters only for the reported name: the most specific pattern comes first.
 */
export const DEFAULT_INPUT_WAIT_PATTERNS: readonly InputWaitPattern[] = Object.freeze([
  // confirm/approve/proceed anywhere is a trap ("Approved by reviewer", "proceeding with build"):
  // the exact verb must sit on a line that reads as a prompt (ends in ? or :, or offers y/n).
  {
    name: "confirm_prompt",
    regex: /\b(?:confirm|approve|proceed)\b(?:.*[?:]$|.*\b(?:y\/n|yes\/no)\b)/i,
  },
  { name: "yes_no", regex: /\b(?:y\/n|yes\/no)\b/i },
  { name: "choose_prompt", regex: new RegExp(String.raw`\b(?:choose|select|pick)\b.*:${TRAILING_DEFAULT}$`, "i") },
  { name: "enter_prompt", regex: new RegExp(String.raw`\b(?:enter|input|type)\b.*:${TRAILING_DEFAULT}$`, "i") },
  { name: "bracket_colon", regex: /\[[^\]]*\]:$/ },
  // "Press Enter to continue...", "Press any key": a pause for the operator, not a stall (a field
  // review saw one killed after stallTimeoutMs). Only a line that starts with it and is short.
  { name: "press_key", regex: /^\W{0,3}press (?:enter|return|any key)\b.{0,40}$/i },
  { name: "question_mark", regex: /\?$/ },
  // A shell-like `> ` prompt; not an arrow (`->`, `=>`) and not a closing tag or generic (`<div>`).
  { name: "prompt_arrow", regex: /^(?!.*<[A-Za-z/!][^<>]*>$).*(?<![-=])>$/ },
]);

/** How many trailing non-empty lines the spec looks at. */
export const INPUT_WAIT_LINES = 5;

/**
 * Compiled user patterns, by source: the guards that read the screen run on every coalesced
 * output event, and recompiling the same few strings each time is wasted work.
 */
const compiled = new Map<string, InputWaitPattern>();
function customPattern(source: string): InputWaitPattern {
  let p = compiled.get(source);
  if (!p) {
    p = { name: `custom:${source}`, regex: new RegExp(source, "i") };
    compiled.set(source, p);
  }
  return p;
}

/** User patterns (regex source strings, case-insensitive) named after their source. */
export function compileInputWaitPatterns(sources: readonly string[]): InputWaitPattern[] {
  return sources.map((source) => ({ name: `custom:${source}`, regex: new RegExp(source, "i") }));
}

/**
 * Checks the last 5 non-empty lines, newest first. `patterns` replaces the defaults; to extend
 * them pass `[...DEFAULT_INPUT_WAIT_PATTERNS, ...compileInputWaitPatterns(user)]` (plain strings
 * are compiled as custom patterns). An invalid regex string throws: validate it at config time.
 */
export function matchInputWait(
  lines: readonly string[],
  patterns: readonly (InputWaitPattern | string)[] = DEFAULT_INPUT_WAIT_PATTERNS,
  answered?: string | null,
): InputWaitMatch | null {
  const compiled = patterns.map((p) => (typeof p === "string" ? customPattern(p) : p));
  const tail = lines
    .flatMap((l) => stripAnsi(l).split(/\r?\n/))
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== "")
    .slice(-INPUT_WAIT_LINES);
  const asked = answered?.trimEnd() ?? "";
  for (let i = tail.length - 1; i >= 0; i--) {
    const line = tail[i] as string;
    for (const p of compiled) {
      p.regex.lastIndex = 0; // a user regex might carry the g/y flag
      if (!p.regex.test(line)) continue;
      // The question our last input answered, with the answer's echo after it (`Continue? [y/N] y`):
      // answered, and what is above it older still. It was read as a new question 1.5 s after the
      // agent printed its reply (a field review).
      if (asked !== "" && line.length > asked.length && line.startsWith(asked)) return null;
      return { pattern: p.name, line };
    }
  }
  return null;
}
