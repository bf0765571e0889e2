/**
 * What a remote child is told: where it runs (`RemoteSpec`) and what the runner is given
 * (`RemoteSessionDeps`). Apart from the runner so every remote-*.ts module can share them.
 */
import type { PtyProcessInput } from "../machines/session.types.js";
import { checkSessionName, checkSocketName, checkTarget, exactSession } from "./shell-quote.js";
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

/** Where one run goes, checked before anything is sent to the host. */
export interface RunTarget {
  host: SshHost;
  socket: string;
  sessionName: string;
  /** With `attach`: the pane to watch. */
  target: string;
  token: string;
}

/** Throws, saying what is wrong, for a spec tmux would misread or a host the hosts file lacks. */
export function runTarget(deps: RemoteSessionDeps, r: RemoteSpec | undefined, input: PtyProcessInput): RunTarget {
  const { spec } = input;
  if (!r?.host) throw new Error("remote session without a host (expected input.remote.host)");
  const socket = checkSocketName(r.socketName ?? deps.socketName ?? "conductor");
  const sessionName = checkSessionName(r.sessionName ?? input.sessionId);
  const target = r.attach ? checkTarget(r.paneTarget ?? exactSession(sessionName)) : "";
  if (!r.attach && spec.argv.length === 0) throw new Error("empty argv");
  if (spec.cwd?.includes("#"))
    throw new Error(`cwd ${JSON.stringify(spec.cwd)} contains '#', which tmux expands as a format`);
  const token = r.completionToken ?? deps.completionToken ?? DEFAULT_COMPLETION_TOKEN;
  return { host: deps.hosts.get(r.host), socket, sessionName, target, token };
}
