/**
 * The notes printed above the live table (failures, answers, accounts), kept so that a screen cleared
 * for a redraw (the terminal got narrower) shows them again: they were history, gone with the clear.
 */
import { cellWidth } from "./cell-width.js";

/** More than any screen has rows: each note takes one at least. */
const KEEP = 500;

/** Screen rows `text` takes `columns` wide, wrapped. */
export function rowsOf(text: string, columns: number): number {
  return text.split("\n").reduce((n, line) => n + Math.max(1, Math.ceil(cellWidth(line) / columns)), 0);
}

export interface KeptNotes {
  /** Notes just printed: kept, the oldest let go past KEEP. */
  printed(notes: readonly string[]): void;
  /** The newest kept notes that fit in `rows` rows `columns` wide, oldest first. */
  fitting(rows: number, columns: number): string[];
}

export function keptNotes(): KeptNotes {
  const kept: string[] = [];
  return {
    printed(notes) {
      kept.push(...notes);
      if (kept.length > KEEP) kept.splice(0, kept.length - KEEP);
    },
    fitting(rows, columns) {
      let used = 0;
      let from = kept.length;
      while (from > 0 && used + rowsOf(kept[from - 1] as string, columns) <= rows)
        used += rowsOf(kept[--from] as string, columns);
      return kept.slice(from);
    },
  };
}
