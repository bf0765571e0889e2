/**
 * Named keys → the bytes a terminal sends for them (xterm, normal cursor mode), in one table: a
 * menu is answered with `["Down", "Enter"]`, a stalled TUI nudged with `["Esc"]`. Any other
 * one-character string is sent as itself, so `["2", "Enter"]` picks choice 2.
 */
export const KEY_BYTES: Readonly<Record<string, string>> = Object.freeze({
  enter: "\r",
  return: "\r",
  esc: "\x1b",
  escape: "\x1b",
  tab: "\t",
  "shift-tab": "\x1b[Z",
  backspace: "\x7f",
  delete: "\x1b[3~",
  space: " ",
  up: "\x1b[A",
  down: "\x1b[B",
  right: "\x1b[C",
  left: "\x1b[D",
  home: "\x1b[H",
  end: "\x1b[F",
  pageup: "\x1b[5~",
  pagedown: "\x1b[6~",
  "ctrl-a": "\x01",
  "ctrl-c": "\x03",
  "ctrl-d": "\x04",
  "ctrl-e": "\x05",
  "ctrl-l": "\x0c",
  "ctrl-u": "\x15",
  "ctrl-z": "\x1a",
});

/** The bytes of one key, or null when it is neither a named key nor a single character. */
export function keyBytes(key: string): string | null {
  // tmux's and Emacs's spelling too: C-c is Ctrl-C.
  const name = key
    .toLowerCase()
    .replace(/\s+|\+|_/g, (m) => (m.trim() ? "-" : ""))
    .replace(/^c-(?=.$)/, "ctrl-");
  const named = KEY_BYTES[name];
  if (named !== undefined) return named;
  return [...key].length === 1 ? key : null;
}

/** Bytes for a key sequence; throws naming the first unknown key (validate at config time). */
export function keysToBytes(keys: readonly string[]): string {
  return keys
    .map((k) => {
      const b = keyBytes(k);
      if (b === null) {
        throw new TypeError(
          `unknown key ${JSON.stringify(k)}: use a name (${Object.keys(KEY_BYTES).join(", ")}) or one character, e.g. ["2", "Enter"]`,
        );
      }
      return b;
    })
    .join("");
}

/** Unknown keys of a sequence (empty when every key is known). */
export const unknownKeys = (keys: readonly string[]) => keys.filter((k) => keyBytes(k) === null);
