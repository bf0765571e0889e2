/**
 * A retry the CLI announces on its screen rather than in a stream (claude 2.1.332: `Authentication
 * failed · retrying in 38s · attempt 7 of 10` in text mode, `✻ 529 Overloaded · retrying in 17s ·
 * attempt 6/10` on the TUI's busy line, both recorded): what the session notes as `PROBE.RETRY`, so
 * a run that waits on the API says so instead of looking healthy, and its silent waits are no stall.
 */
import { durationMs } from "../retry-hint.js";
import { unwrapRows } from "./screen-lines.js";
import type { AgentProfile } from "./types.js";

export interface ScreenRetry {
  /** Null when the CLI does not number its retries (claude's "Waiting for API response · will retry in 4m 2s"). */
  attempt: number | null;
  of: number | null;
  delayMs: number | null;
  status: number | null;
  /** What failed, in the CLI's words (`529 Overloaded`, `Authentication failed`). */
  error: string;
  /** Tells one notice from the next: the same attempt redrawn with its countdown is the same notice. */
  key: string;
}

const STATUS = /\b([45]\d\d)\b/;
const DETAIL = /^\s*└\s*(.+)$/;
/**
 * Every form says this: a line without it is passed over before the form's own regex (it runs on
 * every output of every session, and a screen is 40 rows of mostly other text).
 */
const RETRYING = /retrying in|retrying after|retrying…|will retry in|Reconnecting\.\.\.|reconnecting \d/i;

/** A notice's wait in ms: `17` (seconds: a form whose unit follows the group), `38s`, `4m 2s`. */
const noticeDelayMs = (delay: string) =>
  /^\d+(?:\.\d+)?$/.test(delay) ? Math.round(Number(delay) * 1000) : durationMs(delay);

/** The lowest notice on screen (the latest), or null; one-entry memo by the screen array (never mutated). */
let memo: { profile: AgentProfile; screen: readonly string[]; retry: ScreenRetry | null } | null = null;
export function retryOnScreen(profile: AgentProfile, screen: readonly string[]): ScreenRetry | null {
  // A named CLI's own wording only: in its transcript a tool's "retrying in 10s, attempt 2 of 5" is
  // not the CLI retrying. `command`'s generic form is for a program that is itself the session.
  const pattern = profile.retryNotice;
  if (!pattern) return null;
  if (memo?.profile === profile && memo.screen === screen) return memo.retry;
  let retry: ScreenRetry | null = null;
  // No row says it: done in one scan (the common case, on every output of every session).
  const said = screen.some((l) => RETRYING.test(l));
  // A notice in two lines (gemini's `Attempt 1 failed: <error>` wrapped over rows, then `Suggested retry
  // after 5s.. Retrying after 5739ms...`): read on the lines as printed, the second joined to the first.
  const twoLines = said && profile.retryNoticeHead !== undefined;
  const lines = twoLines ? unwrapRows(screen) : screen;
  for (let i = lines.length - 1; said && i >= 0 && retry === null; i--) {
    const line = lines[i] as string;
    if (!RETRYING.test(line)) continue;
    const g =
      pattern.exec(line)?.groups ?? (twoLines && i > 0 ? pattern.exec(`${lines[i - 1]} ${line}`)?.groups : undefined);
    // Without an `error` group, what failed is on the `└` row under the notice (codex's TUI).
    const error = (g?.error ?? DETAIL.exec(lines[i + 1] ?? "")?.[1] ?? "").trim();
    // A form without a count needs its wait: a notice must say which retry or when.
    if (!g || !error || (!g.attempt && !g.delay)) continue;
    const of = g.of ? Number(g.of) : null;
    retry = {
      attempt: g.attempt ? Number(g.attempt) : null,
      of,
      delayMs: g.delay ? noticeDelayMs(g.delay) : null,
      status: Number(STATUS.exec(error)?.[1]) || null,
      error,
      // A countdown redrawn is the same notice: the key leaves the wait out.
      key: `${g.attempt ?? ""}/${of ?? ""} ${error}`,
    };
  }
  memo = { profile, screen, retry };
  return retry;
}
