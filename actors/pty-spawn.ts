/**
 * How a local pty is started: the child's environment, the checks node-pty does not make, and the
 * queue that forks one pty per turn of the event loop. pty-transport.ts runs what this starts.
 */
import { accessSync, constants as fsc, statSync, type WriteStream } from "node:fs";
import { resolve } from "node:path";
import pty from "node-pty";
import type { PtyProcessInput } from "../machines/session.types.js";
import { COOKIE_VAR } from "./env-cookie.js";
import { openLog } from "./log-file.js";
import { shimLaunch } from "./pty-shim.js";

/** What a spawn needs of the transport's dependencies. */
export interface SpawnDeps {
  log?: (event: string, data: Record<string, unknown>) => void;
  /** POSIX shell that runs the shim. Default /bin/sh. */
  shell?: string;
  /** Resolves `spec.envRef` (leased credentials kept out of snapshots) to environment variables. */
  envFor?: (ref: string) => Readonly<Record<string, string>> | undefined;
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

export function childEnv(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (const k of DROP_ENV) delete env[k];
  return { ...env, ...extra, TERM: "xterm-256color" };
}

export interface Spawned {
  out: WriteStream | undefined;
  err: WriteStream | undefined;
  term?: pty.IPty;
  error?: string;
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
export function spawnPty(deps: SpawnDeps, input: PtyProcessInput, nonce: string, cookie: string): Spawned {
  const { spec } = input;
  const shell = deps.shell ?? "/bin/sh";
  // A failed log write is a line in the event log, never silent (a full disk: issue 12).
  const logError = (path?: string) => (e: Error) =>
    deps.log?.("pty.log_error", { session: input.sessionId, generation: input.generation, path, error: e.message });
  const out = openLog(input.outPath, logError(input.outPath));
  const err = openLog(input.errPath, logError(input.errPath));
  try {
    const cwd = checkSpawn(spec, shell);
    const launch = shimLaunch(shell, nonce, spec.argv);
    const term = pty.spawn(launch.file, launch.args, {
      name: "xterm-256color",
      cols: spec.cols ?? 120,
      rows: spec.rows ?? 40,
      cwd,
      // The cookie goes last: a session's env can never drop it (see env-cookie.ts).
      env: childEnv({
        ...spec.env,
        ...(spec.envRef ? deps.envFor?.(spec.envRef) : undefined),
        [COOKIE_VAR]: cookie,
      }),
      encoding: null, // raw Buffers: exact bytes to the log; xterm decodes UTF-8 itself
    });
    return { out, err, term };
  } catch (e) {
    return { out, err, error: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * Forks one pty per turn of the event loop. node-pty 1.1.0 forks with forkpty() synchronously on the
 * JS thread (PtyFork in src/unix/pty.cc), and a fork copies the parent's page tables: 20 ms a fork
 * with nothing else running on this machine kind, 50–100 ms at 100 sessions under load. A caller
 * that spawned 10 sessions in one turn blocked the loop for seconds (bench/scale.mjs: a 9.5 s block
 * while spawning 500); now every other timer and read runs between two forks.
 */
class SpawnQueue {
  private readonly jobs: (() => void)[] = [];
  private scheduled = false;

  add(job: () => void): void {
    this.jobs.push(job);
    this.kick();
  }

  /** True when the job had not run yet (it never will). */
  remove(job: () => void): boolean {
    const i = this.jobs.indexOf(job);
    if (i < 0) return false;
    this.jobs.splice(i, 1);
    return true;
  }

  private kick(): void {
    if (this.scheduled || this.jobs.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.jobs.shift()?.();
      this.kick();
    });
  }
}

export const spawnQueue = new SpawnQueue();
