/**
 * What a remote run leaves outside its pane. The pane's reap signals the pane's process group
 * (remote-pane.ts), but a program that daemonizes leaves that group and its session: codex's TUI
 * starts `codex app-server --managed-daemon` that way, and a field review found it (with its
 * pid-update loop) still running on the host after the run, the shutdown and the conductor were
 * gone. Locally the env cookie finds such processes (env-cookie.ts); a remote pane gets one of its
 * own, `STATECHART_CONDUCTOR_REMOTE=<owner>.<run>` (`<owner>` is the control client's token,
 * remote-orphan-watch.ts), which every process the agent forks inherits.
 *
 * At a run's end a script on the host ends what carries the run's cookie outside the pane's
 * group and session (those are the pane reap's: a second SIGTERM can turn an agent's graceful exit
 * into a forced one): SIGTERM, up to the grace for them to go, SIGKILL. It runs beside the pane's
 * reap, over an exec of its own, and reports what it found and what outlived the SIGKILL. The
 * owner's hook (the conductor gone) and the end of a dead conductor's orphan sweep by `<owner>.`.
 *
 * Only where the host has /proc (Linux): elsewhere the script says `noproc` and the log says so.
 */
import { randomBytes } from "node:crypto";
import type { LostGroupHost } from "./remote-lost-group.js";
import { shQuote } from "./shell-quote.js";
import type { TmuxControl } from "./tmux-hub.js";

export const REMOTE_COOKIE_VAR = "STATECHART_CONDUCTOR_REMOTE";

/** Seconds the script waits for the processes to go after the SIGKILL. */
const KILL_WAIT_S = 5;

/** A run's cookie value: the owner's scope and a fresh token (never the shim's marker nonce). */
export function remoteRunCookie(owner: string): string {
  return `${owner}.${randomBytes(8).toString("hex")}`;
}

/** What the host said. */
export interface EscapeesResult {
  /** Carriers found outside the pane's group and session, with their names (`/proc/<pid>/comm`). */
  found: Array<{ pid: number; comm: string }>;
  /** Of those, the agent's shared helpers, left running (shared-helpers.ts). */
  kept: Array<{ pid: number; comm: string }>;
  /** Still there after the SIGKILL (a process in uninterruptible sleep): normally []. */
  left: number[];
  /** The host has no /proc to read environments from: nothing was looked for. */
  unsupported?: true;
}

/**
 * The POSIX sh script: processes whose environment has `REMOTE_COOKIE_VAR=<prefix>`, not in
 * group or session `spare` (0: none spared), TERM, up to `graceS`, KILL, up to KILL_WAIT_S. Those
 * whose command line matches one of `helpers` (extended regexes) are only listed.
 * Prints `escapees <pid>:<comm>…`, `kept <pid>:<comm>…` and `left <pid>…`, or `noproc`.
 */
export function escapeesScript(prefix: string, spare: number, graceS: number, helpers: readonly string[] = []): string {
  if (!/^[0-9a-f]+\.([0-9a-f]+)?$/.test(prefix)) throw new TypeError(`escapeesScript: bad cookie prefix ${prefix}`);
  if (!(Number.isInteger(spare) && spare >= 0)) throw new TypeError(`escapeesScript: bad pid ${spare}`);
  const ticks = Math.max(1, Math.ceil(graceS * 10));
  return [
    "trap '' HUP", // the exec's channel may drop: the kill goes on
    `e=${shQuote(`${REMOTE_COOKIE_VAR}=${prefix}`)}; g=${spare}; h=${shQuote(helpers.join("|"))}`,
    "[ -r /proc/self/environ ] || { echo noproc; exit 0; }",
    // grep -l names the files whose environment holds the entry; zombies have an empty one.
    "carriers() { grep -lsaF -- \"$e\" /proc/[0-9]*/environ 2>/dev/null | sed -n 's|^/proc/\\([0-9]*\\)/environ$|\\1|p'; }",
    'escapees() { c=" $(carriers | tr "\\n" " ") "; [ "$c" = "  " ] && return 0;',
    '  ps -A -o pid= -o pgid= -o sid= -o stat= 2>/dev/null | awk -v g="$g" -v me=$$ -v c="$c" \\',
    '    \'$4 !~ /^Z/ && index(c, " " $1 " ") && $2 != g && $3 != g && $1 != me { printf "%s ", $1 }\'; }',
    // A shared helper by its command line (the NULs between its arguments read as blanks).
    'helper() { [ -n "$h" ] && tr "\\000" " " < /proc/$1/cmdline 2>/dev/null | grep -qE -- "$h"; }',
    'ours() { for p in $(escapees); do helper $p || printf "%s " $p; done; }',
    'names() { for p in $1; do printf " %s:%s" "$p" "$(tr -d " " < /proc/$p/comm 2>/dev/null)"; done; }',
    'wait_gone() { i=0; while [ -n "$(ours)" ] && [ $i -lt $1 ]; do sleep 0.1 2>/dev/null || sleep 1; i=$((i + 1)); done; }',
    "all=$(escapees); found=$(ours); kept=",
    'for p in $all; do case " $found " in *" $p "*) ;; *) kept="$kept $p" ;; esac; done',
    'echo "escapees$(names "$found$kept")"; echo "kept$(names "$kept")"',
    `if [ -n "$found" ]; then kill -TERM $found 2>/dev/null; wait_gone ${ticks}; fi`,
    `p=$(ours); if [ -n "$p" ]; then kill -KILL $p 2>/dev/null; wait_gone ${KILL_WAIT_S * 10}; fi`,
    "echo left $(ours)",
  ].join("\n");
}

/** The script's output → result; null when it printed nothing we know (the exec failed). */
export function parseEscapees(stdout: string): EscapeesResult | null {
  const lines = stdout.trim().split("\n");
  if (lines.at(-1) === "noproc") return { found: [], kept: [], left: [], unsupported: true };
  const found = /^escapees( .*)?$/.exec(lines.at(-3) ?? "");
  const kept = /^kept( .*)?$/.exec(lines.at(-2) ?? "");
  const left = /^left ?([\d ]*)$/.exec(lines.at(-1) ?? "");
  if (!found || !kept || !left) return null;
  const named = (words = "") =>
    words
      .split(" ")
      .filter(Boolean)
      .map((w) => ({ pid: Number(w.slice(0, w.indexOf(":"))), comm: w.slice(w.indexOf(":") + 1) }));
  return { found: named(found[1]), kept: named(kept[1]), left: (left[1] ?? "").split(" ").filter(Boolean).map(Number) };
}

/** Runs the script on the host and waits for its verdict; throws when the host cannot run it. */
export async function endEscapees(
  host: LostGroupHost,
  prefix: string,
  spare: number,
  graceMs: number,
  helpers: readonly string[] = [],
): Promise<EscapeesResult> {
  const graceS = Math.max(0.1, graceMs / 1000);
  const timeoutMs = (graceS + KILL_WAIT_S) * 1000 + 30_000; // the script's own waits, plus a login
  const stdin = escapeesScript(prefix, spare, graceS, helpers);
  const r = await host.exec("exec /bin/sh -s", { timeoutMs, stdin });
  const result = parseEscapees(r.stdout);
  if (!result) throw new Error(`the host did not run the escapee sweep: ${r.stderr.trim() || r.stdout.trim()}`);
  return result;
}

/**
 * The host away: the same script as a job of the remote tmux server once the control client is
 * back (`run-shell -b`, never a waiting one: remote-pane.ts's signalPane notes). Nobody waits for it.
 */
export function endEscapeesLater(ctl: TmuxControl, prefix: string, graceMs: number, helpers?: readonly string[]): void {
  const script = escapeesScript(prefix, 0, Math.max(0.1, graceMs / 1000), helpers);
  ctl.later([["run-shell", "-b", `/bin/sh -c ${shQuote(script)} >/dev/null 2>&1; true`]]);
}

/** What the sweep of one run needs: its host and control client, its cookie, and where to report. */
export interface RunSweep {
  host: LostGroupHost & { status(): string };
  ctl: TmuxControl;
  cookie: string;
  /** The pane's pid: its group and session are the pane reap's. */
  spare: number;
  /** The agent's shared helpers (ChildSpec.sharedHelpers): left running, ended with the conductor. */
  helpers?: readonly string[];
  graceMs: number;
  log: (event: string, data: Record<string, unknown>) => void;
  diag: (line: string) => void;
}

/**
 * The run's escapees ended, and said so (`remote.escapees`); never rejects. Host away, or the exec
 * failing: the script becomes a job for the control client's return, and the line says `deferred`.
 */
export async function sweepRun(s: RunSweep): Promise<void> {
  const later = (error?: string) => {
    s.log("remote.escapees", { deferred: true, ...(error ? { error } : {}) });
    endEscapeesLater(s.ctl, s.cookie, s.graceMs, s.helpers);
  };
  if (s.host.status() !== "connected") return later();
  try {
    const r = await endEscapees(s.host, s.cookie, s.spare, s.graceMs, s.helpers);
    if (r.unsupported) return s.log("remote.escapees", { unsupported: "the host has no /proc" });
    // A line only when there was something to end: most runs leave nothing outside their pane.
    if (r.found.length === 0) return;
    s.log("remote.escapees", { found: r.found, ...(r.kept.length ? { kept: r.kept } : {}), left: r.left });
    const kept = new Set(r.kept.map((p) => p.pid));
    const names = (list: typeof r.found) => list.map((p) => `${p.pid} (${p.comm})`).join(", ");
    const ended = r.found.filter((p) => !kept.has(p.pid));
    if (ended.length > 0) s.diag(`ended processes that had left the pane: ${names(ended)}`);
    if (kept.size > 0) s.diag(`left running, shared with the agent's other sessions: ${names(r.kept)}`);
    if (r.left.length > 0) s.diag(`processes ${r.left.join(" ")} outlived SIGKILL on the host`);
  } catch (e) {
    later((e as Error).message);
  }
}
