/** The shared tmux control client's contract: what sessions hear from it, what it needs of its host, its options. */
import type { SshStream } from "./ssh-host.js";

/** What a remote session hears from the shared control client. */
export interface PaneWatcher {
  output(data: Buffer): void;
  /** `#{pane_dead} #{pane_dead_status} #{pane_dead_signal}` changed (tmux checks once a second). */
  paneState(value: string): void;
  /** The pane's window closed, left the hub or changed layout (a pane of it may be gone). */
  windowChanged(): void;
  /** A session was created or ended on the server (`%sessions-changed`): ours may be the one gone. */
  sessionsChanged(): void;
  /** The control client (re)attached after a drop: time to resync. */
  attached(): void;
  detached(why: string): void;
  /** The tmux server restarted while we were away: the pane is gone and its ids mean nothing now. */
  lost(why: string): void;
}

export interface ControlHost {
  readonly name: string;
  status(): string;
  lastError(): string | null;
  onStatus(fn: (status: string) => void): () => void;
  openStream(command: string): Promise<SshStream>;
}

export interface TmuxControlOptions {
  host: ControlHost;
  /** `tmux`, or `psmux` (which speaks the same commands). */
  program: string;
  socketName: string;
  hubSession?: string;
  /** A command that gets no answer within this long resets the channel (default 60 000). */
  commandTimeoutMs?: number;
  /** The control client must attach within this long (default 30 000). */
  openTimeoutMs?: number;
  /** A command issued while the channel is away waits this long for it to come back (default 60 000). */
  reattachTimeoutMs?: number;
  reopenDelayMs?: number;
  log?: (event: string, data: Record<string, unknown>) => void;
}
