/**
 * Progress as a screen shows it: whether a busy spinner is on it, and a key of its text that a
 * spinner, a blinking mark or a working title does not change (the stall and question timers count
 * from the last change of this key). Pure functions over an agent profile.
 */
import type { AgentProfile } from "./types.js";

/** A busy spinner is on screen, or the title says the agent works. */
export function isBusy(profile: AgentProfile, screen: readonly string[], title: string | null): boolean {
  if (title && profile.titles.some((t) => t.means === "working" && t.pattern.test(title))) return true;
  return screen.some((l) => profile.busy.some((re) => re.test(l)));
}

// Spinner glyphs: braille (gemini, many CLIs), claude's ·✢✳✶✻✽, dots, circles, bars.
const GLYPHS = /[\u2800-\u28ff·✢✳✶✻✽✺⏺●○◐◓◑◒◴◷◶◵⣾⣽⣻⢿⡿⣟⣯⣷|/\\*-]/g;

/**
 * What counts as progress on screen: the rendered text, with spinner glyphs of busy lines, the
 * profile's blinking marks and the title's glyphs left out. A spinner that only spins (its counter
 * frozen) or a blinking mark leaves this unchanged.
 */
export function progressKey(profile: AgentProfile, screen: readonly string[], title: string | null): string {
  // Allocation-free in the common case (issue 13: ~4–5 KB an output event went to an array of the
  // screen, an empty `blinking` array and a closure's boxed hash per line and character): the
  // hash lives in a local, a line is only copied when a blinking mark or a spinner changes it.
  const blinking = profile.blinking;
  let h = FNV_OFFSET;
  for (const row of screen) {
    let line = row;
    if (blinking !== undefined) for (const re of blinking) line = line.replace(re, spaces);
    h = mixLine(h, isBusyLine(profile, line) ? line.replace(GLYPHS, "") : line);
  }
  // A title the profile knows counts by what it means: codex blinks `[ . ]`/`[ ! ] Action Required`
  // every half second while it asks, which is not progress (the question would never settle).
  const meant = title ? profile.titles.find((t) => t.pattern.test(title))?.means : undefined;
  h = mixLine(h, meant ?? (title ? title.replace(GLYPHS, "") : ""));
  return h.toString(36);
}

const FNV_OFFSET = 0x811c9dc5;
const spaces = (m: string) => " ".repeat(m.length);
function isBusyLine(profile: AgentProfile, line: string): boolean {
  for (const re of profile.busy) if (re.test(line)) return true;
  return false;
}
/** FNV-1a over a line's UTF-16 units, then a newline, so ["ab"] and ["a", "b"] differ. */
function mixLine(hash: number, s: string): number {
  let h = hash;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return Math.imul(h ^ 10, 0x01000193) >>> 0;
}
