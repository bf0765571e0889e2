/**
 * What the facade provides for remote sessions: the hosts file, one shared SSH connection per
 * host (the pool), and the remote child runner. A session's child is routed to it when the
 * session was spawned with `remote: true`; the session statechart itself does not change.
 * Where a session runs is the conductor chart's record (`placement`), read through `placementOf`.
 *
 * The SSH and tmux modules (actors/remote-session.ts, actors/ssh-host.ts and what they import)
 * load with the first remote run, not with the package: a supervisor of local sessions never
 * needs them, and they cost ~0.4 MB of heap and ~1.8 MB RSS at import (bench/memory-breakdown.mjs,
 * issue 13), which V8 multiplies as it sizes the old generation from the live heap.
 */
import { accessSync, constants } from "node:fs";
import type { TelemetryWatch } from "../actors/agent-telemetry.js";
import { hostWatchLogic } from "../actors/remote-host-watch.js";
import { ConductorError } from "./errors.js";
import type { HostLinkReading } from "./session-view.js";
import type { AgentTelemetryInput, ChildCommand } from "../machines/session.types.js";
import type { ChildRunner, ChildRunnerArgs } from "../actors/pty-process.js";
import type { RemoteChildRunner, RemoteSpec } from "../actors/remote-session.js";
import type { SshHostPool } from "../actors/ssh-host.js";
import { boundedWait } from "./conductor-trees.js";
import { type HostsConfig, loadHostsFile, parseHostsConfig } from "./hosts-config.js";
import { remoteTelemetryRunFile } from "./presets/gemini-telemetry.js";

/** How long a shutdown waits for the hosts to remove the ended runs' telemetry files (one exec each). */
const TELEMETRY_SETTLE_MS = 3_000;

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
  let pool: SshHostPool | undefined;
  let real: RemoteChildRunner | undefined;
  let loading: Promise<RemoteChildRunner> | undefined;
  let telemetryModule: Promise<typeof import("../actors/remote-telemetry.js")> | undefined;
  const load = () =>
    (loading ??= Promise.all([import("../actors/ssh-host.js"), import("../actors/remote-session.js")]).then(
      ([{ createSshHostPool }, { createRemoteChildRunner }]) => {
        pool = createSshHostPool(config, { log: opts.log });
        real = createRemoteChildRunner({
          hosts: pool,
          log: opts.log,
          resolveRemote: (input) => opts.placementOf(input.sessionId),
          ...(opts.track ? { track: opts.track } : {}),
          ...(opts.socketName ? { socketName: opts.socketName } : {}),
        });
        return real;
      },
    ));
  /** Until the modules are in, the run's commands wait here, in order, for the real runner. */
  const runner: ChildRunner = (given) => {
    const args = withRunTelemetryFile(given);
    if (real) return real(args);
    const early: ChildCommand[] = [];
    let forward: ((cmd: ChildCommand) => void) | undefined;
    let stop: (() => void) | undefined;
    let stopped = false;
    args.receive((cmd) => (forward ? forward(cmd) : early.push(cmd)));
    const receive: ChildRunnerArgs["receive"] = (fn) => {
      forward = fn;
      for (const cmd of early.splice(0)) fn(cmd);
    };
    load().then(
      (r) => {
        if (!stopped) stop = r({ ...args, receive });
      },
      (err: unknown) => {
        const message = `cannot load the remote runner: ${String((err as Error)?.message ?? err)}`;
        if (!stopped) args.sendBack({ type: "CHILD.SPAWN_ERROR", generation: args.input.generation, message });
      },
    );
    return () => {
      stopped = true;
      stop?.();
    };
  };
  /**
   * The telemetry watch of a session that runs on a host (its CLI writes the file there:
   * actors/remote-telemetry.ts), or undefined for a local session.
   */
  const telemetry = (input: AgentTelemetryInput): TelemetryWatch | undefined => {
    const host = opts.placementOf(input.sessionId)?.host;
    if (!host) return undefined;
    // The remote probe makes its file private, empties and removes it: never a file of the user's
    // (the spawn plan gives a remote session none; a hand-made spec could).
    if (!input.owned) return () => () => undefined;
    return (watched, found) => {
      let stop: (() => void) | undefined;
      let stopped = false;
      telemetryModule ??= import("../actors/remote-telemetry.js");
      const path = remoteTelemetryRunFile(watched.path, watched.generation);
      Promise.all([load(), telemetryModule])
        .then(([, { remoteTelemetryWatch }]) => {
          if (!stopped && pool) stop = remoteTelemetryWatch(pool.get(host))({ ...watched, path }, found);
        })
        // The runner says why the run cannot start (CHILD.SPAWN_ERROR); no telemetry is no verdict.
        .catch(() => undefined);
      return () => {
        stopped = true;
        stop?.();
      };
    };
  };
  return {
    telemetry,
    /** A host's link for the snapshot (src/session-view.ts); undefined before the host was first used. */
    linkOf(host: string): HostLinkReading | undefined {
      const h = pool?.peek(host);
      return h && { status: h.status(), since: h.since(), error: h.lastError() };
    },
    /** The session chart's `hostWatch`: the session's host's link while it waits for it (a run ended host_unreachable). */
    hostWatch: hostWatchLogic(async (sessionId) => {
      const host = opts.placementOf(sessionId)?.host;
      if (!host) return undefined;
      await load();
      return pool?.get(host);
    }),
    /**
     * Throws for a host the hosts file does not name (listing the ones it does), or whose key this
     * process cannot read: every run would fail to connect, and restarts cannot mend a config.
     */
    checkHost(sessionId: string, host: string): void {
      const entry = config.hosts[host];
      if (!entry) {
        const known = Object.keys(config.hosts);
        throw new ConductorError(
          `unknown host "${host}" for session "${sessionId}": the hosts file names ${known.length ? known.map((k) => `"${k}"`).join(", ") : "no hosts"}`,
          { code: "INVALID_OPTIONS", field: "host" },
        );
      }
      if (entry.identityFile === undefined) return;
      try {
        accessSync(entry.identityFile, constants.R_OK);
      } catch (e) {
        throw new ConductorError(
          `session "${sessionId}": host "${host}": cannot read its identityFile ${entry.identityFile} (${(e as NodeJS.ErrnoException).code ?? String(e)}); fix "identityFile" in the hosts file or create the key`,
          { code: "INVALID_OPTIONS", field: "host" },
        );
      }
    },
    runner,
    async close(): Promise<void> {
      if (loading) await loading.catch(() => undefined);
      // The ended runs' telemetry files are removed on their hosts before the connections close.
      const probes = await telemetryModule?.catch(() => undefined);
      if (probes) await boundedWait(probes.remoteTelemetrySettled(), TELEMETRY_SETTLE_MS);
      await real?.close().catch(() => undefined);
      pool?.close();
    },
  };
}

export type RemoteRuntime = ReturnType<typeof createRemoteRuntime>;

/**
 * A remote gemini run writes its telemetry into a file of its own on the host: the session's
 * `GEMINI_TELEMETRY_OUTFILE` (its secret, src/presets/gemini-telemetry.ts) becomes this run's file,
 * the one its probe reads. A user's own outfile (not the session's `agentTelemetry`) is left as it is.
 */
function withRunTelemetryFile(args: ChildRunnerArgs): ChildRunnerArgs {
  const { spec, generation } = args.input;
  const sessionFile = spec.agentTelemetry;
  if (!sessionFile || spec.env?.GEMINI_TELEMETRY_OUTFILE !== sessionFile) return args;
  const env = { ...spec.env, GEMINI_TELEMETRY_OUTFILE: remoteTelemetryRunFile(sessionFile, generation) };
  return { ...args, input: { ...args.input, spec: { ...spec, env } } };
}
