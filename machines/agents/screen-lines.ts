/**
 * Lines as the judgement reads them (judge.ts): a screen's or an output's lines without box frames,
 * wrapped rows joined again, a TUI's marks and busy tails told apart from the CLI's words. Pure.
 */

/** Box borders and the frame characters TUIs draw around dialogs. */
const BORDER_ONLY = /^[\s─━═╌┄╭╮╰╯┌┐└┘├┤┬┴┼│┃║╔╗╚╝▔▁-]*$/;
const FRAME = /^[\s│┃║|]+|[\s│┃║|]+$/g;

/** A screen or output line without its box frame; "" for a border or blank line. */
export function contentOf(line: string): string {
  return BORDER_ONLY.test(line) ? "" : line.replace(FRAME, "");
}

const MAX_LINE = 300;
export const clip = (s: string) => (s.length > MAX_LINE ? `${s.slice(0, MAX_LINE - 1)}…` : s);

/** A box's side, or a rule or block drawn across the screen: a frame, not words that wrapped. */
const FRAMED = /[│┃║─━═▀▄]\s*$/;

/**
 * A mark whose text goes on in rows indented under the text: claude's message bullet (`●`; `⏺` before
 * 2.1), gemini's error mark (`✕`). gemini wraps its error itself and cuts a word at the terminal's edge
 * (a field review, recorded tui-auth-401: `…"reason":"API_KEY_INV` + `  ALID"`): under `✕` a full row
 * goes on in the next one without its indent, so the API's words and reason read whole.
 */
const BULLET = /^(\s*)([●⏺✕])\s/;
/**
 * A TUI's mark in front of its words: claude's message bullet and busy-line spinner (`✻ 5-hour limit
 * reached · retrying…`), codex's error block (`■ You’ve hit your usage limit…`), gemini's (`✕ [API Error: …]`),
 * the tree marks under a message (claude's `⎿  Invalid API key`, codex's `└ Unexpected status 401`).
 * Not part of lastError.
 */
export const UI_MARK = /^[●⏺✻✶✳✢✽■✕•⎿└]\s+/;
/** A busy line's own tail (`(3s • esc to interrupt)`, `(esc to cancel, 25s)`): the TUI's, not the error's. */
export const BUSY_TAIL = /\s*\((?:[^()]*\s)?(?:esc|ctrl\+c) to (?:interrupt|cancel)\b[^()]*\)\s*$/i;

/**
 * The screen with wrapped rows joined again, so a long error reads as the CLI printed it:
 * - a row filled to the terminal's width (`cols`; else the widest row) continues on the next one,
 *   unless it is a box line or ends a sentence (a line exactly as wide as the terminal: the rows do
 *   not say which rows xterm wrapped);
 * - a row a TUI wrapped at a word of its own (codex's `■ You’ve hit your usage limit… visit
 *   https://chatgpt.com/settings/` + `usage to purchase more credits or try again at 2:18 PM.`)
 *   continues on the next when that one starts in lower case and its first word would not have
 *   fitted on this row of `cols` columns (a renderer breaks a line only there): joined with a space.
 *   Only with the terminal's width: the widest row of a short screen says nothing of it;
 * - a claude message the TUI wrapped itself continues in the rows indented under its `●` bullet's
 *   text: "● API Error: 529 … If it" + "  persists, check …"; gemini's `✕ [API Error: …]` the same,
 *   a word it cut at the edge joined whole.
 */
export function unwrapRows(screen: readonly string[], cols?: number): string[] {
  const width = Math.max(0, ...screen.map((r) => r.length));
  const out: string[] = [];
  let carry = "";
  let indent: string | null = null;
  let cutsWords = false;
  for (let i = 0; i < screen.length; i++) {
    let row = screen[i] as string;
    if (carry && cutsWords && indent !== null && hangs(row, indent)) row = row.slice(indent.length);
    const line = carry + row;
    // A row padded with blanks to the edge (claude's highlighted prompt row) was not cut by a wrap. A
    // sentence's end at the edge is one, unless the line is inside a quoted string there (a JSON error
    // cut after "…reported as leaked." went on with " Please use another API key.": live, lastError
    // lost its second sentence).
    const open = width >= 80 && !FRAMED.test(row) && (!/[.!?\s]$/.test(row) || inOpenQuote(line));
    // xterm wraps at the terminal's width; without it, the widest row stands in (a fixture's screen).
    const full = open && (cols === undefined ? row.length === width : row.length >= cols);
    const soft = open && !full && cols !== undefined && wordWrapped(row, screen[i + 1], cols);
    carry = full ? line : soft ? `${line} ` : "";
    if (full || soft) continue;
    if (indent !== null && hangs(line, indent)) {
      out[out.length - 1] += ` ${line.slice(indent.length)}`;
      continue;
    }
    const bullet = BULLET.exec(line);
    indent = bullet ? `${bullet[1]}  ` : null;
    cutsWords = bullet?.[2] === "✕";
    out.push(line);
  }
  if (carry) out.push(carry);
  return out;
}

/** A row indented under a mark's text: its text goes on there. */
const hangs = (row: string, indent: string) => row.startsWith(indent) && /^\S/.test(row.slice(indent.length));

/** The line ends inside a JSON string: an odd count of unescaped double quotes after a `{"`. */
function inOpenQuote(line: string): boolean {
  const from = line.indexOf('{"');
  if (from < 0) return false;
  return (line.slice(from).match(/(?<!\\)"/g)?.length ?? 0) % 2 === 1;
}

/** `next` starts a wrapped line's rest: lower case at its first column, a first word too long for `row`. */
function wordWrapped(row: string, next: string | undefined, width: number): boolean {
  if (next === undefined || !/^[a-z]/.test(next)) return false;
  const word = /^\S+/.exec(next)?.[0] ?? "";
  return row.length + 1 + word.length > width;
}

export const textLines = (raw: readonly string[]) => raw.map(contentOf).filter((l) => l !== "");
export const outputLines = (e: { recentOutput: string }) => textLines(e.recentOutput.split(/\r?\n/));

/** A run's evidence as lines: its output first (unwrapped), then its screen. */
export function evidenceLines(e: { recentOutput: string; screen: readonly string[] }): string[] {
  // Output first (unwrapped), then the screen (what a TUI drew with cursor moves).
  return [...outputLines(e), ...textLines(e.screen)];
}
