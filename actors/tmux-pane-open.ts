/**
 * Opening a run's pane: the host's tmux control channel first (waiting up to the time a host may
 * be away), then the pane, created behind the exit shim or attached to. What is reported about
 * it (SPAWNED, SPAWN_FAILED, host_unreachable) is the transport's (tmux-pane-transport.ts).
 */
import type { Pane, PaneContext } from "./remote-pane.js";
import type { SshHost } from "./ssh-host.js";
import { CancelledError, type TmuxControl } from "./tmux-hub.js";

export type PaneOpening =
  | { kind: "open"; pane: Pane }
  | { kind: "failed"; message: string }
  /** `message`: why, as the host connection saw it (the session's `lastError`: its output says nothing). */
  | { kind: "unreachable"; message: string }
  | { kind: "cancelled" };

export async function openRunPane(o: {
  ctl: TmuxControl;
  host: SshHost;
  hostDownMs: number;
  cancelled: AbortSignal;
  ctx: PaneContext;
  /** Creates the pane or attaches to it, once the channel is up. */
  open: (ctx: PaneContext) => Promise<Pane>;
}): Promise<PaneOpening> {
  try {
    await o.ctl.ensure(o.hostDownMs);
  } catch (e) {
    if (o.cancelled.aborted) return { kind: "cancelled" };
    // Connected but tmux failed, or the host refused us (host key, auth): waiting cannot help.
    if (["connected", "rejected"].includes(o.host.status())) return { kind: "failed", message: (e as Error).message };
    return { kind: "unreachable", message: (e as Error).message };
  }
  if (o.cancelled.aborted) return { kind: "cancelled" };
  try {
    return { kind: "open", pane: await o.open(o.ctx) };
  } catch (e) {
    if (e instanceof CancelledError) return { kind: "cancelled" };
    return { kind: "failed", message: (e as Error).message };
  }
}
