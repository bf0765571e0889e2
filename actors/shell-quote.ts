/**
 * Quoting for the two languages remote sessions speak, and the names they put into them.
 * The seed pasted session ids into `ssh host psmux ... -t <id>` unquoted, so an id could run
 * commands on the remote host. Here every value is quoted, and names we create are checked too.
 */

export class QuoteError extends Error {
  override name = "QuoteError";
}

/** POSIX sh: inside single quotes nothing is special; a `'` is closed, escaped and reopened. */
export function shQuote(value: string): string {
  if (value.includes("\0")) throw new QuoteError("a NUL byte cannot be passed on a command line");
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A whole argv as one POSIX command line (for ssh exec, which always goes through a shell). */
export function shJoin(argv: readonly string[]): string {
  return argv.map(shQuote).join(" ");
}

// Bytes that mean nothing to tmux's parser inside double quotes. Everything else ($ ~ # \ " '
// ; { } newlines, control and non-ASCII bytes) becomes an octal escape, which tmux decodes
// to the byte itself: no variable, tilde or format expansion, no line break in control mode.
const TMUX_SAFE = /^[A-Za-z0-9 _./,:@%+=-]$/;

/** One argument of a tmux command (control mode stdin or `tmux` argv parsed by tmux itself). */
export function tmuxQuote(value: string): string {
  if (value.includes("\0")) throw new QuoteError("a NUL byte cannot be passed to tmux");
  let out = '"';
  for (const byte of Buffer.from(value, "utf8")) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && TMUX_SAFE.test(ch) ? ch : `\\${byte.toString(8).padStart(3, "0")}`;
  }
  return `${out}"`;
}

/** A tmux command line: each command's words quoted, commands joined by tmux's ` ; `. */
export function tmuxLine(commands: readonly (readonly string[])[]): string {
  return commands.map(([name, ...args]) => [name, ...args.map(tmuxQuote)].join(" ")).join(" ; ");
}

// C0, DEL and C1 controls: never part of a name a person reads in `tmux ls`.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;

export class TmuxNameError extends Error {
  override name = "TmuxNameError";
}

/**
 * Names of sessions we create. `:` and `.` separate session, window and pane in a target;
 * tmux expands `#{...}` formats in `new-session -s` (a name `a#{pane_id}` becomes `a%0`), and
 * a leading `$` makes even an exact target (`=$x:`) look up a session id.
 * Anything else (spaces, `;`, `$(...)`, quotes, unicode) is allowed: it is always quoted.
 */
export function checkSessionName(name: string, what = "session name"): string {
  const problem =
    typeof name !== "string" || name === ""
      ? "is empty"
      : name.length > 128
        ? "is longer than 128 characters"
        : CONTROL.test(name)
          ? "contains a control character (newline, escape, ...)"
          : /[:.]/.test(name)
            ? "contains ':' or '.', which tmux reads as window/pane separators"
            : name.includes("#")
              ? "contains '#', which tmux expands as a format"
              : /^[=$@%-]/.test(name)
                ? "starts with '$', '@', '%', '=' or '-', which tmux reads as an id, exact-match prefix or flag"
                : null;
  if (problem) {
    throw new TmuxNameError(
      `tmux ${what} ${JSON.stringify(name)} ${problem}; use letters, digits, '-' and '_', e.g. "review-1"`,
    );
  }
  return name;
}

/** A pane target given by the user (`name:0.1`, `%12`, `@3`): checked, then quoted like any value. */
export function checkTarget(target: string): string {
  const problem =
    typeof target !== "string" || target === ""
      ? "is empty"
      : target.length > 256
        ? "is longer than 256 characters"
        : CONTROL.test(target)
          ? "contains a control character"
          : target.includes("#")
            ? "contains '#', which tmux expands as a format"
            : null;
  if (problem)
    throw new TmuxNameError(`tmux pane target ${JSON.stringify(target)} ${problem}; e.g. "review-1:0.0" or "%12"`);
  return target;
}

/** `tmux -L <socket>`: a file name under tmux's socket directory. */
export function checkSocketName(name: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
    throw new TmuxNameError(
      `tmux socket name ${JSON.stringify(name)} must be 1-64 letters, digits, '-' or '_', e.g. "conductor"`,
    );
  }
  return name;
}

/** Exact-match session target: `=name:` never falls back to prefix or pattern matching. */
export const exactSession = (name: string) => `=${name}:`;
