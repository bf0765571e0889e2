/**
 * What a remote child is told: where it runs (`RemoteSpec`) and what the runner is given
 * (`RemoteSessionDeps`). Apart from the runner so every remote-*.ts module can share them.
 */
import type { PtyProcessInput } from "../machines/session.types.js";
import type { SshHost } from "./ssh-host.js";

export const DEFAULT_COMPLETION_TOKEN = "__TRIFLUX_DONE__";

export interface RemoteSpec {
  /** Host alias from the hosts file. */
  host: string;
  /** tmux session to create (default: the session id), or to attach to. */
  sessionName?: string;
  /** With `attach`: the pane to watch (`name:0.1`, `%12`); default the session's active pane. */
  paneTarget?: string;
  /** Watch an existing session instead of creating one; it is never killed. */
  attach?: boolean;
  completionToken?: string;
  hostDownTimeoutMs?: number;
  /** `tmux -L <socket>` (default: deps.socketName, "conductor"). */
  socketName?: string;
}

export type RemoteChildInput = PtyProcessInput & { remote: RemoteSpec };

export interface RemoteSessionDeps {
  hosts: { get(name: string): SshHost };
  log?: (event: string, data: Record<string, unknown>) => void;
  socketName?: string;
  hubSession?: string;
  completionToken?: string;
  hostDownTimeoutMs?: number;
  /** Attached panes (no exit shim): output quiet this long → ask tmux whether the pane died (default 150 ms). */
  exitCheckMs?: number;
  /** Ending a pane we created that still runs: SIGTERM, this long, then SIGKILL and kill-window (default 2 000 ms). */
  stopGraceMs?: number;
  /** For inputs without `remote` (the session machine builds plain PtyProcessInput): the facade knows. */
  resolveRemote?: (input: PtyProcessInput) => RemoteSpec | undefined;
  /** Shutdown waits for background cleanup (like the reaper's `track`). */
  track?: (work: Promise<unknown>) => void;
}
