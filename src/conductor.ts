/**
 * `createConductor`: the seed-compatible facade over the conductor actor system, and a view of it.
 * Sessions, refusals, live counts, placements and creation times are the conductor chart's context;
 * API events are made from what the charts emit (conductor-events). The facade owns only effects:
 * the event log, the reaper and each session's teardown (conductor-trees), the runtimes, signal traps.
 */
import { join, resolve } from "node:path";
import { type Actor, createActor, toPromise } from "xstate";
import { conductorScope, endCarriers } from "../actors/env-cookie.js";
import { setOutputLogPolicy } from "../actors/log-rotation.js";
import { processWatchdog } from "../actors/orphan-watchdog.js";
import { spawnMark } from "../actors/pid-window.js";
import { createProcessReaper } from "../actors/process-reaper.js";
import { spawnHelper, startSpawnHelper } from "../actors/pty-spawn.js";
import { sessionSystemId } from "../machines/conductor.machine.js";
import { STATES } from "../machines/session.types.js";
import { sessionCommands } from "./conductor-commands.js";
import { openControl } from "./conductor-control.js";
import { actorErrorAsDeath, createApiEvents, listenerMethods, now, sessionEventHandler } from "./conductor-events.js";
import {
  type ConductorOptions,
  copyOfConfig,
  makeLogsDir,
  type SpawnConfig,
  validateConductorOptions,
} from "./conductor-options.js";
import { probeReporter } from "./conductor-probes.js";
import { getConductorRegistry } from "./conductor-registry.js";
import { admitSpawn, type SpawnContext, sendSpawn, spawnEventOf, survivorsError } from "./conductor-spawn.js";
import { conductorLogic, openRuntimes, type Runtimes, SHUTDOWN_MARGIN_MS } from "./conductor-runtimes.js";
import { boundedWait, createTreeLedger, sessionKiller } from "./conductor-trees.js";
import { createEventLog } from "./event-log.js";
import { versionedAppend } from "./event-log-format.js";
import { attachMesh } from "./mesh-registry.js";
import { warnListenerErrors } from "./listener-errors.js";
import { watchLogsDir } from "./logs-dir-watch.js";
import { createNextRuns } from "./next-runs.js";
import { createResultCapture } from "./result-capture.js";
import { createRunArgv } from "./run-argv.js";
import { withReason } from "./errors.js";
import { shutdownSteps } from "./shutdown-steps.js";
import { registerForSignals } from "./signal-traps.js";
import { assertLogsDirFree, openSurvivorLedger, type SurvivorReport } from "./survivors.js";
import { createWallClock } from "../actors/wall-clock.js";

export { STATES, sessionSystemId };
export type { ConductorEventName, ConductorEventPayloads, EventTime } from "./conductor-events.js";

/** Conductors of this process created and not yet shut down (the last one retires the shared helpers). */
let liveConductors = 0;

export function createConductor(opts: ConductorOptions) {
  validateConductorOptions(opts);
  const logsDir = resolve(opts.logsDir);
  makeLogsDir(logsDir, opts.logsDir);
  assertLogsDirFree(logsDir);
  const graceMs = opts.graceMs ?? 10_000;
  // A write failure (disk full) is an event on the API; the log itself records the gap once it can.
  const onError = (e: object) => events.emit("logError", { ...e, at: now() });
  const eventLog = createEventLog(join(logsDir, "conductor-events.jsonl"), { onError });
  // A listener's throw is a line and, the first of each listener, a warning on stderr (listener-errors.ts).
  const log = warnListenerErrors(versionedAppend(eventLog), () => eventLog.closed);
  // Output logs rotate by size; each rotation is an event-log line, as the event log's own are. Their
  // failed writes are `logError` events too (with `session`), their lost bytes `output.gap` lines.
  const { outputLogMaxBytes: maxBytes, outputLogKeep: keep } = opts;
  const leaveOutputLogs = setOutputLogPolicy(logsDir, { maxBytes, keep, onEvent: log, onError });
  // The `shutdown` event comes after the event log is closed (the seed's order): a listener's error
  // then goes to stderr whole, not as a dropped line.
  const events = createApiEvents(log);
  const reaper = createProcessReaper({ log });
  const trees = createTreeLedger(reaper);
  // Every child carries this env cookie: the final check that no process of its trees is left.
  const cookieScope = conductorScope();
  // Before this conductor's first spawn: what carries its cookie was created after this (env-cookie.ts).
  const createdMark = spawnMark();
  // What a dead predecessor on this logsDir (or on `survivorsFrom`) left running is ended and reported (src/survivors.ts).
  const onSurvivors = (r: SurvivorReport) => events.emit("survivors", { ...r, at: now() });
  const alsoFrom = (opts.survivorsFrom ?? []).map((d) => resolve(d));
  const ledger = openSurvivorLedger(logsDir, cookieScope, { log, graceMs, onSurvivors, alsoFrom });
  // A retry the CLI's stream announces goes to its session's chart (PROBE.RETRY), which notes it; the
  // last bytes are read once the session may be final (`settle`): a stopped actor is not sent to.
  const nextRuns = createNextRuns();
  const capture = createResultCapture(log, (id, generation, retry, outputBytes) => {
    const ref = record().sessions[id];
    if (ref?.getSnapshot().status === "active") ref.send({ type: "PROBE.RETRY", generation, ...retry, outputBytes });
  });
  // Per-run argv: a leased codex profile's --profile, a resume by the agent's own session id (run-argv.ts).
  const runArgv = createRunArgv({
    envFor: (ref) => runtimes.broker?.envFor(ref),
    agentSessionIdOf: capture.agentSessionIdOf,
    log,
  });
  // The conductor's record, read on demand: the facade keeps no copy of it.
  const record = () => actor.getSnapshot().context;
  const placementOf = (id: string) => record().placement[id];
  const deps = {
    ...{ logsDir, graceMs, log, eventLog, reaper, trees, tap: capture.tap, cookieScope, placementOf },
    wrapLocal: runArgv.wrap,
    // A turn later: one found while the conductor is created (its state file read) reaches a listener
    // attached right after createConductor.
    onBrokerError: (error: string) => void setImmediate(() => events.emit("brokerError", { error, at: now() })),
  };
  let runtimes: Runtimes;
  try {
    runtimes = openRuntimes(opts, deps);
  } catch (err) {
    // A refused accounts or hosts file: no conductor runs, so its entry in the ledger goes too, at
    // once (a conductor created again on these logs right after was refused as "in use").
    abandonCreation();
    throw err;
  }
  const { broker: brokerRuntime, remote: remoteRuntime } = runtimes;
  const machine = conductorLogic(runtimes, deps);
  let actor: Actor<typeof machine>;
  try {
    actor = startConductorActor();
  } catch (err) {
    // An `inspect` observer (or a provided actor) that threw: no conductor runs, so nothing of it may
    // stay (a field review: the logsDir "in use by a running conductor" after, in the same process).
    void brokerRuntime?.settle();
    void remoteRuntime?.close();
    abandonCreation();
    throw err;
  }
  /** A creation that throws leaves the logsDir free, its files closed. */
  function abandonCreation(): void {
    ledger.abandon();
    void eventLog.close();
    leaveOutputLogs();
  }
  /** The conductor's actor, with its listeners, started; the broker runtime attached to its broker. */
  function startConductorActor(): Actor<typeof machine> {
    const actor = createActor(machine, {
      // Named in inspectors (the Stately inspector showed the root as `x:0`, its sessions' parent).
      id: "conductor",
      // Long waits also end on the wall clock: a suspend stops Node's timers (actors/wall-clock.ts).
      clock: createWallClock(),
      input: { graceMs, ...(brokerRuntime ? { broker: brokerRuntime.brokerInput } : {}) },
      ...(opts.inspect ? { inspect: opts.inspect } : {}),
    });
    actor.on("shutdownStarted", (e) => {
      log("conductor.shutdown", { reason: e.reason, sessions: Object.keys(record().sessions).length, live: e.live });
    });
    actor.on("actorError", (e) => {
      // A session's death is its own report too (spawnSession): this line says which actor threw.
      log("conductor.actor_error", { actor: e.session ? sessionSystemId(e.id) : e.id, error: e.error });
      if (e.id === "broker") events.emit("brokerError", { error: `the broker actor threw: ${e.error}`, at: now() });
    });
    actor.on("sessionRemoved", (e) => {
      capture.forget(e.id);
      runArgv.forget(e.id);
      log("session.removed", { session: e.id });
    });
    try {
      actor.start();
      brokerRuntime?.attach(actor.system.get("broker"));
    } catch (err) {
      actor.stop();
      throw err;
    }
    return actor;
  }
  log("conductor.start", { logsDir, pid: process.pid, maxRestarts: opts.maxRestarts ?? 3, graceMs });

  const spawnContext: SpawnContext = {
    ...{ opts, logsDir, checkHost: remoteRuntime?.checkHost ?? null },
    accounts: brokerRuntime?.brokerInput.accounts ?? null,
  };
  const isShuttingDown = () => record().shutdownReason !== null || actor.getSnapshot().status !== "active";

  /**
   * Throws what `spawnSession(config)` would throw (the schema, the launcher: binary, workdir, options;
   * the host; the account) and starts nothing: a caller with several sessions checks them all first,
   * so that one bad session never leaves the others started (the CLI's `run`).
   */
  function checkSession(config: SpawnConfig, sessions: Readonly<Record<string, unknown>> = record().sessions): void {
    admitSpawn(config, spawnContext, { shuttingDown: isShuttingDown(), sessions });
    spawnEventOf(config, spawnContext, new Date().toISOString());
  }

  /** What a new actor for a final session's id would be refused for (its id is taken until then). */
  const checkRespawn = (config: SpawnConfig) => checkSession(config, {});

  function spawnSession(config: SpawnConfig): string {
    admitSpawn(config, spawnContext, { shuttingDown: isShuttingDown(), sessions: record().sessions });
    const id = config.id;
    const { event: spawn, preset } = spawnEventOf(config, spawnContext, new Date().toISOString());
    // Everything that can throw runs before SPAWN: a refused spawn leaves no session behind.
    const registry = getConductorRegistry(); // unregister from the one registered in, even if swapped since
    const unregister = () => registry.unregister(id, api);
    registry.register(id, api);
    const ref = sendSpawn(actor, spawn, unregister);
    // A copy: a caller reusing or changing its object after the call changes no later restart.
    commands.configs.set(id, copyOfConfig(config));
    const { agent, spec } = spawn.session;
    if (preset) runArgv.register(id, { agent, resumeArgv: spec.resumeArgv }); // remote too: a leased --profile
    if (preset?.stream && !config.remote) {
      const file = preset.conductorWritesResult ? config.resultFile : undefined;
      capture.register(id, { format: preset.stream, ...(file ? { resultFile: resolve(file) } : {}) });
    }
    const onExit = (generation: number) => capture.finish(id, generation);
    // Final: read what the run printed so far (a verdict may end it before its exit is reported).
    const onFinal = () => {
      capture.settle(id);
      unregister();
    };
    const ranArgv = () => runArgv.ranArgv(id);
    const handle = sessionEventHandler(config, log, events, { preset, onExit, onFinal, ranArgv });
    ref.on("*", handle);
    // The session's own actor threw (a defect, not the CLI's): reported as its death, said why. The
    // conductor's chart counts it as final and the other sessions run on (conductor.machine.ts).
    ref.subscribe({
      error: (err) => {
        // XState leaves an errored actor's children running (their cleanup never runs, and a child
        // cannot be stopped from outside): its run is told to end as a kill ends it. It went on
        // without its session, and a spawn in flight at the helper outlived the shutdown (an orphan).
        ref.getSnapshot().children.pty?.send({ type: "CHILD.TERMINATE", reason: "session_error", graceMs });
        for (const e of actorErrorAsDeath(ref.getSnapshot().context, err)) handle(e);
      },
    });
    ref.on("*", probeReporter(config.probeOpts?.onProbe ?? opts.probeOpts?.onProbe, events, log));
    ref.on("*", nextRuns.listener(id));
    // A session of this id before it (removed, or restarted as a new actor) may still be ending its
    // tree (a grace under way): this one starts once that is gone, so two runs of an id never overlap.
    if (trees.busy(id)) {
      log("session.start_deferred", { session: id, why: "previous_tree" });
      void boundedWait(trees.whenGone(id), graceMs + SHUTDOWN_MARGIN_MS).then(() => {
        if (ref.getSnapshot().status === "active" && !isShuttingDown()) ref.send({ type: "START" });
      });
    } else ref.send({ type: "START" });
    return id;
  }

  const killSession = sessionKiller({
    ...{ actor, log, trees, cookieScope, since: createdMark },
    waitMs: graceMs + SHUTDOWN_MARGIN_MS,
  });

  const commands = sessionCommands({
    actor,
    log,
    resultOf: capture.resultOf,
    dueOf: (id) => ({ nextRunAt: nextRuns.nextRunAt(id), accountEtaAt: nextRuns.accountEtaAt(id) }),
    isShuttingDown,
    spawnSession,
    checkRespawn,
    previousTree: (id) => (trees.busy(id) ? boundedWait(trees.whenGone(id), graceMs + SHUTDOWN_MARGIN_MS) : null),
    allCompleted: (sessions) => events.emit("allCompleted", { sessions, at: now() }),
    ...(remoteRuntime ? { linkOf: remoteRuntime.linkOf } : {}),
  });
  const { sendInput, sendKeys, removeSession, getSnapshot, restartSession } = commands;

  let shutdownPromise: Promise<void> | null = null;
  function shutdown(reason = "shutdown"): Promise<void> {
    shutdownPromise ??= (async () => {
      const started = Date.now();
      // Each step runs whatever an earlier one threw (src/shutdown-steps.ts).
      const step = shutdownSteps(log, () => eventLog.closed);
      logsWatch.stop();
      actor.send({ type: "SHUTDOWN", reason });
      await toPromise(actor).catch(() => undefined);
      await step("broker", () => brokerRuntime?.settle());
      await step("remote", () => remoteRuntime?.close());
      await step("mesh", () => mesh.detach());
      await step("signals", unregisterSignals);
      const survivors = (await step("survivors", () => endCarriers(cookieScope, undefined, createdMark))) ?? [];
      liveConductors--;
      // The helper and the watchdog serve every conductor of the process: only the last one's shutdown
      // retires them (another conductor's helper, retired while it booted, held its spawns back).
      if (survivors.length === 0 && liveConductors === 0) {
        await step("watchdog", () => processWatchdog().retireIfIdle());
        await step("helper", () => spawnHelper()?.retireIfIdle());
      }
      // A control socket still opening (a stop while the run starts) says so while the log is open.
      await control.ready.catch(() => null);
      const pendingReaps = reaper.pending;
      log("conductor.shutdown_complete", { reason, durationMs: Date.now() - started, pendingReaps, survivors });
      leaveOutputLogs();
      await step("ledger", () => ledger.close());
      await step("event_log", () => eventLog.close());
      events.emit("shutdown", { reason, at: now() });
      await step("control", () => control.close());
      if (survivors.length > 0) throw survivorsError("shutdown()", survivors);
    })();
    return shutdownPromise;
  }

  const unregisterSignals = opts.handleSignals === false ? () => {} : registerForSignals({ shutdown });

  const { on, off } = listenerMethods<Conductor>(events.emitter, (): Conductor => api);

  const api = Object.freeze({
    spawnSession,
    checkSession: (config: SpawnConfig) => checkSession(config),
    killSession: (id: string, reason?: string) => withReason("killSession", reason, () => killSession(id, reason)),
    sendInput,
    sendKeys,
    removeSession,
    restartSession: (id: string, reason?: string) =>
      withReason("restartSession", reason, () => restartSession(id, reason)),
    getSnapshot,
    getMeshRegistry: () => mesh.registry,
    shutdown: (reason?: string) => withReason("shutdown", reason, () => shutdown(reason)),
    on,
    off,
    /** The conductor actor, for XState users: inspect it, `system.get('session:<id>')`, etc. */
    actor,
    get sessionCount() {
      return Object.keys(record().sessions).length;
    },
    get isShuttingDown() {
      return isShuttingDown();
    },
    get eventLogPath() {
      return eventLog.filePath;
    },
    /** With `control`, the open control socket (docs/control.md); `null` without. */
    get control() {
      return control.ready;
    },
  });
  const control = openControl(api, opts, logsDir, log);
  const mesh = attachMesh(api, opts);
  // The logs directory removed under the run: its files made again, and said (src/logs-dir-watch.ts).
  const logsWatch = watchLogsDir({ eventLog, ledger, control });
  // Their forks now, not in the first spawns' turns (issue 13: ~30 and ~12 ms there under load, a
  // conductor's page tables copied per fork): the helper before any pty of ours exists, so it inherits
  // no master, and it boots while the first sessions are set up. The last shutdown() retires both when idle.
  processWatchdog().arm();
  startSpawnHelper();
  liveConductors++;
  return api;
}

export interface Conductor extends ReturnType<typeof createConductor> {}
