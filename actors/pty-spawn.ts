/**
 * How a local pty is started: the child's environment, the checks node-pty does not make, and the
 * queue that starts them a few per turn of the event loop. pty-run.ts runs what this starts.
 * On Linux the spawn helper forks (spawn-helper.ts; its Perl program, or with
 * `STATECHART_CONDUCTOR_SPAWN=node-helper` or no perl its Node one); elsewhere, or with
 * `STATECHART_CONDUCTOR_SPAWN=node-pty`, node-pty forks on this thread.
 */
import { accessSync, closeSync, constants as fsc, statSync, type WriteStream } from "node:fs";
import { resolve } from "node:path";
import pty from "node-pty";
import type { PtyProcessInput } from "../machines/session.types.js";
import { inheritedColourOff } from "./colour-env.js";
import { COOKIE_VAR } from "./env-cookie.js";
import { endStream, openLog } from "./log-file.js";
import { killCgroup, removeCgroup, runCgroup } from "./process-cgroup.js";
import { firstExecutable, shimLaunch, shimTools } from "./pty-shim.js";
import { type HelperExit, SpawnHelper } from "./spawn-helper.js";
import { MasterTerm, type PtyTerm, ptyNative } from "./spawn-pty-term.js";
import { spawnQueue } from "./spawn-queue.js";

export const SPAWN_SWITCH = "STATECHART_CONDUCTOR_SPAWN";
/** Turns a spawn waits for the booting helper or a turn with room before node-pty forks it anyway. */
export const BOOT_WAIT_TURNS = 100;

/** What a spawn needs of the transport's dependencies. */
export interface SpawnDeps {
  log?: (event: string, data: Record<string, unknown>) => void;
  /** POSIX shell that runs the shim. Default /bin/sh. */
  shell?: string;
  /** Resolves `spec.envRef` (leased credentials kept out of snapshots) to environment variables. */
  envFor?: (ref: string) => LeasedEnv | undefined;
}

/** A lease's part of a child's environment: what it sets, and what the child must not inherit. */
export interface LeasedEnv {
  set: Readonly<Record<string, string>>;
  /** Names left out of the inherited and the session's env (the CLI would use them over the lease's login). */
  unset: readonly string[];
}

// Variables that describe the conductor's own terminal, not the child's pty. node-pty only
// strips some of these when env === process.env, and we always pass a merged copy.
const DROP_ENV = [
  "COLUMNS",
  "LINES",
  "TMUX",
  "TMUX_PANE",
  "STY",
  "WINDOW",
  "WINDOWID",
  "TERMCAP",
  "TERM_PROGRAM",
  "TERM_PROGRAM_VERSION",
  "TERM_SESSION_ID",
  "ITERM_SESSION_ID",
  "VTE_VERSION",
  "KITTY_WINDOW_ID",
  "WT_SESSION",
  "COLORTERM",
];

export function childEnv(
  extra: Readonly<Record<string, string>> = {},
  unset: readonly string[] = [],
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (const k of DROP_ENV) delete env[k];
  const merged: Record<string, string> = { ...env, ...extra, TERM: "xterm-256color" };
  for (const k of unset) delete merged[k];
  return merged;
}

export interface Spawned {
  out: WriteStream | undefined;
  err: WriteStream | undefined;
  term?: PtyTerm;
  error?: string;
  /** The run's own cgroup (process-cgroup.ts `runCgroup`), where one could be made. */
  cgroup?: string;
}

let helper: SpawnHelper | undefined | null;
/** The process's spawn helper, or null where node-pty forks (no setsid, not Linux, or switched off). */
export function spawnHelper(): SpawnHelper | null {
  if (helper !== undefined) return helper;
  const setsid = firstExecutable(["/usr/bin/setsid", "/bin/setsid"]);
  const off = process.env[SPAWN_SWITCH] === "node-pty" || process.platform !== "linux" || !setsid;
  const { setpriv, bash } = shimTools();
  const perl =
    process.env[SPAWN_SWITCH] === "node-helper" ? undefined : firstExecutable(["/usr/bin/perl", "/bin/perl"]);
  helper = off
    ? null
    : new SpawnHelper({
        setsid,
        ...(setpriv ? { setpriv } : {}),
        ...(bash ? { bash } : {}),
        ...(perl ? { perl } : {}),
      });
  return helper;
}

/** Replaces the process's spawn helper (null: node-pty forks here). For tests of a helper that cannot start. */
export function setSpawnHelper(h: SpawnHelper | null | undefined): void {
  helper = h;
}

/** Starts the process's spawn helper, if it forks here (src/conductor.ts: before any pty of ours exists). */
export function startSpawnHelper(): void {
  const h = spawnHelper();
  if (h && !h.failed) h.start();
}

/**
 * The spawn helper if it is ready, or null where node-pty forks here: no helper on this platform, one
 * still starting (the first sessions do not wait for a Node start: a spawn's pid, and so input to it,
 * comes a turn or two after `spawnSession`), or one that could not start (`onFailed` hears why, for the
 * session's event log).
 */
function readyHelper(onFailed: (reason: string) => void): SpawnHelper | null {
  const h = spawnHelper();
  if (!h) return null;
  if (h.failed) {
    onFailed(`${h.failed}; node-pty forks on the conductor's thread instead`);
    return null;
  }
  // Started here if no conductor did (a transport used on its own): still before any pty of ours exists.
  h.start();
  return h.ready ? h : null;
}

/** A helper runs but has not said it is ready yet. */
function helperBooting(): boolean {
  const h = spawnHelper();
  return h !== null && !h.failed && !h.ready;
}

/** Opens a pty here and has the helper start `launch` on it; the master is read here (spawn-helper.ts). */
async function helperSpawn(
  h: SpawnHelper,
  launch: { file: string; args: string[] },
  size: { cols: number; rows: number },
  cwd: string,
  env: Record<string, string>,
): Promise<PtyTerm> {
  const { master, slave, pty: tty } = ptyNative().open(size.cols, size.rows);
  // Not inherited by anything this process spawns meanwhile: the helper opens the slave by name.
  closeSync(slave);
  let term: MasterTerm | undefined;
  let early: HelperExit | undefined;
  try {
    const pid = await h.spawn({ tty, ...launch, cwd, env: { ...env, PWD: cwd } }, (exit) => {
      if (term) term.childExited(exit);
      else early = exit; // exited before its terminal was set up: handed over below
    });
    // Answers come in bursts (one pipe read may carry dozens): each takes a turn of the queue, while
    // the child's output waits in the pty, unread until the master is read here.
    await new Promise<void>((r) => spawnQueue.add(r));
    term = new MasterTerm(pid, master);
    if (early) term.childExited(early);
    return term;
  } catch (e) {
    closeSync(master);
    throw e;
  }
}

/**
 * node-pty does not fail on a bad cwd or program: its forked helper prints "chdir(2) failed" /
 * "execvp(3) failed" and exits 1. Checked first to report a spawn error; returns the cwd.
 */
function checkSpawn(spec: PtyProcessInput["spec"], shell: string): string {
  const cwd = spec.cwd ?? process.cwd();
  const prog = spec.argv[0];
  if (prog === undefined) throw new Error("empty argv");
  if (!statSync(cwd).isDirectory()) throw new Error(`cwd is not a directory: ${cwd}`);
  accessSync(shell, fsc.X_OK);
  if (prog.includes("/")) accessSync(resolve(cwd, prog), fsc.X_OK);
  return cwd;
}

/** A spawn that finished after its run was closed: nothing may outlive the run, so end what it started. */
export function abandonSpawn(spawned: Spawned): void {
  void endStream(spawned.out);
  void endStream(spawned.err);
  if (!spawned.term) return;
  const { pid } = spawned.term;
  (spawned.term as { destroy?(): void }).destroy?.();
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    /* gone */
  }
  if (spawned.cgroup) killCgroup(spawned.cgroup); // emptied now; removed with this process's cgroup
}

/** Why a spawn would fail, known before it waits for its turn (undefined: it may go ahead). */
export function spawnRefused(spec: PtyProcessInput["spec"], shell: string): string | undefined {
  try {
    checkSpawn(spec, shell);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** Open files and the spawned pty (carrying `cookie`), or why the spawn failed. */
export async function spawnPty(
  deps: SpawnDeps,
  input: PtyProcessInput,
  nonce: string,
  cookie: string,
): Promise<Spawned> {
  const { spec } = input;
  const shell = deps.shell ?? "/bin/sh";
  // A failed log write is a line in the event log, never silent (a full disk: issue 12).
  const logError = (path?: string) => (e: Error) =>
    deps.log?.("pty.log_error", { session: input.sessionId, generation: input.generation, path, error: e.message });
  const out = openLog(input.outPath, logError(input.outPath));
  const err = openLog(input.errPath, logError(input.errPath));
  let cgroup: string | undefined;
  try {
    const cwd = checkSpawn(spec, shell);
    const size = { cols: spec.cols ?? 120, rows: spec.rows ?? 40 };
    // The cookie goes last: a session's env can never drop it (see env-cookie.ts).
    const leased = spec.envRef ? deps.envFor?.(spec.envRef) : undefined;
    const colourOff = spec.inkJudged ? inheritedColourOff(process.env, spec.env) : [];
    const unset = [...(leased?.unset ?? []), ...colourOff];
    const env = childEnv({ ...spec.env, ...leased?.set, [COOKIE_VAR]: cookie }, unset);
    const dropped = unset.filter((k) => process.env[k] !== undefined || spec.env?.[k] !== undefined);
    // Names only: the run's log says which variables it kept from the agent (a lease's credentials,
    // an inherited switch that would take an ink-judged CLI's colour: colour-env.ts).
    if (dropped.length > 0)
      deps.log?.("pty.env_unset", { session: input.sessionId, generation: input.generation, names: dropped });
    const unavailable = (reason: string) =>
      deps.log?.("pty.helper_unavailable", { session: input.sessionId, generation: input.generation, reason });
    let h = readyHelper(unavailable);
    // While the helper boots, node-pty forks here only in a turn with room for a fork (~10–25 ms of a
    // conductor's page tables): in one the embedder's calls already filled, the spawn takes another turn
    // and finds the helper ready, or a quieter turn (issue 13: the first turns' node-pty forks).
    // At most BOOT_WAIT_TURNS turns: on a loaded machine every turn may stay full while the helper's
    // boot takes seconds, or another conductor's shutdown retires the booting helper (retireIfIdle sees
    // no run): a spawn that waited on either never started (a hog-run hang of the model-based test).
    for (let turns = 0; !h && helperBooting() && !spawnQueue.hasRoom && turns < BOOT_WAIT_TURNS; turns++) {
      await new Promise<void>((r) => spawnQueue.add(r));
      h = readyHelper(unavailable);
    }
    cgroup = runCgroup(`${input.sessionId}.${input.generation}`);
    const tools = { ...shimTools(), ...(cgroup ? { cgroup } : {}) };
    const ran = cgroup ? { cgroup } : {};
    if (h) {
      const launch = shimLaunch(shell, nonce, spec.argv, { ...tools, setsid: h.setsid });
      return { out, err, term: await helperSpawn(h, launch, size, cwd, env), ...ran };
    }
    const launch = shimLaunch(shell, nonce, spec.argv, tools);
    // encoding null: raw Buffers, exact bytes to the log (node-pty's types say string).
    const term = pty.spawn(launch.file, launch.args, { name: "xterm-256color", ...size, cwd, env, encoding: null });
    return { out, err, term: term as unknown as PtyTerm, ...ran };
  } catch (e) {
    if (cgroup) removeCgroup(cgroup); // nothing started in it
    return { out, err, error: e instanceof Error ? e.message : String(e) };
  }
}
