/**
 * A run's last word: the line a person would read as what the program said last (lastError), not a
 * stack frame, a piece of JSON, a dumped object or the CLI's start-up chatter. Apart from judge.ts,
 * which applies the CLIs' rules, so each stays one concern.
 */
import { clip, outputLines, textLines, unwrapRows } from "./screen-lines.js";
import { str, streamErrors } from "./stream-events.js";
import type { RunEvidence } from "./judge.js";
import type { AgentProfile } from "./types.js";

// An API error quoted whole (gemini's `_ApiError: {"error":{"message":"…"}}`, its `message: '…'`), or
// cut at the terminal's edge before its closing quote (gemini's TUI: `✕ [API Error: {"error":{"code":400,
// "message":"The input token count (1215843) exceeds the maximum number of tokens`, recorded tui-context).
const QUOTED_MESSAGE = /"message"\s*:\s*"((?:[^"\\]|\\.)*)(?:"|$)|\bmessage:\s*'((?:[^'\\]|\\.)*)'/g;

/**
 * A gateway's HTML page quoted as an API error's message (gemini's `Attempt 5 failed:
 * {"error":{"message":"<html><head><title>502 Bad Gateway</title>…","code":502,…}}`, nginx's page
 * behind a proxy): its title is the words, not the page (a field review: the HTML was lastError).
 */
const HTML_PAGE = /<html\b|<!doctype html/i;
const PAGE_TITLE = /<title>\s*([^<]*?)\s*<\/title>|<h1>\s*([^<]*?)\s*<\/h1>/i;
const pageWords = (message: string) => {
  if (!HTML_PAGE.test(message)) return message;
  const m = PAGE_TITLE.exec(message);
  return m?.[1] || m?.[2] || "an HTML error page (a proxy's or gateway's)";
};

/** Where an error's own message starts after its class: `TerminalQuotaError: `, `Error: `. */
const ERROR_CLASS = /(?:^|[\s([])(?:[A-Z][A-Za-z]*)?Error:\s+/g;

/**
 * The message a line quotes, when it quotes one: the one the rule matches, else the first; the
 * line itself otherwise. A person reads "API key not valid", not the JSON around it. Without a
 * quoted message, the text after an error class (the innermost that the rule still matches):
 * gemini's "Error generating content via API. Full report available at: <path>
 * TerminalQuotaError: You have exhausted your daily quota…" says the last part.
 */
export function messageIn(line: string, pattern?: RegExp): string {
  const found: string[] = [];
  for (const m of line.matchAll(QUOTED_MESSAGE)) {
    const raw = m[1] ?? m[2] ?? "";
    found.push(pageWords(raw.replace(/\\(["'\\/])/g, "$1").replace(/\\n/g, " ")));
  }
  if (found.length > 0) return found.find((t) => pattern?.test(t)) ?? (found[0] as string);
  if (!pattern) return line;
  const tails = [...line.matchAll(ERROR_CLASS)].map((m) => line.slice((m.index ?? 0) + m[0].length).trim());
  return tails.reverse().find((t) => t !== "" && pattern.test(t)) ?? line;
}

/**
 * Not a program's last word (lines as `contentOf` leaves them, trimmed): a stack frame (or the rest
 * of one whose row ended in a "." and so was not joined to the next: `js:346772:14)`; a Rust
 * backtrace's `5: <unknown>`, `12: std::rt::lang_start…`, `at /rustc/…`, and its `Stack backtrace:`
 * header: codex's last line was `5: <unknown>` after its error), a line ending
 * in `[object Object]` (gemini 0.61's last line after an API error it has no words for: "An
 * unexpected critical error occurred:[object Object]", recorded) and, after a trace, a property of
 * the error object dumped with it (`code: 404`; elsewhere `error: Unauthorized` is a last word).
 */
const STACK_FRAME =
  /^at (?:async )?(?:[^()]+ \()?(?:file:|node:|\/|<anonymous>)|^\S*:\d+:\d+\)?(?: \{)?$|^\d+:\s+(?:<unknown>|0x[0-9a-f]+\b.*|[\w<>{}$]+(?:::[\w<>{}$]+)+.*)$|^[Ss]tack backtrace:$/;
const NO_WORDS = /\[object Object\]$/;
const DUMPED_PROPERTY = /^[a-z][\w$]*: (?:\S+?|\[.*\]|'.*'|\{.*\}),?$/;
/**
 * Words that are JSON's, not a person's: a piece of a stream-json line, cut where the output's window
 * begins or wrapped into screen rows (a field review: claude's lastError was `lor\",\"focus\",…` of its
 * init event, gemini's `…credential.\"}}]\"},\"stats\":{…` of its result event), or a line of a dumped
 * object (`"path": [`, `]`). A line that quotes a whole API error is read for its message first.
 */
const JSON_PIECE = /\\"|"[\w$.-]*"\s*:\s*(?:["{[\d-]|true\b|false\b|null\b)|^[\]}]|[{[]$|^",|","/;

/**
 * A line of an object dumped as JSON (gemini's ZodError: `"message": "Required"`, `"path": [`, its
 * element `"complexity_reasoning"`), or by
 * node's inspect (`message: 'Required'`, `path: [Array]`, `addIssue: [Function (anonymous)],`): never
 * a last word, with or without the stack trace before it in view.
 */
const DUMP_LINE =
  /^\s*(?:"[\w$.-]*"\s*:|"[^"]*",?$|[{}\]]|[a-z][\w$]*: (?:'.*'|\[(?:Array|Object|Function)\b.*\]|\[\s*|\{\s*),?$)/;
/** A whole JSON object (a stream event), not a dump's line (`"complexity_reasoning"` parses too). */
const parses = (l: string) => {
  try {
    const v: unknown = JSON.parse(l);
    return typeof v === "object" && v !== null;
  } catch {
    return false;
  }
};

/**
 * The last line a person would read as the program's last word: the screen's rows joined where a
 * line was wrapped (a row of a wrapped stack frame is no line), a stack trace and what follows it
 * skipped, no piece of JSON, no chatter of the CLI's (`profile.chatter`).
 */
export function lastMeaningfulLine(
  e: Pick<RunEvidence, "recentOutput" | "screen">,
  cols?: number,
  profile?: AgentProfile,
): string | null {
  const output = outputLines(e);
  // A screen row of a stream-json line the output holds whole is that line's piece, not a line.
  const events = output.filter((l) => l.trimStart().startsWith("{"));
  const rows = textLines(unwrapRows(e.screen, cols)).filter((l) => !events.some((j) => j.includes(l.trim())));
  // A stream-json event without words of its own (`{"type":"turn.started"}`, a text delta of the
  // answer) is no last word: a SIGKILLed run's lastError was the agent's half answer as raw JSON.
  const all = [...output, ...rows].filter((l) => {
    // A line of an object dumped as JSON (gemini's ZodError: `"message": "Required"`, `"path": [`).
    if (DUMP_LINE.test(l) && !parses(l)) return false;
    const words = /[A-Za-z]/.test(l) ? readable(l) : null;
    return words !== null && !JSON_PIECE.test(words) && !profile?.chatter?.some((re) => re.test(words));
  });
  const trace = all.findLastIndex((l) => STACK_FRAME.test(l));
  // Under a Rust backtrace's header every numbered row is a frame (`13: main`).
  const rust = all.findLastIndex((l) => /^stack backtrace:$/i.test(l));
  const said = (l: string, i: number) =>
    !STACK_FRAME.test(l) &&
    !NO_WORDS.test(l) &&
    !(trace >= 0 && i > trace && DUMPED_PROPERTY.test(l)) &&
    !(rust >= 0 && i > rust && /^\d+:\s/.test(l));
  // All of it after a trace: its last line, never a frame (nothing but frames: no last word).
  const last = all.findLast(said) ?? all.findLast((l) => !STACK_FRAME.test(l));
  return last === undefined ? null : clip((readable(last) ?? last).trim());
}

/**
 * A stream-json event as the words it carries (its error message, its result text), null for one
 * that carries none of its own; other lines as they are.
 */
export function readable(line: string): string | null {
  const err = streamErrors(line)[0];
  if (err) return err.message;
  const t = line.trim();
  if (t.startsWith("{") && t.endsWith("}")) {
    try {
      // Not the agent's answer (an assistant message, a delta of one: gemini's `{"type":"message",
      // "role":"assistant","content":"word2 "}` was a killed run's lastError), only a result's text.
      const ev = JSON.parse(t) as Record<string, unknown>;
      return str(ev.result) ?? str(ev.message);
    } catch {
      // not JSON after all: a line that only looks like it
    }
  }
  return messageIn(line);
}
