/**
 * Is the agent waiting for an answer, and what does it ask? Read from the whole rendered screen
 * and the window title, not from the last lines only: TUIs draw a footer ("Enter to confirm ·
 * Esc to cancel", a status bar) under their question, and a menu's question sits above its
 * choices. Pure; the session machine calls it once the screen has been quiet for `inputQuiet`.
 */
import { DEFAULT_INPUT_WAIT_PATTERNS, type InputWaitPattern, matchInputWait } from "../classify-output.js";
import { contentOf } from "./screen-lines.js";
import { isBusy } from "./progress-key.js";
import type { AgentProfile, Question, QuestionKind } from "./types.js";

/** `❯ 1. Yes, proceed`, `  2. No, exit`, `● 1. Trust folder`, `3) Don't trust`. */
const OPTION = /^(?:[❯›>●○◉◯▶►→*]\s*)?(\d{1,2})[.)]\s+(\S.*)$/;
const SELECTED = /^[❯›>●◉▶►→*]/;
/** An unnumbered menu's selected line (claude 2.1's trust dialog: `❯ No, exit` over `  Yes, I trust…`). */
const MARKED = /^(\s*)❯\s(\S.*)$/;
/** A `❯` prompt line, empty or not: a dialog has one selector, a composer under history is another. */
const PROMPT_MARK = /^\s*❯(?:\s|$)/;
/** Lines allowed under a menu (its footer, a status bar) for it to still be the open question. */
const MENU_TAIL = 8;
/** How far above the first choice the question may be (claude explains the risk in between). */
const QUESTION_REACH = 15;
/** A composer or a prompt line must be this close to the bottom. */
const BOTTOM = 6;

interface Row {
  text: string;
}

function rows(screen: readonly string[]): Row[] {
  return screen.map((l) => ({ text: contentOf(l).trim() })).filter((r) => r.text !== "");
}

interface Menu {
  first: number;
  last: number;
  choices: string[];
  /** The choices' rows, in order. */
  at: number[];
}

function findMenu(r: Row[]): Menu | null {
  let best: Menu | null = null;
  let cur: (Menu & { next: number }) | null = null;
  for (let i = 0; i < r.length; i++) {
    const m = OPTION.exec((r[i] as Row).text);
    if (!m) {
      // Descriptions may sit between two choices; a longer gap ends the menu.
      if (cur && i - cur.last > 2) cur = null;
      continue;
    }
    const n = Number(m[1]);
    const choice = `${n}. ${(m[2] as string).trim()}`;
    if (n === 1) cur = { first: i, last: i, next: 2, choices: [choice], at: [i] };
    else if (cur && n === cur.next && i - cur.last <= 3) {
      cur.last = i;
      cur.next++;
      cur.choices.push(choice);
      cur.at.push(i);
    } else cur = null;
    if (cur && cur.choices.length >= 2)
      best = { first: cur.first, last: cur.last, choices: [...cur.choices], at: [...cur.at] };
  }
  if (!best || r.length - 1 - best.last > MENU_TAIL) return null;
  // A numbered list is a menu when one choice is selected or a question sits above it
  // (gemini's "Tips for getting started:" 1…4 is neither).
  const selected = r.slice(best.first, best.last + 1).some((x) => SELECTED.test(x.text));
  return selected || questionAbove(r, best.first, true) ? best : null;
}

/** Choices without numbers, aligned under the selected `❯` line; on the raw screen (indentation matters). */
function findMarkedMenu(screen: readonly string[]): { line: number; choices: string[]; selected: number } | null {
  for (let i = screen.length - 1; i >= 0; i--) {
    const m = MARKED.exec(screen[i] as string);
    if (!m) continue;
    const col = (m[1] as string).length + 2;
    const sibling = (l: string | undefined) =>
      l !== undefined && l.length > col && l.slice(0, col).trim() === "" && l[col] !== " ";
    let first = i;
    while (sibling(screen[first - 1])) first--;
    let last = i;
    while (sibling(screen[last + 1])) last++;
    if (last === first) continue;
    // A `❯` prompt below (claude's idle composer) makes this one history: claude echoes a prompt of
    // several lines as `❯ first` over its indented rest, the shape of a menu (a field review: a short
    // answer under it was taken for an approval whose choices were the user's own lines).
    if (screen.slice(last + 1).some((l) => PROMPT_MARK.test(l))) return null;
    const choices = screen.slice(first, last + 1).map((l) => l.slice(col).trim());
    const below = screen.slice(last + 1).filter((l) => contentOf(l).trim() !== "").length;
    return below <= MENU_TAIL ? { line: first, choices, selected: i - first } : null;
  }
  return null;
}

/** The question a menu answers: the nearest line above ending in "?", else one with a "? " inside. */
function questionAbove(r: Row[], first: number, strict = false): string | null {
  const near = r.slice(Math.max(0, first - QUESTION_REACH), first);
  // Not past another list's choice: a question above it is that list's (gemini, restarted to apply
  // trust, drew its numbered tips under the old trust box, read as a trust menu: a field review).
  const reach = near.slice(near.findLastIndex((x) => OPTION.test(x.text)) + 1).reverse();
  const ends = reach.find((x) => /\?\s*$/.test(x.text));
  if (ends) return ends.text;
  const inside = reach.find((x) => /\?\s/.test(x.text));
  if (inside) return inside.text.slice(0, inside.text.indexOf("?") + 1);
  if (strict) return null;
  const above = r[first - 1];
  return above && !OPTION.test(above.text) ? above.text : null;
}

function kindOf(text: string, fallback: QuestionKind): QuestionKind {
  if (/\btrust\b/i.test(text)) return "trust";
  // codex 0.171: "Would you like to run the following command?" (a field review saw it called a menu).
  if (/\b(?:allow|approve|permission|proceed|(?:want|like) to (?:run|make|create|edit|apply))\b/i.test(text))
    return "approval";
  return fallback;
}

/**
 * The open question on the screen, or null. `patterns`: the built-in line patterns plus the
 * user's, applied to the bottom lines (a `?` higher up is the agent's prose, not a prompt).
 */
export function findQuestion(
  profile: AgentProfile,
  screen: readonly string[],
  title: string | null,
  patterns: readonly (InputWaitPattern | string)[] = DEFAULT_INPUT_WAIT_PATTERNS,
  /** The question the session's last input answered: that line with the answer after it is no question. */
  answered: string | null = null,
): Question | null {
  const r = rows(screen);
  const titled = title ? profile.titles.find((t) => t.pattern.test(title))?.means : undefined;
  const busy = isBusy(profile, screen, title);
  const asking = titled === "action_required";

  const menu = !busy || asking ? findMenu(r) : null;
  if (menu) {
    const text = questionAbove(r, menu.first) ?? (title?.trim() || "choose one");
    // A numbered list above the CLI's own ready composer is the model's (an answer asking "Do you want
    // to proceed?" over "1. Yes / 2. No"): the composer waits, in that question's words. The CLIs' own
    // menus take the composer's place (a field review: the model's list read as an approval, and
    // `answers` typed "1" into the composer every 1.5 s).
    if (!asking && (readyComposer(profile, r, title)?.at ?? -1) > menu.last)
      return { kind: "composer", text, choices: [], pattern: "composer" };
    const selected = menu.at.findIndex((i) => SELECTED.test((r[i] as Row).text));
    return {
      kind: kindOf(text, "menu"),
      text,
      choices: menu.choices,
      pattern: "menu",
      ...(selected >= 0 ? { selected } : {}),
    };
  }
  const marked = !busy || asking ? findMarkedMenu(screen) : null;
  if (marked) {
    const above = rows(screen.slice(0, marked.line));
    const text = questionAbove(above, above.length) ?? (title?.trim() || "choose one");
    return { kind: kindOf(text, "menu"), text, choices: marked.choices, pattern: "menu", selected: marked.selected };
  }
  const line =
    busy && !asking
      ? null
      : matchInputWait(
          r.map((x) => x.text),
          [...patterns, ...profile.questions],
          answered,
        );
  if (asking) {
    const text = line?.line ?? r.slice(-BOTTOM).findLast((x) => /\?$/.test(x.text))?.text ?? (title as string).trim();
    return { kind: kindOf(text, "approval"), text, choices: [], pattern: "title:action_required" };
  }
  const composer = busy ? null : readyComposer(profile, r, title);
  if (line) {
    // A question the agent wrote above its own ready composer (claude's `⎿ Interrupted · What should
    // Claude do instead?`, a turn's answer ending "Shall I go on?") waits for its next message: the
    // composer, asked in that line's words. As a `prompt` it failed the idle TUI as unanswered after
    // inputWaitTimeoutMs, and held type-ahead that waits for the composer.
    const at = r.findLastIndex((x) => x.text === line.line.trim());
    if (composer && at >= 0 && at < composer.at)
      return { kind: "composer", text: line.line.trim(), choices: [], pattern: "composer" };
    return { kind: kindOf(line.line, "prompt"), text: line.line, choices: [], pattern: line.pattern };
  }
  if (busy) return null;
  if (composer) return { kind: "composer", text: composer.text, choices: [], pattern: "composer" };
  if (titled === "ready")
    return { kind: "composer", text: (title as string).trim(), choices: [], pattern: "title:ready" };
  return null;
}

/** The agent's composer near the bottom, drawn and ready for input: its row in `r`, or null. */
function readyComposer(profile: AgentProfile, r: Row[], title: string | null): { at: number; text: string } | null {
  const from = Math.max(0, r.length - BOTTOM);
  // The lowest: codex draws the turn's own prompt with the same `›` just above the composer.
  // Not a numbered choice: codex's `› 1. Yes, proceed (y)` has its composer's mark.
  const at = r.findLastIndex(
    (x, i) => i >= from && !OPTION.test(x.text) && profile.composer.some((re) => re.test(x.text)),
  );
  if (at < 0) return null;
  const below = r.slice(at + 1).map((x) => x.text);
  return (profile.composerReady?.(title, below) ?? true) ? { at, text: (r[at] as Row).text } : null;
}
