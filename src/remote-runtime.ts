/**
 * What the facade provides for remote sessions: the hosts file, one shared SSH connection per
 * host (the pool), and the remote child runner. A session's child is routed to it when the
 * session was spawned with `remote: true`; the session statechart itself does not change.
 * Where a session runs is the conductor chart's record (`placement`), read through `placementOf`.
 */
import { createRemoteChildRunner, type RemoteSpec } from "../actors/remote-session.js";
import { createSshHostPool } from "../actors/ssh-host.js";
import type { ChildRunner } from "../actors/pty-process.js";
import { type HostsConfig, loadHostsFile, parseHostsConfig } from "./hosts-config.js";

export interface RemoteRuntimeOptions {
  /** Path of a hosts file, or its JSON content (`{ hosts: { ... } }`). */
  hosts: string | { hosts: unknown };
  log: (event: string, data: Record<string, unknown>) => void;
  /** Background cleanup the shutdown must wait for (the reaper's `track`). */
  track?: (work: Promise<unknown>) => void;
  /** Private tmux server name on every host (default "conductor"). */
  socketName?: string;
  /** Where a session runs: the conductor's record of it, undefined for a local session. */
  placementOf: (sessionId: string) => RemoteSpec | undefined;
}

export function createRemoteRuntime(opts: RemoteRuntimeOptions) {
  // Opting out of host key checking is allowed, never quiet: say it in the log and on stderr.
  const warn = (message: string) => {
    opts.log("hosts.warning", { message });
    process.stderr.write(`conductor: ${message}\n`);
  };
  const config: HostsConfig =
    typeof opts.hosts === "string"
      ? loadHostsFile(opts.hosts, { warn })
      : parseHostsConfig(opts.hosts, { warn, source: "the hosts option" });
  const pool = createSshHostPool(config, { log: opts.log });
  const runner = createRemoteChildRunner({
    hosts: pool,
    log: opts.log,
    resolveRemote: (input) => opts.placementOf(input.sessionId),
    ...(opts.track ? { track: opts.track } : {}),
    ...(opts.socketName ? { socketName: opts.socketName } : {}),
  });
  return {
    /** Throws for a host the hosts file does not name, listing the ones it does. */
    checkHost(sessionId: string, host: string): void {
      if (!config.hosts[host]) {
        const known = Object.keys(config.hosts);
        throw new Error(
          `unknown host "${host}" for session "${sessionId}": the hosts file names ${known.length ? known.map((k) => `"${k}"`).join(", ") : "no hosts"}`,
        );
      }
    },
    runner: runner satisfies ChildRunner,
    async close(): Promise<void> {
      await runner.close().catch(() => undefined);
      pool.close();
    },
  };
}

export type RemoteRuntime = ReturnType<typeof createRemoteRuntime>;
