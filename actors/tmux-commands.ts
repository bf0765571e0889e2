/**
 * The commands in flight on one tmux control channel. tmux answers a control client's command
 * lines in order, one `%begin … %end|%error` block per command, so the oldest line waiting is
 * the one an answer belongs to. A line unanswered for too long means the channel is wedged:
 * the owner resets it, and every line still in flight fails with `ChannelResetError`.
 */
import { tmuxLine } from "./shell-quote.js";

export class TmuxCommandError extends Error {
  override name = "TmuxCommandError";
}

/**
 * The channel closed while the command was in flight: it may or may not have run. Callers that
 * can tell (a query, a session whose nonce can be looked for) retry once the channel is back.
 */
export class ChannelResetError extends Error {
  override name = "ChannelResetError";
}

interface Pending {
  /** What the line asks, for diagnostics (names and targets only: typed text never appears). */
  what: string;
  sentAt: number;
  remaining: number;
  blocks: string[][];
  resolve: (blocks: string[][]) => void;
  reject: (e: Error) => void;
  onBlock?: (index: number, lines: string[]) => void;
  timers: NodeJS.Timeout[];
}

/** A line still unanswered: what it asks, how long it has waited, and what the channel last answered. */
export interface StallReport {
  command: string;
  waitedMs: number;
  /** Lines sent after it, still waiting behind it. */
  behind: number;
  /** The line answered last on this channel and how long ago (tmux answers in order: it ran before). */
  lastAnswered?: { command: string; agoMs: number };
}

/** Who hears about a line left unanswered: `slow` once (the channel is left alone), then `timedOut`. */
export interface StallHooks {
  slow(r: StallReport): void;
  /** The owner should reset the channel. */
  timedOut(r: StallReport): void;
}

/** `kill-window -t @4 ; send-keys -t %1`: each command's name and target, never its other arguments. */
export function describeLine(commands: readonly (readonly string[])[]): string {
  return commands
    .map(([name, ...args]) => {
      const t = args.indexOf("-t");
      return t >= 0 && args[t + 1] !== undefined ? `${name} -t ${args[t + 1]}` : String(name);
    })
    .join(" ; ");
}

export class CommandFifo {
  private pending: Pending[] = [];
  private lastAnswered: { what: string; at: number } | undefined;

  /**
   * A line unanswered for `slowMs` is reported (hooks.slow), and for `timeoutMs` it times out
   * (hooks.timedOut: the owner resets the channel).
   */
  constructor(
    private readonly timeoutMs: number,
    private readonly hooks: StallHooks,
    private readonly slowMs = Math.min(10_000, timeoutMs / 2),
  ) {}

  /** Writes the commands as one line (tmux runs it whole before anything else); one block each. */
  send(
    write: (line: string) => void,
    commands: string[][],
    onBlock?: (index: number, lines: string[]) => void,
  ): Promise<string[][]> {
    return new Promise((resolve, reject) => {
      const p: Pending = {
        what: describeLine(commands),
        sentAt: performance.now(),
        remaining: commands.length,
        blocks: [],
        resolve,
        reject,
        timers: [],
        ...(onBlock ? { onBlock } : {}),
      };
      p.timers.push(
        setTimeout(() => this.hooks.slow(this.report(p)), this.slowMs),
        setTimeout(() => this.hooks.timedOut(this.report(p)), this.timeoutMs),
      );
      this.pending.push(p);
      write(`${tmuxLine(commands)}\n`);
    });
  }

  private report(p: Pending): StallReport {
    const now = performance.now();
    const last = this.lastAnswered;
    return {
      command: p.what,
      waitedMs: Math.round(now - p.sentAt),
      behind: this.pending.length - 1 - this.pending.indexOf(p),
      ...(last ? { lastAnswered: { command: last.what, agoMs: Math.round(now - last.at) } } : {}),
    };
  }

  /** One answer block: the oldest line's. An error block fails the rest of its line (tmux skips it). */
  answer(ok: boolean, lines: string[]): void {
    const p = this.pending[0];
    if (!p) return;
    p.blocks.push(lines);
    if (ok) p.onBlock?.(p.blocks.length - 1, lines);
    if (ok && --p.remaining > 0) return;
    this.pending.shift();
    for (const t of p.timers) clearTimeout(t);
    this.lastAnswered = { what: p.what, at: performance.now() };
    if (ok) p.resolve(p.blocks);
    else p.reject(new TmuxCommandError(lines.join("\n") || "tmux command failed"));
  }

  /** The channel is gone: every line in flight fails, saying so. */
  reset(why: string): void {
    for (const p of this.pending.splice(0)) {
      for (const t of p.timers) clearTimeout(t);
      p.reject(new ChannelResetError(`tmux control channel closed with the command in flight (${why})`));
    }
  }
}
