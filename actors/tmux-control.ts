/**
 * tmux control mode (`tmux -C`): reading what a control client prints, at a bounded pace, and
 * parsing it. No connection logic here, so the parser is tested on its own; the client that
 * owns the channel is `TmuxControl` in tmux-hub.ts.
 */
import { shQuote } from "./shell-quote.js";
import type { SshStream } from "./ssh-host.js";

/**
 * The command line that starts a control client on the hub session (created when missing).
 * `-f /dev/null`: a private server must not pick up the user's ~/.tmux.conf hooks and options.
 * The hub's placeholder is an argv (no shell, so no rc files run for it).
 */
export function controlClientCommand(program: string, socketName: string, hub: string): string {
  const argv = [program, "-L", socketName, "-f", "/dev/null", "-C", "new-session", "-A", "-s", hub];
  return [...argv, "tail", "-f", "/dev/null"].map(shQuote).join(" ");
}

export type ControlEvent =
  | { kind: "output"; pane: string; data: Buffer }
  /**
   * A command's answer. `fromClient`: the %begin line's flags say this client sent the command (1). A
   * command tmux runs later on its own behalf, such as the deferred command of `if-shell -b`, answers
   * in a block of flags 0, which is no answer to any line in flight (tmux 3.3, seen in `tmux -C`).
   */
  | { kind: "block"; ok: boolean; lines: string[]; fromClient: boolean }
  | { kind: "exit"; reason: string }
  | { kind: "notify"; name: string; args: string };

/** `%output` escapes bytes below 32 and `\` as `\ooo`; every other byte is sent as is. */
export function decodeOctal(latin1: string): Buffer {
  const out = Buffer.allocUnsafe(latin1.length);
  let n = 0;
  let from = 0;
  // Runs between escapes are copied natively; this is the hot path of every byte of output.
  for (let at = latin1.indexOf("\\"); at >= 0; at = latin1.indexOf("\\", from)) {
    const oct = latin1.slice(at + 1, at + 4);
    if (!/^[0-7]{3}$/.test(oct)) {
      n += out.write(latin1.slice(from, at + 1), n, "latin1");
      from = at + 1;
      continue;
    }
    n += out.write(latin1.slice(from, at), n, "latin1");
    out[n++] = parseInt(oct, 8) & 0xff;
    from = at + 4;
  }
  n += out.write(latin1.slice(from), n, "latin1");
  return out.subarray(0, n);
}

/** Splits the byte stream into lines and lines into events. Notifications never occur inside a block. */
export class ControlParser {
  private rest = Buffer.alloc(0);
  private block: { tag: string; lines: string[]; fromClient: boolean } | null = null;

  push(chunk: Buffer, emit: (e: ControlEvent) => void): void {
    let buf = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10)) {
      this.line(buf.toString("latin1", 0, nl), emit); // latin1: bytes 1:1, decoded per kind below
      buf = buf.subarray(nl + 1);
    }
    this.rest = Buffer.from(buf);
  }

  private line(line: string, emit: (e: ControlEvent) => void): void {
    if (this.block) {
      const m = /^%(end|error) (\S+ \S+ \S+)$/.exec(line);
      if (m && m[2] === this.block.tag) {
        emit({ kind: "block", ok: m[1] === "end", lines: this.block.lines, fromClient: this.block.fromClient });
        this.block = null;
      } else this.block.lines.push(Buffer.from(line, "latin1").toString("utf8"));
      return;
    }
    if (line.startsWith("%output ")) {
      const sp = line.indexOf(" ", 8);
      const pane = sp < 0 ? line.slice(8) : line.slice(8, sp);
      emit({ kind: "output", pane, data: sp < 0 ? Buffer.alloc(0) : decodeOctal(line.slice(sp + 1)) });
      return;
    }
    const tag = /^%begin (\S+ \S+ \S+)$/.exec(line)?.[1];
    if (tag !== undefined) {
      this.block = { tag, lines: [], fromClient: (Number(tag.split(" ")[2]) & 1) === 1 };
      return;
    }
    const text = Buffer.from(line, "latin1").toString("utf8");
    if (text === "%exit" || text.startsWith("%exit ")) emit({ kind: "exit", reason: text.slice(6) });
    else if (text.startsWith("%")) {
      const sp = text.indexOf(" ");
      emit({ kind: "notify", name: sp < 0 ? text : text.slice(0, sp), args: sp < 0 ? "" : text.slice(sp + 1) });
    }
  }
}

/** `%subscription-changed name $s @w idx %pane [future args] : value`. */
export function parseSubscription(args: string): { name: string; window: string; pane: string; value: string } | null {
  const m = /^(?<name>\S+) \S+ (?<window>\S+) \S+ (?<pane>\S+)(?: (?!:)\S+)* :(?: (?<value>.*))?$/.exec(args);
  const g = m?.groups;
  return g?.name && g.window && g.pane ? { name: g.name, window: g.window, pane: g.pane, value: g.value ?? "" } : null;
}

/** Parse at most this long per event-loop turn; pause the channel past INBOX_HIGH bytes queued. */
const SLICE_MS = 4;
const INBOX_HIGH = 1 << 20;

/**
 * Hands the channel's chunks to `handle` with bounded work per event-loop turn: libuv may hand
 * over megabytes in one turn when 20 panes print flat out. Past INBOX_HIGH the channel pauses,
 * so ssh flow control slows tmux down instead of the conductor's event loop absorbing it.
 * Returns a function that hands over at once whatever is still queued (for the channel's close).
 */
export function readPaced(
  stream: Pick<SshStream, "onData" | "pause" | "resume">,
  handle: (chunk: Buffer) => void,
): () => void {
  const inbox: Buffer[] = [];
  let queued = 0;
  let paused = false;
  let draining = false;
  const drain = () => {
    const until = performance.now() + SLICE_MS;
    for (let chunk = inbox.shift(); chunk; chunk = performance.now() < until ? inbox.shift() : undefined) {
      queued -= chunk.length;
      handle(chunk);
    }
    if (paused && queued < INBOX_HIGH / 4) {
      paused = false;
      stream.resume();
    }
    if (inbox.length) setImmediate(drain);
    else draining = false;
  };
  stream.onData((chunk) => {
    inbox.push(chunk);
    queued += chunk.length;
    if (!paused && queued > INBOX_HIGH) {
      paused = true;
      stream.pause();
    }
    if (!draining) {
      draining = true;
      setImmediate(drain);
    }
  });
  return () => {
    for (const chunk of inbox.splice(0)) handle(chunk);
  };
}

/** Where a control channel's events go: each pane's output batched per chunk, the rest in order. */
export interface ControlSink {
  /** Whether anyone listens to this pane's output now (unwanted output is dropped). */
  wants(pane: string): boolean;
  output(pane: string, data: Buffer): void;
  /** Every other event, after the output that came before it. */
  event(e: ControlEvent): void;
}

/**
 * Reads a control channel into `sink`, paced (readPaced). A chunk holds many small %output lines
 * (tmux splits output between panes): each pane gets its bytes once per chunk, flushed before any
 * other event so the order is kept. Returns readPaced's hand-over for the channel's close.
 */
export function readControl(stream: Pick<SshStream, "onData" | "pause" | "resume">, sink: ControlSink): () => void {
  const outputs = new Map<string, Buffer[]>();
  const flush = () => {
    for (const [pane, parts] of outputs) {
      const [only] = parts;
      sink.output(pane, parts.length === 1 && only ? only : Buffer.concat(parts));
    }
    outputs.clear();
  };
  const parser = new ControlParser(); // per stream: a dropped one may end mid-line
  return readPaced(stream, (chunk) => {
    parser.push(chunk, (e) => {
      if (e.kind === "output") {
        const parts = outputs.get(e.pane);
        if (parts) parts.push(e.data);
        else if (sink.wants(e.pane)) outputs.set(e.pane, [e.data]);
        return;
      }
      flush();
      sink.event(e);
    });
    flush();
  });
}
