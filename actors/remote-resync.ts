/**
 * After the control channel comes back (a reconnect, a reset, a spawn adopted after a reset):
 * what a pane did while nobody watched it. Its history and screen are caught up into the run's
 * output (remote-output.ts), where the completion token is looked for too; a shim whose agent
 * ended meanwhile is acked, so the pane dies with the agent's status.
 */
import type { MarkerScanner } from "./pty-shim.js";
import type { RemoteOutput } from "./remote-output.js";
import { ackKeys, capturePane, type Pane } from "./remote-pane.js";
import { tmuxLine } from "./shell-quote.js";
import type { TmuxControl } from "./tmux-hub.js";

export interface ResyncContext {
  ctl: TmuxControl;
  pane: Pane;
  out: RemoteOutput;
  /** The exit shim's scanner and ack nonce (a pane we created); undefined for an attached pane. */
  shim: { scanner: MarkerScanner; nonce: string } | undefined;
  log: (event: string, data: Record<string, unknown>) => void;
  diag: (line: string) => void;
  /** The capture's answer is being read (remote-pane-stream.ts). */
  captured?: () => void;
  /** What was missed is logged: output held since the drop may follow. */
  caughtUp?: () => void;
}

/** `token`: the completion token was in what was missed; `acked`: the shim was told to exit. */
export async function resyncPane(c: ResyncContext): Promise<{ token: boolean; acked: boolean }> {
  const { ctl, pane } = c;
  const caught = await c.out.catchUp(await capturePane(ctl, pane, c.captured));
  c.caughtUp?.();
  // What the pane printed while we were away is in the log now, or its loss is on record.
  if (caught.recovered > 0 || !caught.aligned) {
    c.log("remote.output_recovered", { pane: pane.id, chars: caught.recovered, aligned: caught.aligned });
    c.diag(
      caught.aligned
        ? `resync: ${caught.recovered} characters printed while the host was away recovered from the pane's history`
        : "resync: output printed while the host was away could not be placed in the pane's history: not logged",
    );
  }
  if (caught.token) return { token: true, acked: false };
  // The shim's marker went by while we were away? If the agent is gone (the shim has no child
  // left), ack now: the pane then dies with the status, for #{pane_dead_status}. if-shell runs on
  // the remote tmux server (/bin/sh): no ssh exec, no login shell. `-b`: a job must never hold the
  // control channel's queue (tmux may miss its exit: signalPane in remote-pane.ts).
  if (!c.shim || c.shim.scanner.markerSeen) return { token: false, acked: false };
  const ack = tmuxLine(ackKeys(pane.id, c.shim.nonce));
  await ctl.run([["if-shell", "-b", `command -v pgrep >/dev/null && ! pgrep -P ${pane.pid} >/dev/null`, ack]]);
  return { token: false, acked: true };
}
