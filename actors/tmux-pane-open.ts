/**
 * Opening a run's pane: the host's tmux control channel first (waiting up to the time a host may
 * be away), then the pane, created behind the exit shim or attached to. What is reported about
 * it (SPAWNED, SPAWN_FAILED, host_unreachable) is the transport's (tmux-pane-transport.ts).
 */
import type { Pane, PaneContext } from "./remote-pane.js";
import { AttachRefusedError } from "./remote-pane-attach.js";
import type { SshHost } from "./ssh-host.js";
import { CancelledError, type TmuxControl, TmuxStartError } from "./tmux-hub.js";

export type PaneOpening =
  | { kind: "open"; pane: Pane }
  | { kind: "failed"; message: string }
  /**
   * Cannot run as it is, the user must act first: the host (host key, auth, key, tmux), or an attach
   * target that is gone or dead (its program is not ours to start).
   */
  | { kind: "refused"; by: "host" | "attach"; message: string }
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
  // A refusal is kept by the host (no retry loop), but a new run is someone's new try: after the
  // key was added or known_hosts fixed, a restart must not meet the old refusal (remote.host_retry).
  if (o.host.status() === "rejected") {
    o.ctx.log("remote.host_retry", { lastError: o.host.lastError() });
    o.host.retry();
  }
  // A run that must wait for its host has the link try now, not at the end of its backoff (up to
  // 10 s); a try already under way is not doubled (the link's chart takes HOST.RETRY only between tries).
  const status = o.host.status();
  if (status === "reconnecting" || status === "unreachable") o.host.retry();
  try {
    await o.ctl.ensure(o.hostDownMs);
  } catch (e) {
    if (o.cancelled.aborted) return { kind: "cancelled" };
    const message = (e as Error).message;
    // The host refused us (host key, auth), or answers but tmux cannot start: waiting cannot help.
    if (o.host.status() === "rejected") return { kind: "refused", by: "host", message };
    if (e instanceof TmuxStartError && !e.slow) return { kind: "refused", by: "host", message };
    if (o.host.status() === "connected") return { kind: "failed", message };
    return { kind: "unreachable", message };
  }
  if (o.cancelled.aborted) return { kind: "cancelled" };
  try {
    return { kind: "open", pane: await o.open(o.ctx) };
  } catch (e) {
    if (e instanceof CancelledError) return { kind: "cancelled" };
    // An attach target that is gone or dead: no retry brings its program back.
    if (e instanceof AttachRefusedError) return { kind: "refused", by: "attach", message: e.message };
    return { kind: "failed", message: (e as Error).message };
  }
}
