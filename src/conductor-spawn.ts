/**
 * `spawnSession(config)` → the conductor's `SPAWN` event. Everything that can refuse a config runs
 * here, before the conductor hears of the session, so a refused spawn leaves nothing behind.
 */
import { join } from "node:path";
import type { Actor } from "xstate";
import type { ConductorEvent, conductorMachine, RemotePlacement } from "../machines/conductor.machine.js";
import { type ConductorOptions, policyFor, type SpawnConfig, validateSpawnConfig } from "./conductor-options.js";
import { hostMatches } from "../machines/broker.policy.js";
import { checkSessionName } from "../actors/shell-quote.js";
import { judgedByProgram, profileSpec } from "./agent-judgement-spec.js";
import { ConductorError, SessionError } from "./errors.js";
import { buildLaunchSync, LaunchError, type LaunchSpec, launchExtras, overlayEnv, planLaunch } from "./launcher.js";
import { mcpHeartbeatFor } from "./conductor-probes.js";
import { geminiTelemetry, remoteGeminiTelemetry, remoteTelemetryFile } from "./presets/gemini-telemetry.js";

const withHeartbeat = (spec: ReturnType<typeof mcpHeartbeatFor>) => (spec ? { mcpHeartbeat: spec } : {});

export type SpawnEvent = Extract<ConductorEvent, { type: "SPAWN" }>;

export interface SpawnContext {
  opts: ConductorOptions;
  logsDir: string;
  /** Throws for a host the hosts file does not name; null when the conductor has no hosts file. */
  checkHost: ((sessionId: string, host: string) => void) | null;
  /** The accounts configured (provider, host binding); null when the conductor has no accounts. */
  accounts: readonly { provider: string; host?: string }[] | null;
}

/**
 * Everything that refuses a spawn, before any effect: shutting down, the one schema (src/schema/: ids,
 * argv of strings, timer bounds, unknown keys), the seed's checks, a duplicate id.
 */
export function admitSpawn(
  config: SpawnConfig,
  ctx: SpawnContext,
  state: { shuttingDown: boolean; sessions: Readonly<Record<string, unknown>> },
) {
  if (state.shuttingDown)
    throw new SessionError("Conductor is shutting down: spawnSession is refused once shutdown() was called", {
      code: "SHUTTING_DOWN",
    });
  validateSpawnConfig(config);
  checkSpawnConfig(config, ctx);
  if (Object.hasOwn(state.sessions, config.id))
    throw new SessionError(`Session "${config.id}" already exists; ids are unique per conductor`, {
      code: "DUPLICATE_SESSION",
      field: "id",
    });
}

export function checkSpawnConfig(config: SpawnConfig, ctx: SpawnContext): void {
  if (!config || typeof config !== "object")
    throw new ConductorError(
      "spawnSession(config): config must be an object, e.g. { id: 'a', agent: 'codex', prompt: '...' }",
      { code: "INVALID_OPTIONS" },
    );
  if (config.id === undefined || config.id === null || config.id === "")
    throw new ConductorError(
      "session id is required, e.g. spawnSession({ id: 'review-1', agent: 'codex', prompt: '...' })",
      { code: "INVALID_OPTIONS", field: "id" },
    );
  // A number would be coerced into a key here and refused as an id elsewhere: refuse it first.
  if (typeof config.id !== "string")
    throw new ConductorError(
      `spawnSession(config): id must be a string, got ${typeof config.id} (${String(config.id)})`,
      { code: "INVALID_OPTIONS", field: "id" },
    );
  if (config.remote && !config.host)
    throw new ConductorError("host is required for remote sessions, e.g. { remote: true, host: 'build-box' }", {
      code: "INVALID_OPTIONS",
      field: "host",
    });
  // Never taken silently: a resume argv no restart would run.
  if (config.resumeCommand !== undefined && (config.restart?.mode ?? ctx.opts.restart?.mode ?? "fresh") !== "resume")
    throw new ConductorError(
      `session "${config.id}": resumeCommand is what a restart runs under restart.mode "resume", and this session's restarts are "fresh": add restart: { mode: "resume" } (to the session or the conductor), or remove resumeCommand`,
      { code: "INVALID_OPTIONS", field: "resumeCommand" },
    );
  // A command has no resume of its own: its restarts would run `command` again, a new conversation.
  if (config.agent === "command" && config.restart?.mode === "resume" && config.resumeCommand === undefined)
    throw new ConductorError(
      `session "${config.id}": restart.mode "resume" runs the resumeCommand of an agent "command", and it has none: give the program's own resume (["claude", "--continue"], ["codex", "resume", "--last"], ["gemini", "--resume", "latest"]: docs/agents.md), or leave restart.mode out`,
      { code: "INVALID_OPTIONS", field: "restart.mode" },
    );
  // probeOpts were checked by the schema (validateSpawnConfig) before this runs; L2 may refuse a remote session.
  mcpHeartbeatFor(config, ctx.opts);
  if (config.remote && !ctx.checkHost)
    throw new ConductorError(
      "remote sessions need a hosts file: createConductor({ hosts: './hosts.json' }) (see docs/remote.md)",
      { code: "INVALID_OPTIONS", field: "hosts" },
    );
}

/** Which option a launch error is about, for its `field`. */
const LAUNCH_FIELDS: Partial<Record<LaunchError["code"], (c: SpawnConfig) => string>> = {
  UNKNOWN_AGENT: () => "agent",
  MISSING_PROMPT: () => "prompt",
  MISSING_COMMAND: () => "command",
  ROOT_BYPASS_REFUSED: () => "approvals",
  WORKDIR_NOT_FOUND: () => "workdir",
  BIN_NOT_FOUND: (c) => (c.agent === "command" ? "command" : c.bin !== undefined ? "bin" : "agent"),
};

/** The launch of a config; a launch error names the session and the option (`field`) it is about. */
function launchOf(config: SpawnConfig): LaunchSpec {
  try {
    // A remote agent's binary is looked up by the remote shell, on the remote PATH.
    const plan = (config.remote ? planLaunch : buildLaunchSync)({
      agent: config.agent,
      prompt: config.prompt,
      command: config.command,
      ...(config.resumeCommand ? { resumeCommand: config.resumeCommand } : {}),
      model: config.model,
      profile: config.profile,
      workdir: config.workdir,
      resultFile: config.resultFile,
      mcpServers: config.mcpServers,
      env: config.env,
      ...launchExtras(config),
    });
    // A remote workdir is the host's: as given (a relative one is relative to the remote home,
    // actors/remote-pane-create.ts), never resolved against this process's directory.
    return config.remote && config.workdir !== undefined ? { ...plan, cwd: config.workdir } : plan;
  } catch (err) {
    if (!(err instanceof LaunchError) || err.field !== undefined) throw err;
    const field = LAUNCH_FIELDS[err.code]?.(config);
    throw new LaunchError(err.code, `session "${config.id}": ${err.message}`, {
      ...(field ? { field } : {}),
      cause: err,
    });
  }
}

/** Tells apart sessions spawned under one id over time (ChildSpec.instance); unique in this process. */
let instances = 0;

/** The SPAWN event for a checked config, and what the launcher decided (presets only). Throws (launch errors,
 * unknown host) before anything exists. */
export function spawnEventOf(
  given: SpawnConfig,
  ctx: SpawnContext,
  createdAt: string,
): { event: SpawnEvent; preset: LaunchSpec["preset"] } {
  const config = judgedByProgram(given);
  const { opts, logsDir } = ctx;
  const launch = launchOf(config);
  const remote = config.remote ? remotePlacement(config) : undefined;
  if (remote) ctx.checkHost?.(config.id, remote.host);
  if (remote) checkRemoteName(config); // the same check as the run's (actors/remote-spec.ts runTarget), attach too
  const telemetry = telemetryPlan(config, launch, remote, logsDir);
  const account = accountFor(config);
  if (account) checkAccount(config.id, account, ctx.accounts);
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
        env: telemetry ? { ...telemetry.env, ...launch.env } : launch.env,
        ...(telemetry ? { agentTelemetry: telemetry.file, agentTelemetryOwned: telemetry.owned } : {}),
        ...(launch.cwd ? { cwd: launch.cwd } : {}),
        ...(launch.resumeArgv ? { resumeArgv: launch.resumeArgv } : {}),
        ...(launch.loggedOut ? { loggedOut: true } : {}),
        instance: String(++instances),
        ...profileSpec(config.judgeAs ?? launch.agent),
        ...(opts.cols ? { cols: opts.cols } : {}),
        ...(opts.rows ? { rows: opts.rows } : {}),
      },
      outPath: join(logsDir, `${config.id}.out.log`),
      errPath: join(logsDir, `${config.id}.err.log`),
      policy: policyFor(opts, config),
      ...(account ? { account } : {}),
      ...withHeartbeat(mcpHeartbeatFor(config, opts)),
    },
  };
  return { event, preset: launch.preset };
}

/** Sends SPAWN and returns the new session's actor; throws (after `onRefused`) if the conductor refused it. */
export function sendSpawn(actor: Actor<typeof conductorMachine>, spawn: SpawnEvent, onRefused: () => void) {
  const id = spawn.session.id;
  let refused: string | null = null;
  const refusals = actor.on("spawnRejected", (e) => {
    if (e.id === id) refused = e.why;
  });
  try {
    actor.send(spawn);
  } finally {
    refusals.unsubscribe();
  }
  const ref = actor.getSnapshot().context.sessions[id];
  if (refused || !ref) {
    onRefused();
    const why = refused ?? "no actor";
    throw new SessionError(`Session "${id}" could not be created (the conductor refused it: ${why})`, {
      code: "SPAWN_REFUSED",
    });
  }
  return ref;
}

/**
 * gemini's telemetry file, read by the telemetry probe. A remote session's is on its host; an attached
 * pane's agent was started by someone else, with their environment: none.
 */
function telemetryPlan(config: SpawnConfig, launch: LaunchSpec, remote: RemotePlacement | undefined, logsDir: string) {
  const judgedAs = config.judgeAs ?? launch.agent;
  if (!remote)
    return geminiTelemetry(
      judgedAs,
      overlayEnv(process.env, launch.env),
      join(logsDir, `${config.id}.telemetry.json`),
      launch.cwd,
    );
  if (remote.attach) return null;
  return remoteGeminiTelemetry(judgedAs, launch.env ?? {}, remoteTelemetryFile());
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

/**
 * `account: "codex"` or `account: true` (the agent's own provider). A remote session leases only
 * accounts bound to its host (`host` in the accounts file, the seed's `lease({ provider, remote: true })`).
 */
function accountFor(config: SpawnConfig): { provider: string; requireHost?: string } | null {
  if (config.account === undefined || config.account === (false as unknown)) return null;
  const provider = config.account === true ? config.agent : config.account;
  return config.remote && config.host ? { provider, requireHost: config.host } : { provider };
}

/**
 * An account nobody configured can never be leased: the session waited out `leaseWaitMs` (10 min by
 * default) to say so, or died with exit 1 (found by a field review). Refused at the call instead.
 */
function checkAccount(
  id: string,
  want: { provider: string; requireHost?: string },
  accounts: readonly { provider: string; host?: string }[] | null,
): void {
  const { provider, requireHost } = want;
  // As the broker picks (machines/broker.policy.ts): a local run only an account bound to no host.
  const fits = accounts?.some((a) => a.provider === provider && hostMatches(a, requireHost));
  if (accounts !== null && fits) return;
  const where = requireHost === undefined ? "" : ` bound to host "${requireHost}"`;
  const have = [...new Set(accounts?.map((a) => (a.host ? `${a.provider} on ${a.host}` : a.provider)))].join(", ");
  throw new ConductorError(
    accounts === null
      ? `session "${id}" needs a ${provider} account, but this conductor has no accounts: pass createConductor({ accounts }) (a run config's "accounts"), or drop "account"`
      : `session "${id}" needs a ${provider} account${where}, but the accounts configure none (they have: ${have || "none"}); add one, or name a provider they have in "account"`,
    { code: "INVALID_OPTIONS", field: "account" },
  );
}

/**
 * The tmux session a remote run creates (or, attached, watches) is named by `sessionName`, else the id:
 * a name tmux cannot take failed every run at spawn, burning the restarts at once (an id like
 * "review.1" is a valid id).
 */
function checkRemoteName(config: SpawnConfig): void {
  const field = config.sessionName ? "sessionName" : "id";
  try {
    checkSessionName(config.sessionName ?? config.id);
  } catch (err) {
    const hint = field === "id" ? `; or keep the id and pass "sessionName"` : "";
    throw new ConductorError(`session "${config.id}": ${(err as Error).message}${hint}`, {
      code: "INVALID_OPTIONS",
      field,
    });
  }
}

/** A method named an id this conductor does not have: say which ids it has. */
export function unknownSession(method: string, id: string, known: string[]): Error {
  const list = known.length ? known.map((k) => `"${k}"`).join(", ") : "none";
  return new SessionError(`${method}("${id}"): this conductor has no session "${id}" (its sessions: ${list})`, {
    code: "UNKNOWN_SESSION",
  });
}

/** Processes of a session's trees that outlived SIGKILL: name them, say what to check. */
export function survivorsError(call: string, pids: number[]): Error {
  return new ConductorError(
    `${call}: ${pids.length} process(es) of the session trees outlived SIGKILL: pids ${pids.join(", ")}. ` +
      "They are stuck in the kernel (state D in /proc/<pid>/stat) or not ours to kill; check them before a restart.",
    { code: "PROCESSES_SURVIVED" },
  );
}
