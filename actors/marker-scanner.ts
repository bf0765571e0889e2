/**
 * The exit shim's in-band marker (pty-shim.ts): `ESC ] 7770 ; <nonce> ; <status> BEL`, found in a
 * stream of output without holding back more than the marker's own length, and its status read
 * as the shell's exit code or signal.
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:os";

/** OSC number for the marker: private-use range, terminals ignore unknown OSCs. */
export const MARKER_OSC = "7770";

/** 128 random bits, hex: unguessable by typed input. The agent can read it in /proc: see shimChildless. */
export function makeNonce(): string {
  return randomBytes(16).toString("hex");
}

export interface ScanResult {
  /** Output before the marker (or all of the chunk, minus any held-back partial marker). */
  before: string;
  /** Exit status carried by the marker, when this chunk completed it. */
  status?: number;
  /** Output after the marker (only when status is set). */
  after: string;
}

/**
 * Streaming marker finder. Holds back only a suffix that could still become the marker, so
 * output is delayed by at most marker-length bytes. After the marker is found, everything
 * passes through untouched. Works on any string; pty-process feeds latin1 so bytes are exact.
 */
export class MarkerScanner {
  private readonly prefix: string;
  private held = "";
  private found = false;

  /** `genuine`: asked for each well-formed marker; false makes it output (a forgery), and the scan goes on. */
  constructor(
    nonce: string,
    osc = MARKER_OSC,
    private readonly genuine: () => boolean = () => true,
  ) {
    this.prefix = `\x1b]${osc};${nonce};`;
  }

  get markerSeen(): boolean {
    return this.found;
  }

  /** Part of a possible marker is held back: the next chunk must be scanned even without an ESC. */
  get holding(): boolean {
    return this.held !== "";
  }

  push(chunk: string): ScanResult {
    if (this.found) return { before: chunk, after: "" };
    const text = this.held + chunk;
    this.held = "";
    const plen = this.prefix.length;
    for (let at = text.indexOf(this.prefix); at >= 0; at = text.indexOf(this.prefix, at + 1)) {
      const m = /^(\d{1,3})\x07/.exec(text.slice(at + plen, at + plen + 4));
      if (m && this.genuine()) {
        this.found = true;
        const end = at + plen + m[0].length;
        return { before: text.slice(0, at), status: Number(m[1]), after: text.slice(end) };
      }
      if (!m && /^\d{0,3}$/.test(text.slice(at + plen))) {
        // Prefix complete, status/BEL still to come: hold from the prefix on.
        this.held = text.slice(at);
        return { before: text.slice(0, at), after: "" };
      }
      // Malformed: not our marker, keep looking.
    }
    const keep = this.partialSuffix(text);
    this.held = text.slice(text.length - keep);
    return { before: text.slice(0, text.length - keep), after: "" };
  }

  /** Whatever is held back, for when the stream ends without a marker. */
  flush(): string {
    const rest = this.held;
    this.held = "";
    return rest;
  }

  /** Length of the longest suffix of text that is a proper prefix of the marker prefix. */
  private partialSuffix(text: string): number {
    const max = Math.min(text.length, this.prefix.length - 1);
    for (let k = max; k > 0; k--) {
      if (this.prefix.startsWith(text.slice(text.length - k))) return k;
    }
    return 0;
  }
}

/**
 * Shell status → exit code / signal, the bash convention: 128+n means "killed by signal n".
 * Ambiguous by design: a program that calls exit(130) looks exactly like one killed by
 * SIGINT. Statuses above 128 with no known signal stay exit codes.
 */
export function statusToExit(status: number): { exitCode: number | null; signal: string | null } {
  if (status > 128 && status < 128 + 65) {
    const n = status - 128;
    const name = signalName(n);
    if (name) return { exitCode: null, signal: name };
  }
  return { exitCode: status, signal: null };
}

export function signalName(n: number): string | null {
  for (const [name, num] of Object.entries(constants.signals)) if (num === n) return name;
  return null;
}
