/**
 * Which lines of a running CLI's screen are its own words (judge.ts `judgeScreen`): not its
 * stream-json events other than errors, not a retry it announced with retries left, not the run's
 * own arguments echoed back.
 */
import { streamErrors } from "./stream-events.js";
import type { AgentProfile } from "./types.js";

/**
 * The lines a live rule may judge while the CLI runs: its own words, not text that merely passes
 * through it (a field review: a prompt or an answer that mentioned "429 Too Many Requests" or
 * "Prompt is too long" ended healthy runs, and a retry the CLI announced was taken for its failure):
 * - a stream-json event speaks for the CLI only as an error event (its message); the agent's text,
 *   the user's echoed prompt and tool results are events of other types;
 * - a retry notice with retries left (codex's `Reconnecting... 1/5 (… 429 …)`, its `└` detail row):
 *   the CLI is on it, and says so again when they are spent;
 * - (echoOf) a line the CLI echoes from its own arguments.
 * An answer in a TUI or a text-mode transcript that quotes an error is not told apart here.
 */
export function cliOwnLines(profile: AgentProfile, text: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i++) {
    const line = text[i] as string;
    const t = line.trim();
    if (t.startsWith("{") && t.endsWith("}") && isJson(t)) {
      // codex --json: `{"type":"error","message":"Reconnecting... 1/5 (… 429 …)"}` is a notice too.
      for (const e of streamErrors(t)) if (!retriesLeft(profile, e.message)) out.push(e.message);
      continue;
    }
    if (retriesLeft(profile, line)) {
      if (/^\s*└/.test(text[i + 1] ?? "")) i++;
      continue;
    }
    if (profile.retryNoticeHead?.test(line)) {
      // gemini's notice in two lines: the first says what failed, the second whether it retries.
      const next = text[i + 1];
      if (next === undefined) continue; // its second line is yet to come
      if (retriesLeft(profile, `${line} ${next}`)) {
        i++;
        continue;
      }
      // The second line is the last read: it may be part of one yet (`Suggested retry after 5s.. Ret`).
      // Once spent, gemini prints its error after it at once: the pair is judged then (or at the exit).
      if (i + 2 >= text.length) continue;
    }
    out.push(line);
  }
  return out;
}

/**
 * `Reconnecting... 1/5`: the CLI's notice of a retry with more to come (its own form, or this bare
 * one). A numbered notice that does not say of how many (gemini's `Attempt 3 failed: … Retrying after
 * 21379ms...`) says it retries: its last attempt says `Max attempts reached` instead.
 */
const BARE_NOTICE = /^\s*(?:ERROR:\s*)?Reconnecting\.\.\.\s*(?<attempt>\d+)\/(?<of>\d+)/;
function retriesLeft(profile: AgentProfile, line: string): boolean {
  const g = profile.retryNotice?.exec(line)?.groups ?? BARE_NOTICE.exec(line)?.groups;
  if (g?.attempt === undefined) return false;
  const [attempt, of] = [Number(g.attempt), Number(g.of)];
  return g.of === undefined || attempt < of || (profile.noticeBeforeRetry === true && attempt === of);
}

const squash = (t: string) => t.replace(/\s+/g, "");
/** The run's long arguments without whitespace, once per argv (a prompt may be 128 KiB). */
const squashedArgs = new WeakMap<readonly string[], string[]>();
/**
 * Whether a matched line is the CLI echoing its own arguments (its prompt in a TUI's `❯` row, a
 * transcript's "user" part; whitespace aside, 12 characters at least): the session's words, not the
 * CLI's. Asked only of a line a rule matched, so a long prompt costs nothing per output.
 */
export function echoOf(argv: readonly string[] | undefined): ((line: string) => boolean) | undefined {
  if (!argv) return undefined;
  let args = squashedArgs.get(argv);
  if (!args) {
    args = argv.filter((a) => a.length >= 12).map(squash);
    squashedArgs.set(argv, args);
  }
  if (args.length === 0) return undefined;
  const long = args;
  return (line) => {
    const t = squash(line.replace(/^[\s❯›>│▌┃]+/, ""));
    return t.length >= 12 && long.some((a) => a.includes(t));
  };
}

function isJson(t: string): boolean {
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
}
