/**
 * `conductor run [config.json]`: run every session of a config under supervision, show their
 * lives, answer questions the config has answers for, shut down when all are final.
 */
import { existsSync, readFileSync } from "node:fs";
import { dropMadeLogs } from "./drop-logs.js";
import { basename, dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { AccountsConfigError } from "../accounts-config.js";
import { HostsConfigError } from "../hosts-config.js";
import { ConductorError, OptionsError } from "../errors.js";
import {
  ConfigError,
  conductorOptionsOf,
  loadRunConfig,
  type RunConfig,
  type SessionConfig,
  spawnConfigOf,
} from "../config.js";
import { createConductor } from "../conductor.js";
import type { ControlServer } from "../control/server.js";
import { checkName, freeName } from "../control/registry.js";
import { startViewer, type Viewer } from "../viewer/index.js";
import { type Flags, UsageError } from "./args.js";
import { detach, tellParentReady } from "./detach.js";
import { type RunErrorContext, refusedSessions, runErrorMessage } from "./run-errors.js";
import { otherRuns, runLogsDir } from "./run-logs.js";
import { narrateRun, sayingSurvivors } from "./run-narration.js";
import { endRun } from "./run-end.js";
import { createStatusView } from "./status-view.js";

export interface RunFlags {
  configPath?: string;
  logsDir?: string;
  /** Serve the live viewer on 127.0.0.1 at this port (0: a free one) while the run lasts. */
  inspect?: number;
  /** With `inspect`: seconds the viewer stays up after the run (default: until SIGINT/SIGTERM). */
  lingerSeconds?: number;
  /** Registry name of this conductor (default: the config file's base name). */
  name?: string;
  /** No control socket (default: one, in logsDir). */
  control?: boolean;
  /** `--no-color`: no colour in the live table even on a terminal. */
  color?: boolean;
}

/** `conductor run …` from parsed flags; `--detach` starts the same command in the background. */
export async function runFromFlags(flags: Flags, positionals: string[], rawArgs: string[]): Promise<number> {
  // `--inspect 7777`: the port was meant, but a bare --inspect takes none (it picks a free one).
  const port = positionals.find((p) => /^\d{1,5}$/.test(p));
  if (flags.inspect === "0" && port !== undefined)
    throw new UsageError(`--inspect takes its port after "=": --inspect=${port} (a bare --inspect picks a free port)`);
  if (positionals.length > 1)
    throw new UsageError(`one config file at a time (got "${positionals[0]}" and "${positionals[1]}")`);
  const run: RunFlags = {};
  if (positionals[0]) run.configPath = positionals[0];
  if (typeof flags["logs-dir"] === "string") {
    if (flags["logs-dir"] === "")
      throw new UsageError("--logs-dir needs a directory, e.g. --logs-dir ./logs (got an empty one)");
    run.logsDir = flags["logs-dir"];
  }
  if (flags.color === false) run.color = false;
  if (typeof flags.inspect === "string") {
    const port = flags.inspect;
    if (!/^\d{1,5}$/.test(port) || Number(port) > 65_535)
      throw new UsageError(`--inspect=PORT needs a port number from 0 to 65535, e.g. --inspect=7777 (got "${port}")`);
    run.inspect = Number(port);
  }
  if (typeof flags.linger === "string") {
    if (!/^\d+(\.\d+)?$/.test(flags.linger))
      throw new UsageError(`--linger needs seconds, e.g. --linger 60 (got "${flags.linger}")`);
    if (run.inspect === undefined) throw new UsageError("--linger only applies with --inspect (the viewer lingers)");
    run.lingerSeconds = Number(flags.linger);
    // A timer of more than 2³¹−1 ms fires at once (Node's TimeoutOverflowWarning): the viewer closed at once.
    if (run.lingerSeconds * 1000 > 2 ** 31 - 1)
      throw new UsageError(`--linger is at most 2147483 seconds (~24.8 days), got ${flags.linger}`);
  }
  if (typeof flags.name === "string") {
    try {
      run.name = checkName(flags.name);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  if (flags.control === false) run.control = false;
  if (flags.detach) {
    if (run.control === false) throw new UsageError("--detach needs the control socket (drop --no-control)");
    return detach(run, rawArgs, DEMO_CONFIG);
  }
  return runCommand(run);
}

/** The run's name: --name, else the config file's base name ("demo" for the demo). */
export function defaultName(configPath: string | undefined): string {
  const base = basename(configPath ?? DEMO_CONFIG, extname(configPath ?? DEMO_CONFIG)).replace(/\.config$/, "");
  const clean = base.replace(/[^A-Za-z0-9._-]/g, "-").replace(/^[^A-Za-z0-9]+/, "");
  return freeName(clean.slice(0, 64) || "conductor");
}

const packageRoot = fileURLToPath(new URL("../../../", import.meta.url));
export const DEMO_CONFIG = join(packageRoot, "demo", "demo.config.json");

/** Exit codes: 0 every session ended as expected, 1 some did not, 2 bad config or usage. */
export async function runCommand(flags: RunFlags, out = process.stdout, err = process.stderr): Promise<number> {
  const configPath = flags.configPath ?? DEMO_CONFIG;
  let config: RunConfig;
  try {
    config = await loadRunConfig(configPath);
  } catch (e) {
    if (e instanceof ConfigError) {
      err.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  // Refusals are said in the command line's terms (run-errors.ts), not the library calls made here.
  const ctx: RunErrorContext = { config, ...(flags.configPath ? { configPath: flags.configPath } : {}) };
  if (flags.logsDir !== undefined) ctx.logsDirFlag = flags.logsDir;
  const logsDir = runLogsDir(flags.logsDir ?? config.logsDir);
  // A run refused for its config leaves no logs directory of its own behind: a config being fixed
  // by trial left a `.conductor-logs/run-<time>/` per attempt (a field review). The error is on stderr.
  let made: string | null = null; // the topmost directory this run will make (`.conductor-logs` too)
  for (let d = logsDir; !existsSync(d) && dirname(d) !== d; d = dirname(d)) made = d;
  const dropLogs = () => dropMadeLogs(logsDir, made);
  let conductor: ReturnType<typeof createConductor>;
  try {
    conductor = createConductor({
      ...conductorOptionsOf(config, logsDir),
      // What a killed earlier run of this project left running is ended too (run-logs.ts).
      survivorsFrom: otherRuns(logsDir),
      enableMesh: false,
      // The control socket is the conductor's own (closed by its shutdown); on unless --no-control.
      control:
        flags.control === false
          ? false
          : { name: flags.name ?? defaultName(flags.configPath), version: packageVersion() },
      // A config's broker state is the library's default, beside its accounts file, so every run on
      // those accounts shares cool-downs and claims; the built-in demo's accounts file is in the
      // package, so the demo keeps its state in its logs.
      ...(!flags.configPath ? { brokerStateFile: join(logsDir, "broker-state.json") } : {}),
    });
  } catch (e) {
    // A bad accounts file is a configuration error like any other: say where, exit 2.
    const inUse = e instanceof ConductorError && e.code === "LOGS_DIR_IN_USE";
    if (e instanceof AccountsConfigError || e instanceof HostsConfigError || e instanceof OptionsError || inUse) {
      // A file the config names is reported with the key that named it, so the user knows where to look.
      const key = e instanceof HostsConfigError ? "hosts" : e instanceof AccountsConfigError ? "accounts" : null;
      const via = key && flags.configPath && typeof config[key] === "string" ? `"${key}" in ${flags.configPath}: ` : "";
      err.write(`conductor: ${via}${e instanceof OptionsError ? runErrorMessage(e, ctx) : (e as Error).message}\n`);
      if (!inUse) dropLogs();
      return 2;
    }
    throw e;
  }
  const survivors = sayingSurvivors(conductor);
  // The accounts' shared state failing is said on stderr (once per error), not only in the log.
  const brokerErrors = new Set<string>();
  conductor.on("brokerError", (e) => {
    if (brokerErrors.has(e.error)) return;
    brokerErrors.add(e.error);
    err.write(
      `conductor: the accounts' state file failed: ${e.error}; cool-downs are not kept and accounts are not claimed against other conductors until it works\n`,
    );
  });
  // Every session is checked before any starts: one that cannot (a binary not on PATH, an unknown
  // host) must not leave the others started, then killed under its error's name (a field review).
  const refused = refusedSessions(conductor, config.sessions, ctx);
  if (refused.length > 0) {
    await conductor.shutdown("config_error");
    dropLogs();
    err.write(
      `conductor: ${refused.length === 1 ? "a session" : `${refused.length} sessions`} cannot start; nothing was started:\n${refused.map((m) => `  - ${m}\n`).join("")}`,
    );
    return 2;
  }
  let control: ControlServer | null = null;
  if (flags.control !== false) {
    try {
      control = await conductor.control;
    } catch (e) {
      // Refused (a conductor of that name runs): like any refusal, no logs directory of its own is left.
      await conductor.shutdown("control_error");
      dropLogs();
      err.write(`conductor: ${runErrorMessage(e, ctx)}\n`);
      return 2;
    }
  }
  let viewer: Viewer | null = null;
  if (flags.inspect !== undefined) {
    try {
      viewer = await startViewer(conductor, { port: flags.inspect, ...(control ? { control: control.handler } : {}) });
      control?.setViewerUrl(viewer.url);
    } catch (e) {
      await conductor.shutdown("viewer_error");
      await control?.close();
      err.write(`conductor: --inspect: ${(e as Error).message}\n`);
      return 2;
    }
  }
  const view = createStatusView(out, () => conductor.getSnapshot(), Date.now(), flags.color !== false);
  out.write(
    `conductor: ${config.sessions.length} session(s) from ${flags.configPath ? configPath : "the built-in demo"}; logs in ${logsDir}\n`,
  );
  if (control)
    out.write(
      `conductor: this is "${control.name}" (pid ${process.pid}); control socket ${control.socketPath}\n` +
        `  try: conductor ls --name ${control.name}   conductor logs --name ${control.name} <id> -f\n`,
    );
  if (viewer) out.write(`conductor: live view at ${viewer.url} (open it in a browser)\n`);
  narrateRun(conductor, view, config);
  survivors.say((line) => view.note(line));
  // `allCompleted` can fire while the loop below is still spawning (a session can end inside
  // spawnSession, e.g. no account): the run is over only once every configured session is final.
  let spawnedAll = false;
  let finish = () => {};
  const allDone = new Promise<void>((r) => (finish = r));
  const checkDone = () => {
    const snaps = conductor.getSnapshot();
    if (
      spawnedAll &&
      snaps.length === config.sessions.length &&
      snaps.every((x) => x.state === "completed" || x.state === "dead")
    )
      finish();
  };
  conductor.on("allCompleted", checkDone);
  // `conductor stop` (or any shutdown) ends the run too, with whatever state each session reached.
  conductor.on("shutdown", () => finish());

  let spawning: SessionConfig | undefined;
  try {
    for (spawning of config.sessions) conductor.spawnSession(spawnConfigOf(spawning));
  } catch (e) {
    // A stop (a signal, `conductor stop`) while the run opened its socket or viewer is no config
    // problem (it was exit 2): the run ends as a stopped one, its summary saying what never started.
    if (conductor.isShuttingDown)
      return endRun({ conductor, config, ctx, view, control, viewer, lingerSeconds: flags.lingerSeconds }, out, err);
    // Whatever else spawnSession refused (binary not found, unknown host, bad option) is a config problem.
    await conductor.shutdown("spawn_error");
    view.close();
    await viewer?.close();
    await control?.close();
    err.write(`conductor: cannot start a session: ${runErrorMessage(e, ctx, spawning)}\n`);
    return 2;
  }
  spawnedAll = true;
  // Only now: a run whose sessions could not even be spawned (a binary not on PATH) exits 2, and a
  // detaching parent says so instead of "running in the background" (found by a field review).
  tellParentReady({
    name: control?.name ?? null,
    socket: control?.socketPath ?? null,
    logsDir,
    viewerUrl: viewer?.url ?? null,
  });
  checkDone();

  await allDone;
  return endRun({ conductor, config, ctx, view, control, viewer, lingerSeconds: flags.lingerSeconds }, out, err);
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as { version: string }).version;
}
