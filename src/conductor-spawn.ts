/**
 * `spawnSession(config)` → the conductor's `SPAWN` event. Everything that can refuse a config runs
 * here, before the conductor hears of the session, so a refused spawn leaves nothing behind.
 */
import { join } from "node:path";
import type { ConductorEvent, RemotePlacement } from "../machines/conductor.machine.js";
import { type ConductorOptions, policyFor, type SpawnConfig } from "./conductor-options.js";
import { buildLaunchSync, type LaunchSpec, launchExtras, planLaunch } from "./launcher.js";

export type SpawnEvent = Extract<ConductorEvent, { type: "SPAWN" }>;

export interface SpawnContext {
  opts: ConductorOptions;
  logsDir: string;
  /** Throws for a host the hosts file does not name; null when the conductor has no hosts file. */
  checkHost: ((sessionId: string, host: string) => void) | null;
}

export function checkSpawnConfig(config: SpawnConfig, ctx: SpawnContext): void {
  if (!config || typeof config !== "object")
    throw new TypeError(
      "spawnSession(config): config must be an object, e.g. { id: 'a', agent: 'codex', prompt: '...' }",
    );
  if (config.id === undefined || config.id === null || config.id === "")
    throw new Error("session id is required, e.g. spawnSession({ id: 'review-1', agent: 'codex', prompt: '...' })");
  // A number would be coerced into a key here and refused as an id elsewhere: refuse it first.
  if (typeof config.id !== "string")
    throw new TypeError(`spawnSession(config): id must be a string, got ${typeof config.id} (${String(config.id)})`);
  if (config.remote && !config.host)
    throw new Error("host is required for remote sessions, e.g. { remote: true, host: 'build-box' }");
  if (config.remote && config.account !== undefined) {
    throw new Error(
      `session "${config.id}": leased accounts are for local sessions only in this version; a remote agent uses ` +
        `the host's own login (drop "account" or run it locally)`,
    );
  }
  if (config.remote && !ctx.checkHost)
    throw new Error(
      "remote sessions need a hosts file: createConductor({ hosts: './hosts.json' }) (see docs/remote.md)",
    );
  // probeOpts and restart were checked by the schema (validateSpawnConfig) before this runs.
}

/** The SPAWN event for a checked config, and what the launcher decided (presets only). Throws (launch errors,
 * unknown host) before anything exists. */
export function spawnEventOf(
  config: SpawnConfig,
  ctx: SpawnContext,
  createdAt: string,
): { event: SpawnEvent; preset: LaunchSpec["preset"] } {
  const { opts, logsDir } = ctx;
  // A remote agent's binary is looked up by the remote shell, on the remote PATH.
  const launch = (config.remote ? planLaunch : buildLaunchSync)({
    agent: config.agent,
    prompt: config.prompt,
    command: config.command,
    model: config.model,
    profile: config.profile,
    workdir: config.workdir,
    resultFile: config.resultFile,
    mcpServers: config.mcpServers,
    env: config.env,
    ...launchExtras(config),
  });
  const remote = config.remote ? remotePlacement(config) : undefined;
  if (remote) ctx.checkHost?.(config.id, remote.host);
  const account = accountFor(config);
  const event: SpawnEvent = {
    type: "SPAWN",
    start: false,
    createdAt,
    ...(remote ? { remote } : {}),
    session: {
      id: config.id,
      agent: launch.agent,
      spec: {
        argv: launch.argv,
        env: launch.env,
        ...(launch.cwd ? { cwd: launch.cwd } : {}),
        ...(launch.resumeArgv ? { resumeArgv: launch.resumeArgv } : {}),
        ...(launch.loggedOut ? { loggedOut: true } : {}),
        ...(opts.cols ? { cols: opts.cols } : {}),
        ...(opts.rows ? { rows: opts.rows } : {}),
      },
      outPath: join(logsDir, `${config.id}.out.log`),
      errPath: join(logsDir, `${config.id}.err.log`),
      policy: policyFor(opts, config),
      ...(account ? { account } : {}),
    },
  };
  return { event, preset: launch.preset };
}

/** Sends SPAWN and returns the conductor's refusal (`duplicate`, `shutting_down`), or null when it took it. */
export function sendSpawn(
  actor: {
    on(type: "spawnRejected", fn: (e: { id: string; why: string }) => void): { unsubscribe(): void };
    send(event: SpawnEvent): void;
  },
  spawn: SpawnEvent,
): string | null {
  let refused: string | null = null;
  const refusals = actor.on("spawnRejected", (e) => {
    if (e.id === spawn.session.id) refused = e.why;
  });
  try {
    actor.send(spawn);
  } finally {
    refusals.unsubscribe();
  }
  return refused;
}

function remotePlacement(config: SpawnConfig): RemotePlacement {
  return {
    host: config.host ?? "",
    ...(config.sessionName ? { sessionName: config.sessionName } : {}),
    ...(config.paneTarget ? { paneTarget: config.paneTarget } : {}),
    ...(config.attach ? { attach: true } : {}),
    ...(config.completionToken ? { completionToken: config.completionToken } : {}),
    ...(config.hostDownTimeoutMs !== undefined ? { hostDownTimeoutMs: config.hostDownTimeoutMs } : {}),
  };
}

/** `account: "codex"` or `account: true` (the agent's own provider). */
function accountFor(config: SpawnConfig): { provider: string } | null {
  if (config.account === undefined || config.account === (false as unknown)) return null;
  return { provider: config.account === true ? config.agent : config.account };
}

/** A method named an id this conductor does not have: say which ids it has. */
export function unknownSession(method: string, id: string, known: string[]): Error {
  const list = known.length ? known.map((k) => `"${k}"`).join(", ") : "none";
  return new Error(`${method}("${id}"): this conductor has no session "${id}" (its sessions: ${list})`);
}

/** Processes of a session's trees that outlived SIGKILL: name them, say what to check. */
export function survivorsError(call: string, pids: number[]): Error {
  return new Error(
    `${call}: ${pids.length} process(es) of the session trees outlived SIGKILL: pids ${pids.join(", ")}. ` +
      "They are stuck in the kernel (state D in /proc/<pid>/stat) or not ours to kill; check them before a restart.",
  );
}
