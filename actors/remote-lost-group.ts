/**
 * Ending what is left of a pane that vanished under its agent (`tmux kill-pane`, `kill-window`,
 * `kill-server`). The pane's hangup reaches its session leader, the exit shim, which dies of it
 * (it does not trap HUP), and the foreground group; an agent that ignores SIGHUP lives on,
 * re-parented to pid 1, and a restart ran a second one beside it. So the reap of a lost pane ends
 * the processes still in the pane's process group or session (both are the pane's pid: tmux made
 * it a session and group leader) and reports back only once none is left.
 *
 * Which processes are ours, without the shim to ask: POSIX never reuses a pid as a process id
 * while a process group (or session) of that id still has a member, so while anything is left
 * of our group its id names nothing else. Once our group is over, a new group of that id needs a
 * new process with the same pid: the script checks that pid itself; alive and not our shim (its
 * nonce in its command line) means the group is someone else's, and nothing is sent.
 */
import { shQuote } from "./shell-quote.js";
import type { TmuxControl } from "./tmux-hub.js";

/** What the host said about the lost pane's processes. */
export interface LostGroupResult {
  /** Processes of the group or session found when the script started (0: none were left). */
  found: number;
  /** Still there at the end (should be empty: KILL cannot be ignored). */
  left: number[];
  /** The pane's pid now runs another program: the id is someone else's, nothing was signalled. */
  notOurs: boolean;
}

/** How long the script waits for the processes to go after the SIGKILL (s). */
const KILL_WAIT_S = 5;

/**
 * The POSIX sh script: members of group/session `pid` (zombies excluded), TERM, up to `graceS` for
 * them to go, KILL, up to KILL_WAIT_S more. Prints `found <n> left <pids...>` or `notours`.
 * Member pids are signalled one by one only if they left the group but kept the session.
 */
export function lostGroupScript(pid: number, nonce: string, graceS: number): string {
  if (!(Number.isInteger(pid) && pid > 1)) throw new TypeError(`lostGroupScript: bad pid ${pid}`);
  if (!/^[0-9a-f]+$/.test(nonce)) throw new TypeError("lostGroupScript: the nonce must be hex");
  const ticks = Math.max(1, Math.ceil(graceS * 10));
  return [
    "trap '' HUP", // the exec's channel may drop: the kill goes on
    `g=${pid}; n=${shQuote(nonce)}`,
    // procps has `sid`; where ps lacks it (BSD, macOS) the group alone is looked at.
    "table() { ps -A -o pgid= -o sid= -o stat= -o pid= 2>/dev/null || ps -A -o pgid= -o pgid= -o stat= -o pid=; }",
    'members() { table | awk -v g="$g" \'($1 == g || $2 == g) && $3 !~ /^Z/ { printf "%s ", $4 }\'; }',
    // The pane's pid itself: gone, a zombie, or our shim are ours; any other live program is not.
    'a=$(ps -o stat= -o args= -p "$g" 2>/dev/null | sed 1q)',
    'case $a in ""|Z*|*"$n"*) ;; *) echo notours; exit 0;; esac',
    "p=$(members); set -- $p; found=$#",
    'wait_gone() { i=0; while [ -n "$(members)" ] && [ $i -lt $1 ]; do sleep 0.1 2>/dev/null || sleep 1; i=$((i + 1)); done; }',
    'signal() { kill -$1 -"$g" 2>/dev/null; for q in $(members); do kill -$1 "$q" 2>/dev/null; done; }',
    `if [ "$found" -gt 0 ]; then signal TERM; wait_gone ${ticks}; fi`,
    `if [ -n "$(members)" ]; then signal KILL; wait_gone ${KILL_WAIT_S * 10}; fi`,
    'echo found "$found" left $(members)',
  ].join("\n");
}

/** The script's last line → result; null when it printed nothing we know (the exec failed). */
export function parseLostGroup(stdout: string): LostGroupResult | null {
  const line = stdout.trim().split("\n").at(-1) ?? "";
  if (line === "notours") return { found: 0, left: [], notOurs: true };
  const m = /^found (\d+) left ?([\d ]*)$/.exec(line);
  if (!m) return null;
  const left = (m[2] ?? "").split(" ").filter(Boolean).map(Number);
  return { found: Number(m[1]), left, notOurs: false };
}

/** What running the script needs: an exec on the host (a shell there, the script on its stdin). */
export interface LostGroupHost {
  exec(command: string, opts?: { timeoutMs?: number; stdin?: string }): Promise<{ stdout: string; stderr: string }>;
}

/** Runs the script on the host and waits for its verdict; throws when the host cannot run it. */
export async function endLostGroup(
  host: LostGroupHost,
  pid: number,
  nonce: string,
  graceMs: number,
): Promise<LostGroupResult> {
  const graceS = Math.max(0.1, graceMs / 1000);
  const script = lostGroupScript(pid, nonce, graceS);
  // Bounded by the script's own waits, plus a login for the exec.
  const timeoutMs = (graceS + KILL_WAIT_S) * 1000 + 30_000;
  const r = await host.exec("exec /bin/sh -s", { timeoutMs, stdin: script });
  const result = parseLostGroup(r.stdout);
  if (!result) throw new Error(`the host did not run the lost pane's kill script: ${r.stderr.trim() || r.stdout}`);
  return result;
}

/**
 * The host is away: the same script as a job of the remote tmux server (`run-shell -b`, never a
 * waiting one: tmux-pane reap notes), sent when the control client attaches again. Nobody waits
 * for it; its output goes nowhere (a control client would get it as a pane's).
 */
export function endLostGroupLater(ctl: TmuxControl, pid: number, nonce: string, graceMs: number): void {
  const script = lostGroupScript(pid, nonce, Math.max(0.1, graceMs / 1000));
  ctl.later([["run-shell", "-b", `/bin/sh -c ${shQuote(script)} >/dev/null 2>&1; true`]]);
}
