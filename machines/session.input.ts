/**
 * Input for a session: what `sendInput`/`sendKeys` become on the child's terminal, and the type-ahead
 * kept for a run whose child is not running yet (the first, or one `restartSession` began). Pure (the
 * chart's guards and actions and the facade's answer share these), no I/O.
 *
 * Why type-ahead: the seed spawned its child inside `spawnSession`, so `spawnSession(c); sendInput(id,
 * "go")` reached the child. Ours spawns asynchronously (a spawn queue, a spawn helper, an account
 * lease first), and the same two lines returned false and sent nothing. Until the session's first
 * child runs, input is kept in the chart's context and written, in order, once it has spawned (a TUI:
 * once it waits at its composer): as a terminal keeps what is typed ahead of a program. Only until
 * then: input sent between two later runs was meant for the run that ended, so it is refused.
 */
import type { SessionEvent } from "./session.context.js";
import { type JudgedContext, oneShotRun, profileOf } from "./session.judgement.js";
import { keyBytes, keysToBytes } from "./session.keys.js";
import { STATES, type WriteCommand } from "./session.types.js";

/** At most this much type-ahead (UTF-16 units, summed): past it, `sendInput` refuses as before. */
export const TYPE_AHEAD_MAX_CHARS = 64 * 1024;

/**
 * The text, then Enter: at once, or after the profile's `submitDelayMs` (the three CLIs take an
 * Enter that comes with the text for part of a paste). Enter is CR, as a keyboard sends it: TUIs in
 * raw mode wait for \r, and a line-mode terminal turns it into \n (ICRNL), so line readers see
 * "text\n" as in the seed.
 */
function typedInput(text: string, submitDelayMs: number | undefined, paste: boolean): WriteCommand {
  const pasted = paste && text !== "" ? { paste: true as const } : {};
  return submitDelayMs === undefined
    ? { data: `${text}\r`, ...pasted }
    : { data: text, after: { data: "\r", delayMs: submitDelayMs }, ...pasted };
}

/**
 * What an INPUT or KEYS event writes to the child. Text goes as a paste unless it answers a question
 * that takes a key (a menu, an approval, a trust dialog, a y/n line): typed in one burst, a TUI reads
 * it key by key faster than it redraws, and gemini 0.61 took the `?` of "did I give you? One short
 * sentence." as its shortcuts key (its empty-prompt check saw the state before the burst), dropping it.
 */
export function inputCommand(
  c: JudgedContext & Pick<InputGate, "inputWait" | "state">,
  event: SessionEvent,
): WriteCommand {
  if (event.type === "KEYS") return { data: keysToBytes(event.keys) };
  const asked = c.state === STATES.INPUT_WAIT ? c.inputWait?.kind : undefined;
  const free = asked === undefined || asked === "composer";
  return typedInput(event.type === "INPUT" ? event.text : "", profileOf(c).submitDelayMs, free);
}

/**
 * What is wrong with an INPUT or KEYS event an embedder sent the chart itself (the facade checks its
 * calls first): text that is no string, keys that are no array of key names. Null when it is fine.
 */
export function inputProblem(event: SessionEvent): string | null {
  if (event.type === "INPUT") {
    const text = (event as { text?: unknown }).text;
    return typeof text === "string" ? null : `INPUT.text must be a string, got ${text === null ? "null" : typeof text}`;
  }
  if (event.type !== "KEYS") return null;
  const keys = (event as { keys?: unknown }).keys;
  if (!Array.isArray(keys))
    return `KEYS.keys must be an array of key names, e.g. ["Down", "Enter"], got ${typeof keys}`;
  const bad = keys.find((k) => typeof k !== "string" || keyBytes(k) === null);
  return bad === undefined
    ? null
    : `KEYS.keys: unknown key ${JSON.stringify(bad) ?? String(bad)} (a name such as "Enter", "Esc", "Ctrl-C", or one character)`;
}

/** Keys that only move a menu's selection: no answer (`["Down"]`, then `["Enter"]` later, is one). */
const MOVES = new Set(
  ["up", "down", "left", "right", "home", "end", "pageup", "pagedown", "tab", "shift-tab"].map(keyBytes),
);

/** The input answers what is asked: text with its Enter, or keys that do more than move (Enter, `2`, `y`, Esc). */
export function answersQuestion(event: SessionEvent): boolean {
  if (event.type === "INPUT") return true;
  return event.type === "KEYS" && event.keys.some((k) => !MOVES.has(keyBytes(k)));
}

/** Questions answered by a key: a digit or a shortcut picks the choice, and an Enter after it is one more key. */
export const SELECTION_KINDS: ReadonlySet<string> = new Set(["menu", "approval", "trust"]);

/**
 * Text typed at a menu (`sendInput(id, "1")`) whose Enter comes later (the profile's `submitDelayMs`):
 * the Enter is the chart's to send, once it is due and only if the text did not answer the menu. The
 * three CLIs take the digit as the answer at once, so the Enter went to whatever came next: a second
 * approval drawn behind the first, approved unseen (a field review: claude's and codex's two tool
 * calls in one answer; an `rm -rf` nobody was asked about ran).
 */
export function submitsLater(c: InputGate, event: SessionEvent): boolean {
  return (
    event.type === "INPUT" &&
    c.state === STATES.INPUT_WAIT &&
    SELECTION_KINDS.has(c.inputWait?.kind ?? "") &&
    profileOf(c).submitDelayMs !== undefined
  );
}

/** A choice's words without its number: `1. Yes, proceed (y)` → `yes, proceed (y)`. */
const label = (choice: string) =>
  choice
    .replace(/^\d{1,2}[.)]\s*/, "")
    .trim()
    .toLowerCase();

/**
 * The choice that text sent to a menu names: its number (`2`), its words (`No`, `yes, proceed`: the
 * one choice they begin), or its shortcut (`y` for `Yes, proceed (y)`); -1 when it names none.
 */
export function chosenBy(choices: readonly string[], text: string): number {
  const t = text.trim().toLowerCase();
  if (/^\d{1,2}$/.test(t)) return Number(t) >= 1 && Number(t) <= choices.length ? Number(t) - 1 : -1;
  const labels = choices.map(label);
  const exact = labels.indexOf(t);
  if (exact >= 0) return exact;
  const begun = labels.flatMap((l, i) => (t && l.startsWith(t) ? [i] : []));
  if (begun.length === 1) return begun[0] as number;
  const shortcut = labels.flatMap((l, i) => (t && l.endsWith(`(${t})`) ? [i] : []));
  return shortcut.length === 1 ? (shortcut[0] as number) : -1;
}

/**
 * What text sent to a menu writes. A numbered choice: its number (the three CLIs take it at once; the
 * Enter after it is the chart's, only if the number left the menu as it was). An unnumbered one
 * (claude's trust dialog): the arrows from the highlighted choice to it, then Enter. Text that names
 * no choice: as typed (a shortcut the CLI may know), never with an Enter, which would confirm the
 * highlighted choice whatever the text said (a field review: `sendInput(id, "No")` at claude's
 * approval typed two ignored letters and an Enter on `1. Yes`, and the `rm -rf` ran). Empty text is
 * that Enter, asked for.
 */
export function menuWrite(c: InputGate, text: string): { data: string; confirmLater: boolean } {
  const choices = c.inputWait?.choices ?? [];
  if (text.trim() === "") return { data: "\r", confirmLater: false };
  const target = chosenBy(choices, text);
  if (target < 0) return { data: text, confirmLater: false };
  if (choices.every((ch) => /^\d{1,2}[.)]/.test(ch))) return { data: String(target + 1), confirmLater: true };
  const from = c.inputWait?.selected;
  if (from === undefined) return { data: text, confirmLater: false };
  const moves = keysToBytes(Array(Math.abs(target - from)).fill(target > from ? "Down" : "Up"));
  return { data: `${moves}\r`, confirmLater: false };
}

export const charsOf = (w: WriteCommand): number => w.data.length + (w.after?.data.length ?? 0);

/** The part of a session's context input depends on. `typeAhead` is null once it was written. */
export interface InputGate extends JudgedContext {
  spec: NonNullable<JudgedContext["spec"]>;
  state: string;
  childRunning: boolean;
  inputWait: { kind: string; choices?: readonly string[]; selected?: number } | null;
  typeAhead: readonly WriteCommand[] | null;
}

/**
 * When the type-ahead is written: at the run's spawn, or, for a TUI with a composer (claude, codex,
 * gemini without a one-shot flag), when it first waits at its composer. codex draws its composer at
 * once but takes input only ~8 s later and loses what came before (measured, 0.171); and text typed
 * into a trust dialog or a menu would answer it.
 */
export function typeAheadAwaitsComposer(c: InputGate): boolean {
  return profileOf(c).composer.length > 0 && !oneShotRun(c);
}

/** The type-ahead can be written now: the child runs and, for a TUI, waits at its composer. */
export function typeAheadDue(c: InputGate): boolean {
  if (c.typeAhead === null || !c.childRunning) return false;
  return !typeAheadAwaitsComposer(c) || (c.state === STATES.INPUT_WAIT && c.inputWait?.kind === "composer");
}

/**
 * Whether input of `chars` is taken now: written to the running child, or kept as type-ahead. Input
 * sent while a child runs is written at once, as before, type-ahead or not: it answers what is on
 * screen (a trust dialog before the composer), which must not wait behind the type-ahead.
 */
export function takesInput(c: InputGate, chars: number): "write" | "keep" | false {
  if (c.childRunning) return "write";
  if (c.typeAhead === null) return false;
  return c.typeAhead.reduce((n, w) => n + charsOf(w), 0) + chars <= TYPE_AHEAD_MAX_CHARS ? "keep" : false;
}
