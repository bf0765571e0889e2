/**
 * One open ssh channel running `tmux -C`: the stream, the end of its stderr, its commands in flight
 * (tmux-commands.ts) and its reader (tmux-control.ts). The host's control client (tmux-channel-runtime.ts) opens
 * one per attach; once it closes or is dropped, nothing it still says reaches anyone.
 */
import type { SshStream } from "./ssh-host.js";
import { CommandFifo } from "./tmux-commands.js";
import { type ControlEvent, readControl } from "./tmux-control.js";

export interface ControlChannelSink {
  /** tmux answered for the first time (a block, or `%session-changed`): attached. */
  ready(): void;
  /** Every later notification (`%…` lines but output and answers). */
  notify(e: Extract<ControlEvent, { kind: "notify" }>): void;
  /** A pane whose output someone reads (others' output is never copied). */
  wants(pane: string): boolean;
  output(pane: string, data: Buffer): void;
  /** Closed or dropped, once: the commands in flight have failed with `why`. */
  closed(why: string): void;
}

export interface ControlChannelOptions {
  host: string;
  commandTimeoutMs: number;
  log: (event: string, data: Record<string, unknown>) => void;
}

export class ControlChannel {
  private readonly fifo: CommandFifo;
  private stderr = "";
  private ready = false;
  private gone = false;
  /** A block of flags 1 was seen: this tmux marks its answers to our lines (ControlParser `fromClient`). */
  private clientFlagSeen = false;

  constructor(
    private readonly stream: SshStream,
    opts: ControlChannelOptions,
    private readonly sink: ControlChannelSink,
  ) {
    const { host, log } = opts;
    this.fifo = new CommandFifo(opts.commandTimeoutMs, {
      // Said before the timeout, so a wedged channel is visible while it is wedged.
      slow: (r) => log("remote.control_slow", { host, ...r }),
      timedOut: (r) => {
        log("remote.control_timeout", { host, ...r });
        // The FIFO of answers can no longer be trusted: whatever this channel still says is ignored,
        // the commands in flight fail now (ChannelResetError), and a new channel is opened.
        this.drop(`no answer to "${r.command}" from ${host} within ${r.waitedMs} ms`);
      },
    });
    stream.onStderr((b) => {
      this.stderr = (this.stderr + b.toString("utf8")).slice(-2000);
    });
    const handOverQueued = readControl(stream, {
      wants: (pane) => this.ready && !this.gone && sink.wants(pane),
      output: (pane, data) => sink.output(pane, data),
      event: (e) => {
        if (this.gone) return;
        if (!this.ready && (e.kind === "block" || (e.kind === "notify" && e.name === "%session-changed"))) {
          this.ready = true;
          sink.ready();
        } else if (!this.ready) return;
        else if (e.kind === "block") this.answer(e);
        else if (e.kind === "notify") sink.notify(e);
      },
    });
    stream.onClose((info) => {
      handOverQueued(); // what arrived still counts
      this.closedWith(this.stderr.trim() || `exit ${info.code ?? info.signal}`);
    });
  }

  /** The end of what tmux (or the login shell before it) printed on stderr. */
  stderrTail(chars: number): string {
    return this.stderr.trim().slice(-chars);
  }

  send(commands: string[][], onBlock?: (index: number, lines: string[]) => void): Promise<string[][]> {
    return this.fifo.send((line) => this.stream.write(line), commands, onBlock);
  }

  /**
   * Only our own lines' answers: a deferred `if-shell -b` command (the resync's ack) answers too, and
   * taken as the oldest line's answer it shifted every later answer by one (agents' panes killed).
   * A tmux that never sets the flag (none seen) is answered as before.
   */
  private answer(e: Extract<ControlEvent, { kind: "block" }>): void {
    this.clientFlagSeen ||= e.fromClient;
    if (e.fromClient || !this.clientFlagSeen) this.fifo.answer(e.ok, e.lines);
  }

  /**
   * Given up on from our side: closed now, whatever it still says is ignored. sshd confirms the
   * close only once the remote client exits, which a wedged tmux server may never let it do.
   */
  drop(why: string): void {
    if (this.gone) return;
    this.closedWith(why);
    this.stream.close();
  }

  private closedWith(why: string): void {
    if (this.gone) return;
    this.gone = true;
    this.fifo.reset(why);
    this.sink.closed(why);
  }
}
