/**
 * The one ANSI stripper: screens, classifiers and the CLI all read text through it. Pure (no I/O),
 * so machines may use it too.
 */

// CSI (7-bit and C1), OSC (BEL or ST), DCS/SOS/PM/APC strings, and other ESC sequences.
const ANSI_RE =
  /(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[PX^_][^\x1b]*\x1b\\|\x1b[ -/]*[0-~]/g;
// Remaining C0 controls except TAB, LF, CR (BEL, BS, stray ESC, ...).
const CTRL_RE = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;

/** Remove escape sequences and control characters; keeps \t, \n and \r. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI_RE, "").replace(CTRL_RE, "");
}
