/**
 * The session chart's `hostWatch` actor: while a session waits for its host after a run ended
 * `host_unreachable` (machines/session.machine.ts, `restarting`), it reports the host's link, now
 * and at each change (HOST.STATUS); the chart runs again when the link is back. A wait that begins
 * asks the link to try now instead of at the end of its backoff; after that the link keeps its own
 * backoff (many sessions waiting on one host add one try each, not a loop).
 */
import { fromCallback } from "xstate";
import type { HostStatusEvent, HostWatchInput } from "../machines/session.types.js";
import type { SshHost } from "./ssh-host.js";

export type WatchedHost = Pick<SshHost, "name" | "status" | "lastError" | "since" | "onStatus" | "retry">;

/** `hostOf`: the session's host (undefined: not a remote session, nothing is reported). */
export function hostWatchLogic(hostOf: (sessionId: string) => Promise<WatchedHost | undefined>) {
  return fromCallback<HostStatusEvent, HostWatchInput>(({ input, sendBack }) => {
    let off: (() => void) | undefined;
    let stopped = false;
    hostOf(input.sessionId).then(
      (host) => {
        if (stopped || !host) return;
        const tell = (status: HostStatusEvent["status"], error: string | null) =>
          sendBack({ type: "HOST.STATUS", host: host.name, status, since: host.since(), error });
        off = host.onStatus(tell);
        const now = host.status();
        tell(now, now === "connected" ? null : host.lastError());
        if (now === "reconnecting" || now === "unreachable") host.retry();
      },
      () => undefined, // no host to watch: the chart's own bound (hostWaitMs) ends the wait
    );
    return () => {
      stopped = true;
      off?.();
    };
  });
}
