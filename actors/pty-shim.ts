/**
 * The exit shim: a tiny /bin/sh script that sits between the pty and the agent.
 *
 * Why: on Linux, node-pty can lose the last bytes of a child that exits fast and can emit
 * `exit` before the last `data` (microsoft/node-pty#72, #726; measured here: the last 0.5–8 KB
 * missing in about 1 run of 6, and 1 of 50 in a 1 MB blast). The loss happens when the last
 * process holding the pty slave closes it while output is still unread. The shim keeps the
 * slave open after the agent exits, prints an in-band marker carrying the exit status, and
 * only exits once the conductor has read the marker and written back the nonce (the ack).
 *
 * Spawn as: /bin/sh -c SHIM_SCRIPT conductor-shim <nonce> <argv...>
 * argv stays separate sh arguments ("$@"), never interpolated into the script, so prompts
 * like `$(touch /tmp/x)` reach the agent literally.
 */
import { accessSync, closeSync, constants as fsc, openSync, readlinkSync, readSync } from "node:fs";
import { basename } from "node:path";
import { MARKER_OSC } from "./marker-scanner.js";
import { processCgroup } from "./process-cgroup.js";

export {
  MARKER_OSC,
  MarkerScanner,
  makeNonce,
  type ScanResult,
  signalName,
  statusToExit,
} from "./marker-scanner.js";

export const SHIM_ARGV0 = "conductor-shim";
/** OSC number of the local shim's second marker: line mode is back, the ack will not be echoed. */
export const READY_OSC = "7771";

/*
 * - `trap 'sig=1' ...`: a handler, not `trap ''`: ignored signals stay ignored across exec, so
 *   the agent would inherit SIGINT/SIGTERM as ignored; handled ones are reset to default.
 *   While "$@" runs in the foreground, POSIX defers the handler until it ends, so a TERM to
 *   the group kills the agent and the shim still reports its status.
 * - fd 3 keeps the real stderr for the agent while the shim's own stderr goes to /dev/null:
 *   dash prints "Terminated"/"Killed" when a foreground job dies by a signal, which would land
 *   in the agent's log. `( exec "$@" ) 2>&3`, not `"$@" 2>&3`: dash applies a simple
 *   command's redirections in the parent around the wait, so the message would follow them;
 *   a subshell's redirections apply in the child only. exec keeps one process, no extra fork.
 * - HUP is not trapped: a hangup (the pty's master closed, the tmux pane or server killed) reaches
 *   only the session leader, this shim. Trapped, it was deferred while the agent ran, so nothing
 *   ended the agent (a remote one lived on after its pane). Untrapped, the shim dies, and the
 *   kernel sends the foreground group, the agent, its SIGHUP, as a shell's terminal would. Nobody
 *   reads a marker on a terminal that is gone.
 * - dash's `read` returns 1 both on EOF and when a trapped signal interrupts it; `sig` tells
 *   the two apart so a late SIGTERM does not end the wait before the ack.
 * - `stty sane -echo`: a crashed TUI may leave raw mode/no-icanon; sane restores line mode so
 *   `read` sees lines, -echo keeps the ack out of the output.
 * - The line only has to END with the nonce: typed-ahead input without a newline may sit in
 *   the line buffer in front of it. The nonce is random, so typed input cannot forge it.
 * - EOF (master closed) ends the loop.
 */
function shimScript(local: boolean): string {
  const marker = `printf '\\033]${MARKER_OSC};%s;%s\\007' "$n" "$st"`;
  const sane = "stty sane -echo 2>/dev/null";
  return [
    "trap 'sig=1' INT TERM",
    "n=$1; shift",
    "exec 3>&2 2>/dev/null",
    '( exec "$@" ) 2>&3 3>&-',
    "st=$?",
    ...(local ? [marker, sane, `printf '\\033]${READY_OSC};%s;0\\007' "$n"`] : [sane, marker]),
    "while :; do",
    "  sig=",
    "  if IFS= read -r line; then",
    '    case $line in *"$n") break;; esac',
    '  elif [ -z "$sig" ]; then',
    "    break",
    "  fi",
    "done",
    'exit "$st"',
  ].join("\n");
}

export const SHIM_SCRIPT = shimScript(false);

/*
 * The local pty's shim prints the marker before `stty`, not after: the marker is what the conductor
 * reports the exit on (the output is complete), and stty is a fork and exec (~25 ms median under
 * load, measured spawn → marker with and without it), which sat between the agent's exit and its
 * state. The ack must still come after `stty sane -echo` (else the tty may echo it, or a raw-mode
 * tty may mangle it), so a second marker says when: the transport holds the ack until it sees it.
 */
export const LOCAL_SHIM_SCRIPT = shimScript(true);

/** Arguments for `spawn(shell, shimArgs(nonce, argv))`. */
export function shimArgs(nonce: string, argv: readonly string[], script = SHIM_SCRIPT): string[] {
  return ["-c", script, SHIM_ARGV0, nonce, ...argv];
}

/*
 * Closes every fd above 2 before the shim (and so the agent) starts. node-pty 1.1.0's forkpty()
 * master is not close-on-exec (src/unix/pty.cc sets only O_NONBLOCK; upstream closes them in the
 * child only from 1.2.0-beta, microsoft/node-pty#867), so the Nth child held the masters of the
 * N-1 sessions before it and could type into their terminals. bash, not dash: dash's redirections
 * take one-digit fds only, and the masters sit above 9. The glob's own directory fd is already
 * closed when the loop runs, so closing it again is a quiet no-op.
 */
export const CLOSE_FDS_SCRIPT = [
  "for f in /proc/$$/fd/*; do",
  "  n=${f##*/}",
  '  case $n in 0|1|2|*[!0-9]*) ;; *) eval "exec $n>&-" 2>/dev/null ;; esac',
  "done",
  'exec "$@"',
].join("\n");

/** Joins the cgroup `$0` (its processes file), quietly if it cannot, then execs the rest (process-cgroup.ts). */
export const JOIN_CGROUP_SCRIPT = '{ echo $$ >"$0/cgroup.procs"; } 2>/dev/null; exec "$@"';

export interface ShimTools {
  /** util-linux setpriv, for `--pdeathsig KILL`. */
  setpriv?: string;
  /** This process's cgroup (process-cgroup.ts), joined before the shim starts. */
  cgroup?: string;
  /** bash, to close inherited fds (Linux only: /proc/self/fd). */
  bash?: string;
  /** util-linux setsid, for `--ctty`: only for a child not started by forkpty (spawn-helper.ts). */
  setsid?: string;
}

export function firstExecutable(paths: readonly string[]): string | undefined {
  for (const p of paths) {
    try {
      accessSync(p, fsc.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

let tools: ShimTools | undefined;

/** Looked up once per process; both are optional and their absence only weakens a defence. */
export function shimTools(): ShimTools {
  if (tools) return tools;
  const linux = process.platform === "linux";
  const setpriv = linux ? firstExecutable(["/usr/bin/setpriv", "/bin/setpriv"]) : undefined;
  const bash = linux ? firstExecutable(["/bin/bash", "/usr/bin/bash"]) : undefined;
  const cgroup = processCgroup() ?? undefined;
  tools = { ...(setpriv ? { setpriv } : {}), ...(bash ? { bash } : {}), ...(cgroup ? { cgroup } : {}) };
  return tools;
}

/**
 * What to start on the pty:
 * `setpriv --pdeathsig KILL -- [setsid --ctty] sh -c JOIN_CGROUP <cgroup> [bash -c CLOSE_FDS] -- sh -c SHIM …`.
 * PR_SET_PDEATHSIG fires when the thread that forked the child dies: the spawn helper's main thread
 * (spawn-helper.ts), itself tied to the conductor's; with node-pty, which calls forkpty()
 * synchronously on the calling JS thread (PtyFork in src/unix/pty.cc), the conductor's thread. The setting survives both execs and
 * is cleared for the agent the shim forks: the watchdog (orphan-watchdog.ts) covers the rest.
 */
export function shimLaunch(
  shell: string,
  nonce: string,
  argv: readonly string[],
  use: ShimTools = shimTools(),
): { file: string; args: string[] } {
  let file = shell;
  let args = shimArgs(nonce, argv, LOCAL_SHIM_SCRIPT);
  // Only where node-pty forks this process: the spawn helper's children (use.setsid) inherit nothing but
  // their tty, as its fds are all close-on-exec (libuv opens every fd O_CLOEXEC, the tty too) and it was
  // itself started through CLOSE_FDS_SCRIPT (spawn-helper.ts). A bash start cost every spawn ~2 ms of
  // CPU (perf stat, bash -c CLOSE_FDS_SCRIPT vs sh -c 'exec "$@"') on a machine with 2 cores.
  if (use.bash && !use.setsid) [file, args] = [use.bash, ["-c", CLOSE_FDS_SCRIPT, "conductor-fds", file, ...args]];
  if (use.cgroup) [file, args] = [shell, ["-c", JOIN_CGROUP_SCRIPT, use.cgroup, file, ...args]];
  // A new session whose controlling terminal is the pty on stdin, as forkpty() would have made it.
  if (use.setsid) [file, args] = [use.setsid, ["--ctty", file, ...args]];
  if (use.setpriv) [file, args] = [use.setpriv, ["--pdeathsig", "KILL", "--", file, ...args]];
  return { file, args };
}

/**
 * Whether a marker read now can be the shim's own: it prints it after its `wait` reaped the agent, so
 * by then its only child can be the `stty` it runs next (exec'd, or still the shim's fork before the
 * exec: the shim's executable and command line). The nonce is in the shim's argv, which the agent
 * (same user) can read in /proc, so the marker alone is no proof: printed while the agent still runs,
 * it is a forgery (it would end the run's output and report a status of the agent's choosing).
 * Linux's `children` file (CONFIG_PROC_CHILDREN); where it cannot be read the marker is taken.
 */
export function shimChildless(pid: number | undefined): boolean {
  if (!pid) return true;
  let children: string[];
  try {
    children = readProc(`/proc/${pid}/task/${pid}/children`).split(" ").filter(Boolean);
  } catch {
    return true;
  }
  return children.every((c) => isSttyOf(pid, c));
}

/**
 * `stty`: by its executable (one readlink, the common case: stty is exec'd by the time the marker is
 * read), by its name (exited, or a busybox applet), or the shim's own fork before its exec (the shim's
 * executable and command line; the executable is read again, since an exec may land between two
 * reads). A child that is gone meanwhile was reaped, so it no longer runs.
 */
function isSttyOf(shim: number, child: string): boolean {
  const named = () => /^\d+ \(stty\) /.test(readProc(`/proc/${child}/stat`));
  const exeOf = (pid: string | number) => readlinkSync(`/proc/${pid}/exe`);
  try {
    const exe = exeOf(child);
    if (basename(exe) === "stty") return true;
    if (exe !== exeOf(shim)) return named();
    return (
      readProc(`/proc/${child}/cmdline`) === readProc(`/proc/${shim}/cmdline`) ||
      basename(exeOf(child)) === "stty" ||
      named()
    );
  } catch {
    try {
      return named(); // exited, waiting to be reaped: its name is all that is left
    } catch {
      return true; // gone: reaped
    }
  }
}

const procBuffer = Buffer.allocUnsafe(4096);
/**
 * The start of a /proc file (4 KiB: a children list, a stat line; of a command line, its first 4 KiB,
 * as telling as the whole: the shim's starts with its script), in one read at offset 0: half of
 * readFileSync's cost, which stats the file and reads on until EOF (~18 against ~9 µs here).
 */
function readProc(path: string): string {
  const fd = openSync(path, "r");
  try {
    return procBuffer.toString("latin1", 0, readSync(fd, procBuffer, 0, procBuffer.length, 0));
  } finally {
    closeSync(fd);
  }
}
