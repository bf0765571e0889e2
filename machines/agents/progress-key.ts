/**
 * Progress as a screen shows it: whether a busy spinner is on it, and two keys of its text. The
 * progress key is one a spinner, a blinking mark or a working title does not change (the stall and
 * question timers count from its last change); the content key leaves out the busy lines' counters
 * too (`12s`, `1m 5s`), so a turn whose only change is its clock is told apart from work (the busy
 * stall, `busyStallMs`). Pure functions over an agent profile.
 */
import type { AgentProfile } from "./types.js";

/** A busy spinner is on screen, or the title says the agent works. */
export function isBusy(profile: AgentProfile, screen: readonly string[], title: string | null): boolean {
  if (title && profile.titles.some((t) => t.means === "working" && t.pattern.test(title))) return true;
  return screen.some((l) => profile.busy.some((re) => re.test(l)));
}

// Spinner glyphs: braille (gemini, many CLIs), claude's ·✢✳✶✻✽, dots, circles, bars.
const GLYPHS = /[\u2800-\u28ff·✢✳✶✻✽✺⏺●○◐◓◑◒◴◷◶◵⣾⣽⣻⢿⡿⣟⣯⣷|/\\*-]/g;

// A busy line's clock: `16s`, `1m 42s`, `10m 56s`, `1h 2m`, `0.4s` (codex, gemini, claude's spinner).
const COUNTER = /\b\d+(?:\.\d+)?(?:h|m|s)\b(?:\s*\d+(?:m|s)\b)*/g;

const BLANKS = /\s+/g;

/** A busy line as its content key reads it: no spinner glyphs, no clock, blanks collapsed. */
export function withoutSpinner(line: string): string {
  return line.replace(GLYPHS, "").replace(COUNTER, "").replace(BLANKS, " ");
}

/** The two keys of one screen (see the module comment). */
export interface ScreenKeys {
  readonly progress: string;
  readonly content: string;
}
/** Before a run's first output. */
export const NO_SCREEN_KEYS: ScreenKeys = Object.freeze({ progress: "", content: "" });

/**
 * What counts as progress on screen: the rendered text, with spinner glyphs of busy lines, the
 * profile's blinking marks and the title's glyphs left out. A spinner that only spins (its counter
 * frozen) or a blinking mark leaves `progress` unchanged; a counter that ticks leaves `content` so.
 */
export function screenKeys(profile: AgentProfile, screen: readonly string[], title: string | null): ScreenKeys {
  // Allocation-free in the common case (issue 13: ~4–5 KB an output event went to an array of the
  // screen, an empty `blinking` array and a closure's boxed hash per line and character): the
  // hash lives in a local, a line is only copied when a blinking mark or a spinner changes it.
  // The content hash is the progress hash until the first line whose counter it leaves out; only
  // from there are two hashes mixed (a screen without a busy line costs what it did).
  const blinking = profile.blinking;
  let h = FNV_OFFSET;
  let hc = FNV_OFFSET;
  let diverged = false;
  for (const row of screen) {
    let line = row;
    if (blinking !== undefined) for (const re of blinking) line = line.replace(re, spaces);
    if (isBusyLine(profile, line)) line = line.replace(GLYPHS, "");
    else if (!isTickingLine(profile, line)) {
      h = mixLine(h, line);
      hc = diverged ? mixLine(hc, line) : h;
      continue;
    }
    // Blanks collapsed too: gemini pads its busy line to keep `? for shortcuts` right-aligned, so
    // the padding shrinks by one each time the clock grows a digit (9s → 10s, 1m 9s → 1m 10s: live,
    // every ~50 s, and the busy stall never came).
    const content = withoutSpinner(line);
    const next = mixLine(h, line);
    // Until now hc === h: it goes its own way only from a line the two read differently.
    hc = !diverged && content === line ? next : mixLine(hc, content);
    h = next;
    if (content !== line) diverged = true;
  }
  // A title the profile knows counts by what it means: codex blinks `[ . ]`/`[ ! ] Action Required`
  // every half second while it asks, which is not progress (the question would never settle).
  const meant = title ? profile.titles.find((t) => t.pattern.test(title))?.means : undefined;
  const titleKey = meant ?? (title ? title.replace(GLYPHS, "") : "");
  h = mixLine(h, titleKey);
  hc = diverged ? mixLine(hc, titleKey) : h;
  const progress = h.toString(36);
  return { progress, content: diverged ? hc.toString(36) : progress };
}

/**
 * The screen's words outside its busy lines (blinking marks blanked): they change when the agent's
 * work shows, not when its busy line does. gemini's TUI rotates its waiting phrases there while it
 * retries a call by itself, which read as the call gone through (a field review: a 503 outage's
 * session flipped to no lastError every few seconds, healthy for 29 minutes).
 */
export function workKey(profile: AgentProfile, screen: readonly string[]): string {
  let h = FNV_OFFSET;
  for (const row of screen) {
    let line = row;
    if (profile.blinking !== undefined) for (const re of profile.blinking) line = line.replace(re, spaces);
    if (!isBusyLine(profile, line) && !isTickingLine(profile, line)) h = mixLine(h, line);
  }
  return h.toString(36);
}

const FNV_OFFSET = 0x811c9dc5;
const spaces = (m: string) => " ".repeat(m.length);
function isBusyLine(profile: AgentProfile, line: string): boolean {
  for (const re of profile.busy) if (re.test(line)) return true;
  return false;
}
function isTickingLine(profile: AgentProfile, line: string): boolean {
  const ticking = profile.ticking;
  if (ticking !== undefined) for (const re of ticking) if (re.test(line)) return true;
  return false;
}
/** FNV-1a over a line's UTF-16 units, then a newline, so ["ab"] and ["a", "b"] differ. */
function mixLine(hash: number, s: string): number {
  let h = hash;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return Math.imul(h ^ 10, 0x01000193) >>> 0;
}
