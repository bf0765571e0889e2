/**
 * `createConductor`: the seed-compatible facade over the conductor actor system.
 * It owns the effects the machines only name: the pty actor, the process reaper, the event
 * log, signal traps and registries. Everything a session does reaches the log through the
 * events its statechart emits, so no move can be forgotten.
 */
import { EventEmitter } from "node:events";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { type ActorRefFrom, createActor, fromPromise, toPromise } from "xstate";
import { conductorScope, endCarriers, sessionScope } from "../actors/env-cookie.js";
import { createProcessReaper } from "../actors/process-reaper.js";
import { createPtyRunner } from "../actors/pty-process.js";
import { conductorMachine, sessionSystemId } from "../machines/conductor.machine.js";
import { sessionMachine, type SessionEmitted } from "../machines/session.machine.js";
import { FINAL_STATES, STATES } from "../machines/session.types.js";
import {
  checkKeys,
  checkPolicyParts,
  type ConductorOptions,
  policyFor,
  type SpawnConfig,
  validateConductorOptions,
} from "./conductor-options.js";
import { createBrokerRuntime } from "./broker-runtime.js";
import { getConductorRegistry } from "./conductor-registry.js";
import { createEventLog, describeArgv, redactEnv } from "./event-log.js";
import { versionedAppend } from "./event-log-format.js";
import { buildLaunchSync, type LaunchSpec, launchExtras, planLaunch } from "./launcher.js";
import { createConductorMeshBridge, createMeshRegistry, type MeshRegistry } from "./mesh-registry.js";
import { createResultCapture } from "./result-capture.js";
import { viewOf, type SessionSnapshot } from "./session-view.js";
import { createRemoteRuntime, routeChild } from "./remote-runtime.js";
import { registerForSignals } from "./signal-traps.js";

export { STATES };
export type ConductorEventName =
  | "stateChange"
  | "completed"
  | "dead"
  | "inputWait"
  | "allCompleted"
  | "shutdown"
  | "logError"
  | "account"
  | "accountWait";

type SessionRef = ActorRefFrom<typeof sessionMachine>;
interface SessionEntry {
  ref: SessionRef;
  config: SpawnConfig;
  createdAt: string;
  /** What the launcher decided (approvals, output, stream format); absent for `command`. */
  preset: LaunchSpec["preset"];
}

/** Extra time beyond graceMs for SIGKILLed trees to vanish before shutdown stops waiting. */
const SHUTDOWN_MARGIN_MS = 3_000;

export function createConductor(opts: ConductorOptions) {
  validateConductorOptions(opts);
  const logsDir = resolve(opts.logsDir);
  mkdirSync(logsDir, { recursive: true });
  const graceMs = opts.graceMs ?? 10_000;

  const emitter = new EventEmitter();
  // A write failure (disk full) is an event on the API; the log itself records the gap once it can.
  const eventLog = createEventLog(join(logsDir, "conductor-events.jsonl"), {
    onError: (e) => safeEmit("logError", e),
  });
  const log = versionedAppend(eventLog);
  const reaper = createProcessReaper({ log });
  const sessions = new Map<string, SessionEntry>();
  // Every child of this conductor carries this env cookie: the final check that no process of its
  // trees is left (setsid escapees included), whatever the reaper's bookkeeping says.
  const cookieScope = conductorScope();
  let shutdownPromise: Promise<void> | null = null;

  /** A throwing listener must never break a statechart mid-step. */
  const safeEmit = (name: ConductorEventName, payload?: unknown) => {
    for (const listener of emitter.listeners(name)) {
      try {
        (listener as (p: unknown) => void)(payload);
      } catch (err) {
        log("conductor.listener_error", { listener: name, error: String((err as Error)?.message ?? err) });
      }
    }
  };

  let brokerRuntime: ReturnType<typeof createBrokerRuntime> | null = null;
  let remoteRuntime: ReturnType<typeof createRemoteRuntime> | null = null;
  try {
    brokerRuntime = opts.accounts
      ? createBrokerRuntime({
          accounts: opts.accounts,
          stateFile: opts.brokerStateFile,
          credentialsDir: opts.credentialsDir,
          logsDir,
          log,
        })
      : null;
    remoteRuntime = opts.hosts
      ? createRemoteRuntime({
          hosts: opts.hosts,
          log,
          ...(reaper.track ? { track: (w: Promise<unknown>) => reaper.track!(w) } : {}),
          ...(opts.tmuxSocketName ? { socketName: opts.tmuxSocketName } : {}),
        })
      : null;
  } catch (err) {
    // A bad accounts or hosts file: say so in the log we opened, close it, and let the caller see why.
    log("conductor.config_error", { error: String((err as Error)?.message ?? err) });
    void eventLog.close();
    throw err;
  }
  const capture = createResultCapture(log);
  const ptyProcess = routeChild(
    createPtyRunner({
      reaper,
      log,
      tap: capture.tap,
      cookieScope,
      ...(brokerRuntime ? { envFor: brokerRuntime.envFor } : {}),
    }),
    remoteRuntime,
  );
  const machine = conductorMachine.provide({
    actors: {
      session: sessionMachine.provide({
        actors: { ptyProcess, ...(brokerRuntime ? { credentialHome: brokerRuntime.credentialHome } : {}) },
      }),
      awaitProcessTrees: fromPromise(async () => {
        // Children are stopped in the same step that started us: let their cleanups queue first.
        await new Promise((r) => setImmediate(r));
        await boundedWait(reaper.whenIdle(), graceMs + SHUTDOWN_MARGIN_MS);
      }),
      flushLog: fromPromise(() => eventLog.flush()),
    },
  });
  const inspect = opts.inspect;
  const actor = createActor(machine, {
    input: { graceMs, ...(brokerRuntime ? { broker: brokerRuntime.brokerInput } : {}) },
    ...(inspect ? { inspect } : {}),
  });
  actor.on("allCompleted", (e) => {
    log("conductor.all_completed", { sessions: e.sessions });
    safeEmit("allCompleted");
  });
  actor.start();
  brokerRuntime?.attach(actor.system.get("broker"));
  log("conductor.start", { logsDir, pid: process.pid, maxRestarts: opts.maxRestarts ?? 3, graceMs });

  function onSessionEvent(entry: SessionEntry, e: SessionEmitted) {
    const session = entry.config.id;
    switch (e.type) {
      case "stateChange":
        log("session.state_change", { session, from: e.from, to: e.to, reason: e.reason, restarts: e.restarts });
        safeEmit("stateChange", { sessionId: session, from: e.from, to: e.to, reason: e.reason });
        if (FINAL_STATES.has(e.to)) getConductorRegistry().unregister(session, api);
        return;
      case "spawn":
        log("session.spawn", {
          session,
          agent: entry.config.agent,
          pid: e.pid,
          attempt: e.generation,
          // The prompt is the user's text (it may hold secrets): the log keeps its length, not its words.
          argv: describeArgv(e.argv, entry.config.prompt ? [entry.config.prompt] : []),
          ...(entry.config.prompt ? { promptLength: entry.config.prompt.length } : {}),
          envKeys: redactEnv(entry.config.env),
          ...(entry.preset ? { approvals: entry.preset.approvals, output: entry.preset.output } : {}),
          mode: e.mode,
        });
        return;
      case "nudge":
        log("session.nudge", { session, attempt: e.generation, keys: e.keys });
        return;
      case "autoAnswer":
        log("session.auto_answer", { session, attempt: e.generation, keys: e.keys, question: e.question });
        return;
      case "restartWait":
        log("session.restart_wait", { session, delayMs: e.delayMs, failureMode: e.failureMode });
        return;
      case "exit":
        capture.finish(session, e.generation);
        log("session.exit", {
          session,
          attempt: e.generation,
          code: e.exitCode,
          signal: e.signal,
          failureMode: e.failureMode,
          lastError: e.lastError,
        });
        return;
      case "gone":
        log("reaper.tree_gone", { session, attempt: e.generation });
        return;
      case "inputWait":
        log("session.input_wait", {
          session,
          l1: "input_wait",
          pattern: e.pattern,
          kind: e.kind,
          question: e.question,
        });
        safeEmit("inputWait", {
          sessionId: session,
          pattern: e.pattern,
          line: e.line,
          kind: e.kind,
          question: e.question,
          choices: e.choices,
        });
        return;
      case "completed":
        safeEmit("completed", { sessionId: session });
        try {
          entry.config.onCompleted?.({ sessionId: session });
        } catch (err) {
          log("conductor.listener_error", {
            listener: "onCompleted",
            session,
            error: String((err as Error)?.message ?? err),
          });
        }
        return;
      case "dead":
        log("session.dead", { session, reason: e.reason, failureMode: e.failureMode, lastError: e.lastError });
        safeEmit("dead", { sessionId: session, reason: e.reason, failureMode: e.failureMode, lastError: e.lastError });
        return;
      case "account":
        log("session.account", {
          session,
          accountId: e.lease.accountId,
          provider: e.lease.provider,
          tier: e.lease.tier,
        });
        safeEmit("account", {
          sessionId: session,
          accountId: e.lease.accountId,
          provider: e.lease.provider,
          tier: e.lease.tier,
        });
        return;
      case "accountWait":
        log("session.account_wait", { session, etaMs: e.etaMs, reason: e.reason });
        safeEmit("accountWait", { sessionId: session, etaMs: e.etaMs, reason: e.reason });
        return;
    }
  }

  function spawnSession(config: SpawnConfig): string {
    if (shutdownPromise)
      throw new Error("Conductor is shutting down: spawnSession is refused once shutdown() was called");
    if (!config || typeof config !== "object")
      throw new TypeError(
        "spawnSession(config): config must be an object, e.g. { id: 'a', agent: 'codex', prompt: '...' }",
      );
    if (!config.id)
      throw new Error("session id is required, e.g. spawnSession({ id: 'review-1', agent: 'codex', prompt: '...' })");
    if (sessions.has(config.id)) throw new Error(`Session "${config.id}" already exists; ids are unique per conductor`);
    if (config.remote && !config.host)
      throw new Error("host is required for remote sessions, e.g. { remote: true, host: 'build-box' }");
    if (config.remote && config.account !== undefined) {
      throw new Error(
        `session "${config.id}": leased accounts are for local sessions only in this version; a remote agent uses the host's own login (drop "account" or run it locally)`,
      );
    }
    if (config.remote && !remoteRuntime)
      throw new Error(
        "remote sessions need a hosts file: createConductor({ hosts: './hosts.json' }) (see docs/remote.md)",
      );
    checkPolicyParts(`session "${config.id}": `, config.probeOpts, config.restart);
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
    if (config.remote) {
      remoteRuntime!.register(config.id, {
        host: config.host!,
        ...(config.sessionName ? { sessionName: config.sessionName } : {}),
        ...(config.paneTarget ? { paneTarget: config.paneTarget } : {}),
        ...(config.attach ? { attach: true } : {}),
        ...(config.completionToken ? { completionToken: config.completionToken } : {}),
        ...(config.hostDownTimeoutMs !== undefined ? { hostDownTimeoutMs: config.hostDownTimeoutMs } : {}),
      });
    }
    const createdAt = new Date().toISOString();
    actor.send({
      type: "SPAWN",
      start: false,
      session: {
        id: config.id,
        agent: launch.agent,
        spec: {
          argv: launch.argv,
          env: launch.env,
          ...(launch.cwd ? { cwd: launch.cwd } : {}),
          ...(launch.resumeArgv ? { resumeArgv: launch.resumeArgv } : {}),
          ...(opts.cols ? { cols: opts.cols } : {}),
          ...(opts.rows ? { rows: opts.rows } : {}),
        },
        outPath: join(logsDir, `${config.id}.out.log`),
        errPath: join(logsDir, `${config.id}.err.log`),
        policy: policyFor(opts, config),
        ...(accountFor(config) ? { account: accountFor(config)! } : {}),
      },
    });
    const ref = actor.getSnapshot().context.sessions[config.id];
    if (!ref) throw new Error(`Session "${config.id}" could not be created (the conductor refused it)`);
    const entry: SessionEntry = { ref, config, createdAt, preset: launch.preset };
    if (launch.preset?.stream && !config.remote) {
      const file = launch.preset.conductorWritesResult ? config.resultFile : undefined;
      capture.register(config.id, { format: launch.preset.stream, ...(file ? { resultFile: resolve(file) } : {}) });
    }
    sessions.set(config.id, entry);
    ref.on("*", (e) => onSessionEvent(entry, e as SessionEmitted));
    getConductorRegistry().register(config.id, api);
    ref.send({ type: "START" });
    return config.id;
  }

  async function killSession(id: string, reason = "user_kill"): Promise<void> {
    const entry = sessions.get(id);
    if (!entry || FINAL_STATES.has(entry.ref.getSnapshot().context.state)) return;
    log("session.kill", { session: id, reason });
    actor.send({ type: "KILL", id, reason });
    await new Promise((r) => setImmediate(r));
    await boundedWait(reaper.whenIdle(), graceMs + SHUTDOWN_MARGIN_MS);
    const survivors = await endCarriers(sessionScope(cookieScope, id));
    if (survivors.length > 0) throw survivorsError(`killSession("${id}")`, survivors);
  }

  function sendInput(id: string, text: string): boolean {
    const entry = sessions.get(id);
    if (!entry || typeof text !== "string") return false;
    const ctx = entry.ref.getSnapshot().context;
    if (!ctx.childRunning || FINAL_STATES.has(ctx.state)) return false;
    entry.ref.send({ type: "INPUT", text });
    // Never the text: what people type into a prompt can be a secret.
    log("session.input", { session: id, length: text.length + 1 });
    return true;
  }

  /** Named keys (`["Down", "Enter"]`, `["Esc"]`, `["2", "Enter"]`) to answer a menu; false if not running. */
  function sendKeys(id: string, keys: readonly string[]): boolean {
    checkKeys("sendKeys(id, keys): keys", keys);
    const entry = sessions.get(id);
    if (!entry) return false;
    const ctx = entry.ref.getSnapshot().context;
    if (!ctx.childRunning || FINAL_STATES.has(ctx.state)) return false;
    entry.ref.send({ type: "KEYS", keys });
    log("session.keys", { session: id, keys });
    return true;
  }

  function getSnapshot(): SessionSnapshot[] {
    return [...sessions.values()].map((s) => ({
      ...viewOf(s.ref.getSnapshot(), s.createdAt, capture.resultOf(s.config.id)),
      remote: Boolean(s.config.remote),
      host: s.config.host ?? null,
    }));
  }

  let meshRegistry: MeshRegistry | null = null;
  let detachMesh = () => {};

  function shutdown(reason = "shutdown"): Promise<void> {
    shutdownPromise ??= (async () => {
      const started = Date.now();
      const live = getSnapshot().filter((s) => !FINAL_STATES.has(s.state)).length;
      log("conductor.shutdown", { reason, sessions: sessions.size, live });
      actor.send({ type: "SHUTDOWN", reason });
      await toPromise(actor).catch(() => undefined);
      await brokerRuntime?.settle();
      await remoteRuntime?.close();
      detachMesh();
      unregisterSignals();
      const survivors = await endCarriers(cookieScope);
      const leftovers = reaper.pending;
      log("conductor.shutdown_complete", {
        reason,
        durationMs: Date.now() - started,
        pendingReaps: leftovers,
        survivors,
      });
      await eventLog.close();
      safeEmit("shutdown");
      if (survivors.length > 0) throw survivorsError("shutdown()", survivors);
    })();
    return shutdownPromise;
  }

  const unregisterSignals = opts.handleSignals === false ? () => {} : registerForSignals({ shutdown });

  const api = Object.freeze({
    spawnSession,
    killSession,
    sendInput,
    sendKeys,
    getSnapshot,
    getMeshRegistry: () => meshRegistry,
    shutdown,
    on(event: ConductorEventName, fn: (payload: any) => void) {
      emitter.on(event, fn);
      return api;
    },
    off(event: ConductorEventName, fn: (payload: any) => void) {
      emitter.off(event, fn);
      return api;
    },
    /** The conductor actor, for XState users: inspect it, `system.get('session:<id>')`, etc. */
    actor,
    get sessionCount() {
      return sessions.size;
    },
    get isShuttingDown() {
      return shutdownPromise !== null;
    },
    get eventLogPath() {
      return eventLog.filePath;
    },
  });

  if (opts.enableMesh !== false) {
    meshRegistry = opts.meshRegistry ?? createMeshRegistry();
    const bridge = createConductorMeshBridge(api, meshRegistry);
    bridge.attach();
    detachMesh = () => bridge.detach();
  }
  return api;
}

export type Conductor = ReturnType<typeof createConductor>;
export { sessionSystemId };

/** `account: "codex"` or `account: true` (the agent's own provider). */
function accountFor(config: SpawnConfig): { provider: string } | null {
  if (config.account === undefined || config.account === (false as unknown)) return null;
  return { provider: config.account === true ? config.agent : config.account };
}

/** Resolving would be a lie: say which pids outlived SIGKILL (stuck in 'D' state, or not ours). */
function survivorsError(call: string, pids: number[]): Error {
  return new Error(
    `${call}: ${pids.length} process(es) of the session trees outlived SIGKILL: pids ${pids.join(", ")}. ` +
      "They are stuck in the kernel (state D in /proc/<pid>/stat) or not ours to kill; check them before a restart.",
  );
}

function boundedWait(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(() => undefined),
    new Promise<void>((r) => {
      timer = setTimeout(r, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
