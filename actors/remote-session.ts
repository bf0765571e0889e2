/**
 * The remote child: one run of an agent in a tmux session on another host, speaking exactly
 * the pty actor's ChildEvent/ChildCommand contract, so the session statechart does not know
 * the difference. Output streams through the host's shared tmux control client (no polling);
 * a completion token counts at any point of the stream; a host that drops is waited for
 * (`hostDownTimeoutMs`) before the run is given up.
 *
 * This module owns the control clients (one per host and socket); each run is the child-run
 * statechart with `tmuxPaneTransport` (tmux-pane-transport.ts); output handling is in
 * remote-output.ts, the pane in remote-pane.ts.
 */
import { fromCallback } from "xstate";
import type { ChildCommand, PtyProcessInput } from "../machines/session.types.js";
import { type ChildRunner, createChildRunner, type TransportLogic, transportLogic } from "./child-run.js";
import type { ControlFor, RemoteSessionDeps, RemoteSpec } from "./remote-spec.js";
import { endEscapees } from "./remote-escapees.js";
import { ownsLivePanes } from "./remote-orphan-end.js";
import { unwatchCommands } from "./remote-orphan-watch.js";
import { exactSession } from "./shell-quote.js";
import type { SshHost } from "./ssh-host.js";
import { TmuxPaneTransport } from "./tmux-pane-transport.js";
import { TmuxControl } from "./tmux-hub.js";

// The public surface stays here: importers need not know how the remote child is split up.
export { parseDeadState } from "./remote-pane.js";
export {
  DEFAULT_COMPLETION_TOKEN,
  type RemoteChildInput,
  type RemoteSessionDeps,
  type RemoteSpec,
} from "./remote-spec.js";

type RemoteInput = PtyProcessInput & { remote?: RemoteSpec };

/** Call `close()` at shutdown, before closing the hosts: detaches, drops a hub only we used. */
export type RemoteChildRunner = ChildRunner<RemoteInput> & { close(): Promise<void> };

export function createRemoteChildRunner(deps: RemoteSessionDeps): RemoteChildRunner {
  const controls = new Map<string, TmuxControl>();
  const hostOf = new Map<TmuxControl, SshHost>();
  const controlFor = (host: SshHost, socketName: string) => {
    const key = `${host.name}\0${socketName}`;
    let ctl = controls.get(key);
    if (!ctl) {
      const program = host.config.multiplexer === "psmux" ? "psmux" : "tmux";
      ctl = new TmuxControl({
        host,
        program,
        socketName,
        ...(deps.hubSession ? { hubSession: deps.hubSession } : {}),
        ...(deps.log ? { log: deps.log } : {}),
        ...deps.control,
      });
      controls.set(key, ctl);
      hostOf.set(ctl, host);
    }
    return ctl;
  };
  const runner = createChildRunner<RemoteInput>(
    (input) => {
      const remote = input.remote ?? deps.resolveRemote?.(input);
      const stopGraceMs = deps.stopGraceMs ?? 2_000;
      return {
        transport: createTmuxPaneTransport(deps, remote, controlFor),
        timing: {
          stopGraceMs,
          reapGraceMs: stopGraceMs,
          hostDownMs: remote?.hostDownTimeoutMs ?? deps.hostDownTimeoutMs ?? 60_000,
        },
      };
    },
    deps.track ? { track: deps.track } : {},
  );
  const close = async () => {
    await Promise.all(
      [...controls.values()].map(async (ctl) => {
        const hub = exactSession(ctl.hub);
        const [[clients] = []] = ctl.attached
          ? await ctl.run([["display-message", "-p", "-t", hub, "#{session_attached}"]]).catch(() => [[]])
          : [[]];
        // What our runs left there to be shared (a codex app-server daemon: shared-helpers.ts) ends with us.
        const host = hostOf.get(ctl);
        const swept = ctl.attached && host ? await endOwnersHelpers(host, ctl.owner, deps) : false;
        // Nothing of ours runs there any more: the hook that would end it goes (else it ends itself,
        // and what the sweep could not reach with it).
        if (ctl.attached && swept && !(await ownsLivePanes(ctl)))
          await ctl.run(unwatchCommands(ctl.owner)).catch(() => undefined);
        if (clients === "1") await ctl.run([["kill-session", "-t", hub]]).catch(() => undefined);
        ctl.close();
      }),
    );
    controls.clear();
  };
  return Object.assign(runner, { close });
}

/**
 * At the conductor's end: every process on the host that carries the owner's cookie. False when the
 * sweep could not run: the owner's hook, kept, sweeps the same once our client is gone. Never rejects.
 */
async function endOwnersHelpers(host: SshHost, owner: string, deps: RemoteSessionDeps): Promise<boolean> {
  if (host.status() !== "connected") return false;
  const r = await endEscapees(host, `${owner}.`, 0, deps.stopGraceMs ?? 2_000).catch((e: Error) => {
    deps.log?.("remote.escapees", { host: host.name, owner: true, deferred: true, error: e.message });
    return null;
  });
  if (r && r.found.length > 0)
    deps.log?.("remote.escapees", { host: host.name, owner: true, found: r.found, left: r.left });
  return r !== null && !r.unsupported;
}

/** The transport for one run on `remote` (the run's own spec, resolved by the runner). */
function createTmuxPaneTransport(
  deps: RemoteSessionDeps,
  remote: RemoteSpec | undefined,
  controlFor: ControlFor,
): TransportLogic {
  return transportLogic(({ child, timing }, report) => {
    const t = new TmuxPaneTransport(deps, remote, child, report, timing?.hostDownMs ?? 60_000);
    void t.start(controlFor);
    return t;
  });
}

/**
 * The runner as XState logic. Its input may lack `remote` (the session machine builds plain
 * PtyProcessInput): then `deps.resolveRemote` supplies it, so it drops in as `ptyProcess`.
 */
export function createRemoteSessionLogic(deps: RemoteSessionDeps) {
  const runner = createRemoteChildRunner(deps);
  const logic = fromCallback<ChildCommand, RemoteInput>(({ input, sendBack, receive }) =>
    runner({ input, sendBack, receive }),
  );
  return Object.assign(logic, { close: runner.close });
}
