/**
 * The orphan watchdog: one small /bin/sh process per Node process that ends every agent tree
 * when the supervisor is gone, however it went (exit, crash, SIGKILL, OOM kill, SIGHUP).
 *
 * Why a process: nothing in a process runs after SIGKILL, and the kernel's own hooks reach only
 * one level: PR_SET_PDEATHSIG (set on each shim, see pty-shim.ts) kills the shim but is cleared
 * for the agent it forks; the tty hangup that follows reaches only the foreground process group
 * and can be ignored (`nohup`, `trap '' HUP`). The watchdog holds the read end of a pipe from the
 * supervisor; the kernel closes the write end when the supervisor dies by any means, `read` sees
 * EOF, and the watchdog ends, in rounds until nothing is left: every registered shim's process
 * group, and every process whose environment carries this process's cookie (env-cookie.ts),
 * which finds setsid + double-fork escapees, and every process in this process's cgroup where
 * there is one (process-cgroup.ts), which finds those that dropped the cookie too (`setsid env -i`).
 * SIGTERM first, SIGKILL after the grace.
 *
 * It runs in its own session (detached), so a hangup of the supervisor's terminal or a signal to
 * its process group never reaches it. It is /bin/sh, not node: ~1 MB instead of ~40 MB, started in
 * a millisecond, and path-independent when the package is bundled.
 *
 * Protocol on its stdin, one line each: `+ <pid>` (a shim was spawned), `- <pid>` (its tree is
 * gone). A shim pid is only group-killed while the shim still carries the cookie: a pid reused by
 * a stranger after its tree was reaped is never signalled.
 */
import { type ChildProcess, spawn } from "node:child_process";
import type { Socket } from "node:net";
import { COOKIE_VAR, processCookie } from "./env-cookie.js";
import { cgroupPids, processCgroup } from "./process-cgroup.js";

export const WATCHDOG_ARGV0 = "conductor-watchdog";

/*
 * - `trap '' HUP INT`: a closed terminal or a Ctrl-C to the supervisor's group must not end the
 *   watchdog before it did its work (it is in its own session anyway; belt and braces).
 * - `grep -lsaF`: one exec reads every environ; -a because environ is NUL-separated, -s for the
 *   processes that vanish or are not ours to read.
 * - `kill -s SIG -- -pid`: dash needs `--` before a negative pid (a process group).
 * - The glob of `$cg`'s subdirectories: each run's cgroup under the process's (process-cgroup.ts
 *   `runCgroup`); unmatched, the pattern stays as it is and cat/rmdir fail on it quietly.
 */
export const WATCHDOG_SCRIPT = [
  "trap '' HUP INT",
  'cookie="$1=$2."; grace=$3; cg=$4; pids=',
  "while read -r op pid; do",
  "  case $op in",
  '    +) pids="$pids $pid" ;;',
  '    -) keep=; for p in $pids; do [ "$p" = "$pid" ] || keep="$keep $p"; done; pids=$keep ;;',
  "  esac",
  "done",
  "ours() {",
  "  grep -lsaF -- \"$cookie\" /proc/[0-9]*/environ 2>/dev/null | sed 's|^/proc/||; s|/environ$||'",
  '  [ -z "$cg" ] || cat "$cg/cgroup.procs" "$cg"/*/cgroup.procs 2>/dev/null',
  "}",
  "sweep() {",
  "  for p in $pids; do",
  '    grep -qsaF -- "$cookie" /proc/$p/environ 2>/dev/null && kill -s $1 -- -$p 2>/dev/null',
  "  done",
  "  left=$(ours)",
  '  for p in $left; do [ "$p" = $$ ] || kill -s $1 $p 2>/dev/null; done',
  '  [ -n "$left" ]',
  "}",
  "if sweep TERM; then",
  "  end=$(($(date +%s) + grace))",
  '  while [ "$(date +%s)" -lt "$end" ] && [ -n "$(ours)" ]; do sleep 0.1; done',
  "  n=0",
  '  while sweep KILL && [ "$n" -lt 50 ]; do sleep 0.1; n=$((n + 1)); done',
  "fi",
  '[ -z "$cg" ] || rmdir "$cg"/*/ "$cg" 2>/dev/null',
].join("\n");

export interface OrphanGuard {
  /** `STATECHART_CONDUCTOR` prefix every child of this process carries (see env-cookie.ts). */
  readonly cookie: string;
  /** A shim was spawned: its process group belongs to us until `forget`. */
  watch(pid: number): void;
  /** The shim's tree is gone. */
  forget(pid: number): void;
}

export interface WatchdogOptions {
  /** SIGTERM → SIGKILL delay once the supervisor is gone, in whole seconds (default 2000 ms → 2 s). */
  graceMs?: number;
  /** Defaults to /bin/sh. */
  shell?: string;
}

/** Starts the watchdog lazily; restarts it (re-sending the live pids) if someone kills it. */
export class OrphanWatchdog implements OrphanGuard {
  readonly cookie = `${processCookie}.`;
  private child: ChildProcess | undefined;
  private readonly live = new Set<number>();

  constructor(private readonly opts: WatchdogOptions = {}) {}

  /** Pid of the running watchdog (tests, diagnostics). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Starts it now if it does not run. A conductor does this when it is created (src/conductor.ts): the
   * fork of /bin/sh costs a heap-sized page-table copy, least before the sessions exist, and the first
   * `watch` used to pay it in the spawn window's first turn (issue 13). Idle, it holds nothing alive.
   */
  arm(): void {
    this.ensure();
  }

  watch(pid: number): void {
    this.live.add(pid);
    this.send(`+ ${pid}\n`);
  }

  forget(pid: number): void {
    if (this.live.delete(pid)) this.send(`- ${pid}\n`);
  }

  /**
   * Ends the watchdog when it guards no tree (after a graceful shutdown): it would only sweep nothing,
   * yet it outlives its supervisor for a moment and counts as a leftover child. A later `watch`
   * starts a new one.
   */
  retireIfIdle(): void {
    const child = this.child;
    if (this.live.size > 0 || !child) return;
    this.child = undefined; // before the kill: the exit handler must not restart it
    const cgroup = processCgroup();
    // Still someone in our cgroup with every tree gone: an escapee without the cookie (setsid env -i).
    // EOF makes the watchdog sweep it (TERM, grace, KILL) and leave.
    if (cgroup && cgroupPids(cgroup).length > 0) child.stdin?.end();
    else child.kill("SIGKILL");
  }

  private send(line: string): void {
    const stdin = this.ensure()?.stdin;
    if (stdin && !stdin.destroyed) stdin.write(line);
  }

  private ensure(): ChildProcess | undefined {
    if (this.child) return this.child;
    if (process.platform === "win32") return undefined;
    // Wall-clock seconds (`date +%s`): counting loop turns would stretch the grace under load.
    const grace = String(Math.max(0, Math.ceil((this.opts.graceMs ?? 2000) / 1000)));
    const child = spawn(
      this.opts.shell ?? "/bin/sh",
      ["-c", WATCHDOG_SCRIPT, WATCHDOG_ARGV0, COOKIE_VAR, processCookie, grace, processCgroup() ?? ""],
      {
        detached: true, // own session: the supervisor's terminal hangup and group signals miss it
        stdio: ["pipe", "ignore", "ignore"],
      },
    );
    // The watchdog must not keep the supervisor alive: neither the process nor its pipe.
    child.unref();
    (child.stdin as Socket | null)?.unref?.();
    child.stdin?.on("error", () => {}); // EPIPE if it was killed; the exit handler restarts it
    child.on("error", () => {});
    child.on("exit", () => {
      if (this.child !== child) return;
      this.child = undefined;
      // Killed while we live: start a new one and hand it every tree we still supervise.
      if (this.live.size > 0) this.ensure();
    });
    this.child = child;
    for (const pid of this.live) child.stdin?.write(`+ ${pid}\n`);
    return child;
  }
}

let shared: OrphanWatchdog | undefined;

/** The one watchdog of this Node process (every conductor in it shares it). */
export function processWatchdog(): OrphanWatchdog {
  shared ??= new OrphanWatchdog();
  return shared;
}
