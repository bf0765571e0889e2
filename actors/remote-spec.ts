/**
 * What a remote child is told: where it runs (`RemoteSpec`) and what the runner is given
 * (`RemoteSessionDeps`). Apart from the runner so every remote-*.ts module can share them.
 */
import type { RemotePlacement } from "../machines/conductor.machine.js";
import type { PtyProcessInput } from "../machines/session.types.js";
import { checkSessionName, checkSocketName, checkTarget, exactSession } from "./shell-quote.js";
import type { SshHost } from "./ssh-host.js";
import type { TmuxControl, TmuxControlOptions } from "./tmux-hub.js";

export const DEFAULT_COMPLETION_TOKEN = "__TRIFLUX_DONE__";

/** The host's shared tmux control client for a socket (remote-session.ts keeps one per pair). */
export type ControlFor = (host: SshHost, socket: string) => TmuxControl;

/** The conductor chart's placement of a session on a host, plus what only the runner decides. */
export interface RemoteSpec extends RemotePlacement {
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
  /** The shared control channel's bounds (TmuxControlOptions: command, open and reattach timeouts). */
  control?: Pick<TmuxControlOptions, "commandTimeoutMs" | "openTimeoutMs" | "reattachTimeoutMs">;
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
