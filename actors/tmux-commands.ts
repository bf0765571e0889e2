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
  remaining: number;
  blocks: string[][];
  resolve: (blocks: string[][]) => void;
  reject: (e: Error) => void;
  onBlock?: (index: number, lines: string[]) => void;
  timer: NodeJS.Timeout;
}

export class CommandFifo {
  private pending: Pending[] = [];

  /** `timedOut` runs when a line gets no answer within `timeoutMs` (it should reset the channel). */
  constructor(
    private readonly timeoutMs: number,
    private readonly timedOut: (command: string | undefined) => void,
  ) {}

  /** Writes the commands as one line (tmux runs it whole before anything else); one block each. */
  send(
    write: (line: string) => void,
    commands: string[][],
    onBlock?: (index: number, lines: string[]) => void,
  ): Promise<string[][]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.timedOut(commands[0]?.[0]), this.timeoutMs);
      this.pending.push({
        remaining: commands.length,
        blocks: [],
        resolve,
        reject,
        timer,
        ...(onBlock ? { onBlock } : {}),
      });
      write(`${tmuxLine(commands)}\n`);
    });
  }

  /** One answer block: the oldest line's. An error block fails the rest of its line (tmux skips it). */
  answer(ok: boolean, lines: string[]): void {
    const p = this.pending[0];
    if (!p) return;
    p.blocks.push(lines);
    if (ok) p.onBlock?.(p.blocks.length - 1, lines);
    if (ok && --p.remaining > 0) return;
    this.pending.shift();
    clearTimeout(p.timer);
    if (ok) p.resolve(p.blocks);
    else p.reject(new TmuxCommandError(lines.join("\n") || "tmux command failed"));
  }

  /** The channel is gone: every line in flight fails, saying so. */
  reset(why: string): void {
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(new ChannelResetError(`tmux control channel closed with the command in flight (${why})`));
    }
  }
}
