/**
 * Remote agents end with their conductor, as local ones do (docs/remote.md, "When the conductor is
 * gone"). Each control client has an owner token; every tmux session it creates carries it
 * (`@conductor-owner`), and the server keeps the pid of the owner's current control client
 * (`@conductor-live-<owner>`, set again at every attach) and which process the conductor is
 * (`@conductor-proc-<owner>`). A `client-detached` hook of the owner's, run by the remote tmux server
 * itself on any client's detach, does nothing while the owner's client is attached; else it waits
 * out a grace and ends the owner's sessions if that same client is still gone (a reconnect sets the
 * pid anew): a conductor killed with `kill -9`, or shut down while the host was away, no longer
 * leaves its agents running there (nor what they started outside their panes: remote-escapees.ts),
 * nor the hub session once nobody uses it.
 *
 * A session by the name a new run wants, left by a conductor that is provably dead (its process, on
 * this machine, is gone), is ended before the create instead of failing it with "duplicate session"
 * (`endOrphan`, remote-orphan-end.ts); one whose conductor is only away is left to the hook.
 */
import { randomBytes } from "node:crypto";
import { pidSpace, processStartTime } from "./process-identity.js";
import { escapeesScript } from "./remote-escapees.js";
import { shQuote, tmuxQuote } from "./shell-quote.js";

/** Session option naming the owner token of the conductor that created the session. */
export const OWNER_OPTION = "@conductor-owner";

/** Seconds between the TERM and the KILL to an orphan's process group (as a lost pane's, remote-lost-group.ts). */
export const ORPHAN_KILL_GRACE_S = 2;

/** The default grace after the owner's control client detached: the default `hostDownTimeoutMs`. */
export const DEFAULT_ORPHAN_GRACE_MS = 60_000;

export function newOwner(): string {
  return randomBytes(6).toString("hex");
}

/**
 * Pane option on a pane the owner watches (`attach: true`): its own `remain-on-exit` before the
 * watch, `HOLD_UNSET` when it had none, for the owner's hook to put back (remote-pane-attach.ts).
 */
export function holdOption(owner: string): string {
  return `@conductor-hold-${owner}`;
}
export const HOLD_UNSET = "-";

/** Global option holding the pid of the owner's attached control client. */
export function liveOption(owner: string): string {
  return `@conductor-live-${owner}`;
}

/** This conductor process as `@conductor-proc-…` names it. */
export function thisConductor(): string {
  return `${pidSpace()} ${process.pid} ${processStartTime(process.pid) ?? "0"}`;
}

/** Global option naming the owner's conductor process: `<pid space> <pid> <start time>`. */
export function procOption(owner: string): string {
  return `@conductor-proc-${owner}`;
}

/** The owner's index in the global `client-detached` hook array (one hook per owner, never shared). */
export function hookSlot(owner: string): number {
  return 1000 + (Number.parseInt(owner.slice(0, 8), 16) % 1_000_000_000);
}

export interface OrphanWatch {
  owner: string;
  /** This conductor process: `<pidSpace()> <pid> <start time>` (process-identity.ts). */
  proc: string;
  /** `tmux` or `psmux`, as the host runs it. */
  program: string;
  graceMs: number;
  /** The hub session the owner's control client attached to: removed once nothing uses it. */
  hub: string;
}

/**
 * Sent by a control client as soon as it attaches: its pid becomes the owner's live one, and the
 * owner's hook is (re)set. `-F` makes `#{client_pid}` the pid of the client running the command.
 */
export function watchCommands(w: OrphanWatch): string[][] {
  const slot = `client-detached[${hookSlot(w.owner)}]`;
  return [
    ["set-option", "-g", "-F", liveOption(w.owner), "#{client_pid}"],
    ["set-option", "-g", procOption(w.owner), w.proc],
    ["set-hook", "-g", slot, `run-shell -b ${tmuxQuote(reapScript(w))}`],
  ];
}

/** One control client's orphan hook: its owner token and the grace its sessions need. */
export class OrphanHook {
  readonly owner = newOwner();
  /** The longest `hostDownTimeoutMs` of the sessions it created: the remote side waits as long for us. */
  private graceMs: number | undefined;

  constructor(
    private readonly program: string,
    private readonly hub: string,
  ) {}

  /** A session that waits `ms` for a lost host: true when the hook must be set again, with that grace. */
  cover(ms: number): boolean {
    if (this.graceMs !== undefined && ms <= this.graceMs) return false;
    this.graceMs = ms;
    return true;
  }

  /** The commands that (re)set it: sent at each attach, before any create. */
  commands(): string[][] {
    const graceMs = this.graceMs ?? DEFAULT_ORPHAN_GRACE_MS;
    return watchCommands({ owner: this.owner, proc: thisConductor(), program: this.program, graceMs, hub: this.hub });
  }
}

/** A clean close with nothing of ours left: the owner's hook and live pid go. */
export function unwatchCommands(owner: string): string[][] {
  return [
    ["set-hook", "-gu", `client-detached[${hookSlot(owner)}]`],
    ["set-option", "-gu", liveOption(owner)],
    ["set-option", "-gu", procOption(owner)],
  ];
}

/**
 * The hook's job (sh, run by the tmux server). run-shell expands formats first: `#{q:socket_path}` is
 * the server's own socket, escaped for sh (it comes from the host's TMUX_TMPDIR, which may hold a
 * quote or a blank), and `##{…}` reaches the inner tmux calls as `#{…}`. Any client's detach
 * runs it: while the owner's client is attached it is someone else's, and after the grace only the
 * same client still gone counts (a field review: a countdown begun by another client's detach, or by
 * an earlier drop, ended agents during a 0.4 s blip). Only panes still alive are signalled (the pid
 * of a dead pane may be someone else's by now); the hook goes only if no client came back meanwhile.
 */
function reapScript(w: OrphanWatch): string {
  const { owner } = w;
  const grace = Math.max(1, Math.ceil(w.graceMs / 1000));
  const format = `##{${OWNER_OPTION}} ##{pane_dead} ##{pane_pid} ##{window_id} ##{session_id}`;
  const live = `t show-options -gqv ${liveOption(owner)}`;
  return [
    `t() { ${shQuote(w.program)} -S #{q:socket_path} "$@" 2>/dev/null; }`,
    `here() { [ -n "$1" ] && t list-clients -F '##{client_pid}' | grep -qx "$1"; }`,
    `p=$(${live})`,
    `if here "$p"; then exit 0; fi`,
    `sleep ${grace}`,
    `q=$(${live})`,
    `if [ "$q" != "$p" ] || here "$q"; then exit 0; fi`,
    `l=$(t list-panes -a -F '${format}' | grep '^${owner} ')`,
    `if [ -n "$l" ]; then`,
    `  echo "$l" | while read o d pid w s; do [ "$d" = 1 ] || kill -TERM -$pid 2>/dev/null; done`,
    `  sleep ${ORPHAN_KILL_GRACE_S}`,
    `  echo "$l" | while read o d pid w s; do [ "$d" = 1 ] || kill -KILL -$pid 2>/dev/null; t kill-window -t "$w"; t kill-session -t "$s"; done`,
    "fi",
    // The panes it only watched: their remain-on-exit as it was, closed if dead and nothing keeps them.
    ...releaseHeld(owner),
    // What left the panes (a daemon the agent started): by the owner's cookie, once the panes are over.
    `( ${escapeesScript(`${owner}.`, 0, ORPHAN_KILL_GRACE_S)}
) >/dev/null 2>&1`,
    `if [ "$(${live})" = "$p" ]; then`,
    ...unwatchCommands(owner).map((c) => `  t ${c.map(shQuote).join(" ")}`),
    ...hubRemoval(w.hub),
    "fi",
  ].join("\n");
}

/** The hook's lines that let go of the owner's watched panes (releaseCommands, without the conductor). */
function releaseHeld(owner: string): string[] {
  const hold = holdOption(owner);
  return [
    `t list-panes -a -F '##{pane_id} ##{pane_dead} ##{${hold}}' | while read id d v; do`,
    '  [ -n "$v" ] || continue',
    `  if [ "$v" = ${shQuote(HOLD_UNSET)} ]; then t set-option -p -u -t "$id" remain-on-exit; else t set-option -p -t "$id" remain-on-exit "$v"; fi`,
    `  t set-option -p -u -t "$id" ${hold}`,
    `  [ "$d" = 1 ] && [ "$(t display-message -p -t "$id" '##{remain-on-exit}')" = off ] && t kill-pane -t "$id"`,
    "done",
  ];
}

/**
 * The hub (`tail -f /dev/null`) stayed behind a conductor that ended while its host was away: it
 * goes too when no client is attached and nothing but its own window is left in it (the server
 * then exits if it was its last session). Only a plain name: run-shell would expand a `#` in it.
 */
function hubRemoval(hub: string): string[] {
  if (!/^[A-Za-z0-9_-]+$/.test(hub)) return [];
  return [
    `  h=$(t display-message -p -t '=${hub}:' '##{session_attached} ##{session_windows}')`,
    `  [ "$h" = "0 1" ] && t kill-session -t '=${hub}'`,
  ];
}

/** What a session that blocks a create is: nobody's (the user's), a conductor's that is attached, away or dead. */
export type Blocker =
  | { kind: "foreign" }
  | { kind: "live"; owner: string; clientPid: string }
  /** Its conductor's client is not attached, and its process is not provably gone: the hook decides. */
  | { kind: "away"; owner: string }
  | { kind: "orphan"; owner: string }
  /** Gone by the time it was looked at. */
  | { kind: "gone" };

/** What is read off the server about a session's owner, and how this process judges a conductor's. */
export interface OwnerFacts {
  /** The session's `@conductor-owner`. */
  owner: string;
  /** That owner's `@conductor-live-…`. */
  livePid: string;
  /** `#{client_pid}` of every attached client. */
  clients: readonly string[];
  /** That owner's `@conductor-proc-…`. */
  proc: string;
}

/**
 * An owner whose client is not attached is an orphan only when its conductor is provably dead: it ran
 * in this pid space and that pid (with that start time) is gone. Otherwise it may be coming back.
 */
export function judgeBlocker(
  f: OwnerFacts,
  here: { pidSpace: string; alive(pid: number, start: string): boolean },
): Blocker {
  const owner = f.owner.trim();
  if (!/^[0-9a-f]{12}$/.test(owner)) return { kind: "foreign" };
  const pid = f.livePid.trim();
  if (pid !== "" && f.clients.includes(pid)) return { kind: "live", owner, clientPid: pid };
  const [space, proc, start] = f.proc.trim().split(" ");
  if (space === here.pidSpace && space !== "unknown" && proc && start && !here.alive(Number(proc), start))
    return { kind: "orphan", owner };
  return { kind: "away", owner };
}
