/**
 * The ink of a screen row's words, as the screen actor reads it (actors/xterm-screen.ts `rowInk`): one
 * number per row, so a reading carries it as cheaply as its text. A TUI draws its own errors in its
 * theme's colours and the model's answer in the terminal's default foreground; the words alone cannot
 * tell `● API Error: Request rejected (429)` claude printed from the same words the model wrote
 * (a field review: a healthy claude whose answer quoted its error was restarted or ended).
 */

/** The terminal's default foreground: text as the program left it, a model's answer. */
export const DEFAULT_INK = -1;
/**
 * Plain text, never drawn (no escape at all in the run's output, actors/screen-tail.ts): the default
 * foreground too, and a program that prints so draws no colour to tell by: a one-shot's text.
 */
export const PLAIN_INK = -2;
/** 256 + 0xRRGGBB: a 24-bit colour. Below it, 0–255: an index into the 256-colour palette. */
export const RGB_INK = 256;

/** The 6 levels of the 256-colour palette's 6×6×6 cube (xterm's). */
const CUBE = [0, 95, 135, 175, 215, 255] as const;

/** The ink as red, green, blue (0–255); null for the default foreground or the 16 themable colours. */
function rgbOf(ink: number): [number, number, number] | null {
  if (ink >= RGB_INK) {
    const v = ink - RGB_INK;
    return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
  }
  if (ink < 16) return null;
  if (ink >= 232) {
    const grey = 8 + (ink - 232) * 10;
    return [grey, grey, grey];
  }
  const i = ink - 16;
  return [CUBE[Math.floor(i / 36)] as number, CUBE[Math.floor(i / 6) % 6] as number, CUBE[i % 6] as number];
}

/** Red, yellow and their bright forms among the 16 colours a terminal's theme defines. */
const WARM_BASIC = new Set([1, 3, 9, 11]);

/**
 * An error's or a warning's colour: saturated, between magenta-red and yellow (hue 330°–60°). claude
 * 2.1 draws its errors `#ff6b80` and its API errors' `●` and words `#ffc107` (dark theme; its light
 * theme's are darker shades of the same hues, its ANSI themes' red and yellow); the model's words are
 * in the default foreground, its inline code blue-grey, a tool's output grey `#999999`.
 */
export function warmInk(ink: number): boolean {
  if (ink === DEFAULT_INK) return false;
  if (ink < 16) return WARM_BASIC.has(ink);
  const rgb = rgbOf(ink);
  if (!rgb) return false;
  const [r, g, b] = rgb;
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  if (max < 80 || (max - min) / max < 0.35) return false;
  const d = max - min;
  const hue = max === r ? (60 * (g - b)) / d : max === g ? 60 * ((b - r) / d + 2) : 60 * ((r - g) / d + 4);
  const h = (hue + 360) % 360;
  return h >= 330 || h <= 60;
}

/** A row that is one whole JSON object: a stream event (`--output-format stream-json`, `--json`). */
const wholeJson = (row: string) => row.startsWith("{") && row.endsWith("}");

/**
 * The screen with the rows a CLI's `ownInk` disowns blanked (kept as "" so rows stay where they
 * were: a blank row ends a wrapped line for `unwrapRows`). A stream event's row is kept: of those,
 * only error events are read (own-lines.ts); a long event's wrapped rows, pieces of the model's
 * words among them, are not. So is the CLI's busy line (`busy`), its own whatever its ink: codex's
 * `• Reconnecting... waiting for network (3s • esc to interrupt)` is dim (live codex/tui-refused).
 * Inks that do not fit the screen row for row (a producer without them, a screen cut short) leave it
 * as it is.
 */
export function ownRows(
  screen: readonly string[],
  inks: readonly number[] | undefined,
  ownInk: ((ink: number) => boolean) | undefined,
  busy: readonly RegExp[] = [],
): readonly string[] {
  if (!ownInk || !inks || inks.length !== screen.length) return screen;
  let out: string[] | null = null;
  for (let i = 0; i < screen.length; i++) {
    const row = screen[i] as string;
    if (row === "" || ownInk(inks[i] as number) || wholeJson(row) || busy.some((re) => re.test(row))) continue;
    out ??= screen.slice();
    out[i] = "";
  }
  return out ?? screen;
}

/**
 * Whether a reading's inks can tell a CLI's words from the model's: some row has a colour, or the
 * text is plain (a one-shot's, judged at its exit: its answer may quote the CLI's error). A TUI
 * told `NO_COLOR=1` (or `FORCE_COLOR=0`) draws its errors in the default ink like everything else:
 * claude 2.1.332's `⎿ Invalid API key` and codex's `■ unexpected status 401` then have no colour, and
 * read by their ink they were no error at all (a field probe: the TUI sat at its composer, the key
 * refused). There the words judge (session.judgement.ts).
 */
export function inksDecide(inks: readonly number[] | undefined): boolean {
  if (!inks) return false;
  for (const ink of inks) if (ink !== DEFAULT_INK) return true;
  return false;
}

/**
 * Whether some row has a colour: the run draws colour, and its later readings' inks decide too. Not
 * plain text: a TUI's first bytes may come before its first escape (a field run: codex's refused key
 * sat at its composer once an early plain reading had counted as its colour).
 */
export function showsColour(inks: readonly number[] | undefined): boolean {
  if (!inks) return false;
  for (const ink of inks) if (ink >= 0) return true;
  return false;
}
