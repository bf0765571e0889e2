/**
 * Typed text delivered as a terminal delivers a paste. A program that turned bracketed paste on
 * (DECSET 2004: claude, codex and gemini do) gets it between `ESC [200~` and `ESC [201~`, so it
 * takes the whole as text, not as keys: gemini 0.61 read a `?` typed in one burst as its shortcuts
 * key and dropped it. A program that did not gets the bytes as they are (a line reader, the seed's).
 */
const START = "\x1b[200~";
const END = "\x1b[201~";

/**
 * `data` less a trailing Enter, bracketed: line ends as CR (what a terminal's paste sends), and no end
 * marker inside (text that carried one would end the paste early and have the rest taken as keys).
 */
export function pasteBytes(data: string, bracketed: boolean): string {
  if (!bracketed) return data;
  const { text, enter } = pasteParts(data);
  const body = text.replaceAll(END, "").replace(/\r?\n/g, "\r");
  return body === "" ? data : `${START}${body}${END}${enter ? "\r" : ""}`;
}

/** Typed text and its trailing Enter apart: the Enter stays a key after the paste (here and remote-pane.ts). */
export function pasteParts(data: string): { text: string; enter: boolean } {
  const enter = data.endsWith("\r");
  return { text: enter ? data.slice(0, -1) : data, enter };
}
