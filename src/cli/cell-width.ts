/**
 * Terminal cells a line takes, and a line cut to a width: escape sequences (our colours) take none,
 * combining marks and joiners none, East Asian wide characters and emoji two. A redraw that moves
 * up by the lines it drew is only right if none of them wrapped.
 */

/** A CSI sequence (colours, cursor moves): zero cells. */
const CSI = /\x1b\[[0-?]*[ -/]*[@-~]/y;
const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** East Asian Wide and Fullwidth blocks (Unicode's EastAsianWidth W/F), the ones text uses. */
const WIDE: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x115f], // Hangul Jamo initials
  [0x2e80, 0x303e], // CJK radicals, ideographic description, CJK symbols and punctuation
  [0x3041, 0x33ff], // kana, bopomofo, Hangul compatibility, CJK compatibility
  [0x3400, 0x4dbf], // CJK extension A
  [0x4e00, 0x9fff], // CJK unified ideographs
  [0xa000, 0xa4cf], // Yi
  [0xac00, 0xd7a3], // Hangul syllables
  [0xf900, 0xfaff], // CJK compatibility ideographs
  [0xfe30, 0xfe4f], // CJK compatibility forms
  [0xff00, 0xff60], // fullwidth forms
  [0xffe0, 0xffe6], // fullwidth signs
  [0x20000, 0x3fffd], // CJK extensions B…
];

function graphemeCells(g: string): number {
  const cp = g.codePointAt(0) ?? 0;
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || /^[\p{M}\p{Cf}]/u.test(g)) return 0;
  if (WIDE.some(([lo, hi]) => cp >= lo && cp <= hi)) return 2;
  // An emoji shown as one (presentation by default, or asked for with VS16), joined sequences too.
  return /\p{Emoji_Presentation}|\uFE0F/u.test(g) ? 2 : 1;
}

/** The line's pieces in order: escapes (zero cells) and graphemes with their cells. */
function* pieces(line: string): Generator<{ text: string; cells: number }> {
  let plain = "";
  const flush = function* () {
    for (const { segment } of graphemes.segment(plain)) yield { text: segment, cells: graphemeCells(segment) };
    plain = "";
  };
  for (let i = 0; i < line.length; ) {
    CSI.lastIndex = i;
    const csi = CSI.exec(line);
    if (csi) {
      yield* flush();
      yield { text: csi[0], cells: 0 };
      i = CSI.lastIndex;
    } else plain += line[i++];
  }
  yield* flush();
}

export function cellWidth(line: string): number {
  let n = 0;
  for (const p of pieces(line)) n += p.cells;
  return n;
}

/**
 * `line` when it fits in `columns` cells, else cut to `columns - 1` cells and `…`; a colour that was
 * on at the cut is reset after it, so it does not run on into the next line.
 */
export function fitToWidth(line: string, columns: number): string {
  if (cellWidth(line) <= columns) return line;
  const room = Math.max(0, columns - 1);
  let out = "";
  let used = 0;
  let painted = false;
  for (const p of pieces(line)) {
    if (p.cells === 0) {
      // Escapes before the cut keep their effect; an SGR other than a reset leaves colour on.
      if (p.text.endsWith("m")) painted = !/^\x1b\[0?m$/.test(p.text);
      out += p.text;
      continue;
    }
    if (used + p.cells > room) break;
    out += p.text;
    used += p.cells;
  }
  return `${out}…${painted ? "\x1b[0m" : ""}`;
}
