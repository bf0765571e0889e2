/**
 * Remote agents end with their conductor, as local ones do (docs/remote.md, "When the conductor is
 * gone"). Each control client has an owner token; every tmux session it creates carries it
 * (`@conductor-owner`), and the server keeps the pid of the owner's current control client
 * (`@conductor-live-<owner>`, set again at every attach). A `client-detached` hook of the owner's, run
 * by the remote tmux server itself, waits out a grace (a reconnect sets the pid anew within it), then
 * ends the owner's sessions if no client of that pid is attached: a conductor killed with `kill -9`,
 * or shut down while the host was away, no longer leaves its agents running there.
 *
 * A session by the name a new run wants, left by such an owner, is an orphan too: it is ended before
 * the create instead of failing it with "duplicate session" (`endOrphan`, remote-orphan-end.ts).
 */
import { randomBytes } from "node:crypto";
import { shQuote, tmuxQuote } from "./shell-quote.js";

/** Session option naming the owner token of the conductor that created the session. */
export const OWNER_OPTION = "@conductor-owner";

/** Seconds between the TERM and the KILL to an orphan's process group (as endLostPaneGroup). */
export const ORPHAN_KILL_GRACE_S = 2;

/** The default grace after the owner's control client detached: the default `hostDownTimeoutMs`. */
export const DEFAULT_ORPHAN_GRACE_MS = 60_000;

export function newOwner(): string {
  return randomBytes(6).toString("hex");
}

/** Global option holding the pid of the owner's attached control client. */
export function liveOption(owner: string): string {
  return `@conductor-live-${owner}`;
}

/** The owner's index in the global `client-detached` hook array (one hook per owner, never shared). */
export function hookSlot(owner: string): number {
  return 1000 + (Number.parseInt(owner.slice(0, 8), 16) % 1_000_000_000);
}

export interface OrphanWatch {
  owner: string;
  /** `tmux` or `psmux`, as the host runs it. */
  program: string;
  graceMs: number;
}

/**
 * Sent by a control client as soon as it attaches: its pid becomes the owner's live one, and the
 * owner's hook is (re)set. `-F` makes `#{client_pid}` the pid of the client running the command.
 */
export function watchCommands(w: OrphanWatch): string[][] {
  const slot = `client-detached[${hookSlot(w.owner)}]`;
  return [
    ["set-option", "-g", "-F", liveOption(w.owner), "#{client_pid}"],
    ["set-hook", "-g", slot, `run-shell -b ${tmuxQuote(reapScript(w))}`],
  ];
}

/** A clean close with nothing of ours left: the owner's hook and live pid go. */
export function unwatchCommands(owner: string): string[][] {
  return [
    ["set-hook", "-gu", `client-detached[${hookSlot(owner)}]`],
    ["set-option", "-gu", liveOption(owner)],
  ];
}

/**
 * The hook's job (sh, run by the tmux server). run-shell expands formats first: `#{socket_path}` is
 * the server's own socket, and `##{…}` reaches the inner tmux calls as `#{…}`. Only panes still alive
 * are signalled (the pid of a dead pane may be someone else's by now).
 */
function reapScript(w: OrphanWatch): string {
  const { owner } = w;
  const grace = Math.max(1, Math.ceil(w.graceMs / 1000));
  const format = `##{${OWNER_OPTION}} ##{pane_dead} ##{pane_pid} ##{window_id} ##{session_id}`;
  return [
    `sleep ${grace}`,
    `t() { ${shQuote(w.program)} -S '#{socket_path}' "$@" 2>/dev/null; }`,
    `p=$(t show-options -gqv ${liveOption(owner)})`,
    `if [ -n "$p" ] && t list-clients -F '##{client_pid}' | grep -qx "$p"; then exit 0; fi`,
    `l=$(t list-panes -a -F '${format}' | grep '^${owner} ')`,
    `if [ -n "$l" ]; then`,
    `  echo "$l" | while read o d pid w s; do [ "$d" = 1 ] || kill -TERM -$pid 2>/dev/null; done`,
    `  sleep ${ORPHAN_KILL_GRACE_S}`,
    `  echo "$l" | while read o d pid w s; do [ "$d" = 1 ] || kill -KILL -$pid 2>/dev/null; t kill-window -t "$w"; t kill-session -t "$s"; done`,
    "fi",
    ...unwatchCommands(owner).map((c) => `t ${c.map(shQuote).join(" ")}`),
  ].join("\n");
}

/** What a session that blocks a create is: nobody's (the user's), a live conductor's, or an orphan. */
export type Blocker =
  | { kind: "foreign" }
  | { kind: "live"; owner: string; clientPid: string }
  | { kind: "orphan"; owner: string }
  /** Gone by the time it was looked at. */
  | { kind: "gone" };

/**
 * Judges the owner and clients read off the server (`ownerOf`: the session's `@conductor-owner`,
 * `livePid`: that owner's `@conductor-live-…`, `clients`: `#{client_pid}` of every attached client).
 */
export function judgeBlocker(ownerOf: string, livePid: string, clients: readonly string[]): Blocker {
  const owner = ownerOf.trim();
  if (!/^[0-9a-f]{12}$/.test(owner)) return { kind: "foreign" };
  const pid = livePid.trim();
  if (pid !== "" && clients.includes(pid)) return { kind: "live", owner, clientPid: pid };
  return { kind: "orphan", owner };
}
