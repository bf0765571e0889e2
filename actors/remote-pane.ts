/**
 * The tmux pane a remote run watches, once it is open (remote-pane-create.ts opens it): what it
 * is, what its death looks like, keys and signals sent to it, its capture, and its end.
 */
import { pasteParts } from "./bracketed-paste.js";
import { signalName } from "./pty-shim.js";
import { releaseCommands } from "./remote-pane-attach.js";
import { exactSession } from "./shell-quote.js";
import { type TmuxControl, TmuxCommandError } from "./tmux-hub.js";

export interface Pane {
  id: string;
  window: string;
  /** The pane's first process; tmux makes it a process group leader. */
  pid: number;
  /** Found after a channel reset rather than seen created: its first output went by unseen. */
  adopted?: boolean;
  /**
   * An attached pane held open at its program's exit (remote-pane-attach.ts): its own
   * `remain-on-exit` before ("" when unset on the pane), the value in effect then, and the pane
   * option that keeps the first for the owner's hook (remote-orphan-watch.ts `holdOption`).
   */
  hold?: { paneValue: string; effective: string; option?: string };
}

export interface PaneContext {
  ctl: TmuxControl;
  /** Host alias and tmux socket: only for error messages. */
  host: string;
  socket: string;
  /** Runs synchronously once the pane is known, before any of its output can be missed. */
  watch: (pane: Pane) => void;
  /** An attached pane keeps its size: the screen follows it. */
  resize: (cols: number, rows: number) => void;
  log: (event: string, data: Record<string, unknown>) => void;
  /** The run was ended before its pane existed: a create still waiting for the host is not sent. */
  cancelled?: AbortSignal;
}

/** `#{pane_dead} #{pane_dead_status} #{pane_dead_signal}` → exit, or null while alive. */
export function parseDeadState(value: string): { exitCode: number | null; signal: string | null } | null {
  const [dead, status, sig] = value.replace(/[\r\n]+$/, "").split(" "); // positional: empty fields count
  if (dead !== "1") return null;
  if (sig && /^\d+$/.test(sig) && sig !== "0")
    return { exitCode: null, signal: signalName(Number(sig)) ?? `SIG${sig}` };
  return { exitCode: status && /^\d+$/.test(status) ? Number(status) : null, signal: null };
}

/** Keys for `text` typed into the pane: text goes literally, each CR/LF as the Enter key. */
export function inputKeys(paneId: string, text: string): string[][] {
  return text
    .split(/\r\n|\r|\n/)
    .flatMap((part, i) => [
      ...(i > 0 ? [["send-keys", "-t", paneId, "Enter"]] : []),
      ...(part ? [["send-keys", "-t", paneId, "-l", part]] : []),
    ]);
}

/**
 * Typed text as a paste (WriteCommand.paste): tmux's `paste-buffer -p` brackets it where the pane's
 * program asked for bracketed pastes, and sends it as it is where not (its line ends as CR, as a
 * terminal's paste); the buffer goes with the paste (`-d`). A trailing Enter stays a key.
 */
export function pasteKeys(paneId: string, data: string): string[][] {
  const { text, enter } = pasteParts(data);
  if (text === "") return inputKeys(paneId, data);
  const buffer = `conductor-input-${paneId.replace(/[^A-Za-z0-9]/g, "")}`;
  return [
    ["set-buffer", "-b", buffer, "--", text],
    ["paste-buffer", "-p", "-d", "-b", buffer, "-t", paneId],
    ...(enter ? [["send-keys", "-t", paneId, "Enter"]] : []),
  ];
}

/** The exit shim's ack: its nonce, then Enter. */
export function ackKeys(paneId: string, nonce: string): string[][] {
  return [
    ["send-keys", "-t", paneId, "-l", nonce],
    ["send-keys", "-t", paneId, "Enter"],
  ];
}

/**
 * A signal to the pane's process group, sent by the remote tmux server itself (run-shell: no
 * ssh exec). Not C-c as well: a SIGINT would race the SIGTERM and name the wrong signal.
 * `kill -SIG -PGID`, not `kill -SIG -- -PGID`: dash (Debian's sh) rejects the `--`.
 * Resolves once tmux has started the job (or not sendable: detached, or no pid to aim at).
 *
 * `-b`, never a waiting run-shell: one holds the control client's whole command queue until
 * tmux reaps the job, and tmux can miss that child's exit. tmux built with libutempter (Debian's
 * 3.3a) closes a dead pane's utmp record by forking a helper with SIGCHLD set to SIG_DFL, so a
 * child exiting meanwhile stays a zombie until another child exits. A KILL ends the pane while
 * its job exits: under load, 1 reap in ~20 then got no answer to anything for 60 s.
 */
export async function signalPane(ctl: TmuxControl, pane: Pane, sig: "TERM" | "KILL"): Promise<void> {
  if (!ctl.attached || !(pane.pid > 1)) return;
  await ctl.run([["run-shell", "-b", `kill -${sig} -${pane.pid} >/dev/null 2>&1; true`]]).catch(() => undefined);
}

/**
 * The end of a pane. One we created that still runs is ended gracefully (SIGTERM, up to
 * `graceMs` or until `died`, SIGKILL for stragglers of the group), then its window and session
 * are killed; one we only watched is unlinked from the hub and left running. Host down: the
 * commands run when the control client attaches again.
 */
export async function endPane(
  ctl: TmuxControl,
  pane: Pane,
  o: {
    createdSession: string | null;
    graceMs: number;
    died: (ms: number) => Promise<void>;
    /** A step that failed for another reason than the pane or session being gone already. */
    failed?: (step: string, e: Error) => void;
  },
): Promise<void> {
  const failed = (step: string) => (e: Error) => {
    if (!/can't find (pane|window|session)/.test(e.message)) o.failed?.(step, e);
  };
  // Unknown counts as alive: a signal to a dead pane's group costs nothing.
  const state = ctl.attached
    ? await queryPane(ctl, pane).catch((e: Error) => {
        failed("list-panes")(e);
        return "0";
      })
    : null;
  if (o.createdSession !== null && state !== null && parseDeadState(state) === null) {
    await signalPane(ctl, pane, "TERM");
    await o.died(o.graceMs);
    await signalPane(ctl, pane, "KILL");
  }
  const cmds = cleanupCommands(ctl.hub, pane, o.createdSession, state ? parseDeadState(state) : null);
  if (ctl.attached) for (const c of cmds) await ctl.run([c]).catch(failed(String(c[0])));
  else for (const c of cmds) ctl.later([c]);
}

/**
 * Removing a pane from the remote server: a session we created loses its window and itself
 * (kill-session alone would leave the window alive in the hub); a pane we only watched is
 * unlinked from the hub and left running, or closed if its program has exited and tmux would have
 * closed it then (releaseCommands).
 */
export function cleanupCommands(
  hub: string,
  pane: Pane,
  createdSession: string | null,
  exit: { exitCode: number | null; signal: string | null } | null = null,
): string[][] {
  return createdSession !== null
    ? [
        ["kill-window", "-t", pane.window],
        ["kill-session", "-t", exactSession(createdSession)],
      ]
    : releaseCommands(hub, pane, exit);
}

/** Whether the tmux session `name` no longer exists (`has-session` fails saying so). */
export async function sessionGone(ctl: TmuxControl, name: string): Promise<boolean> {
  return ctl.run([["has-session", "-t", exactSession(name)]]).then(
    () => false,
    (e: Error) => {
      if (e instanceof TmuxCommandError && /can't find session/.test(e.message)) return true;
      throw e;
    },
  );
}

/** `#{pane_dead} #{pane_dead_status} #{pane_dead_signal}` of our pane (same id AND pid), or null when gone. */
export async function queryPane(ctl: TmuxControl, pane: Pane): Promise<string | null> {
  const format = "#{pane_id} #{pane_pid} #{pane_dead} #{pane_dead_status} #{pane_dead_signal}";
  const [lines = []] = await ctl.run([["list-panes", "-t", pane.id, "-F", format]]);
  const mine = `${pane.id} ${pane.pid} `;
  const line = lines.find((l) => l.startsWith(mine));
  return line === undefined ? null : line.slice(mine.length);
}

export interface PaneCapture {
  /** The pane's history and screen, wrapped lines joined. */
  lines: string[];
  /** The cursor's column: 0 when the last line printed was ended. */
  cursorX: number;
  /** The history is at its `history-limit`: its oldest lines are gone, so it may not reach back far enough. */
  historyFull: boolean;
}

/**
 * After a reconnect: the pane's whole history and screen (fails when the pane is gone). The whole: a
 * window of 500 lines lost what a busy agent printed in a few seconds away (a field review: 661 of
 * 1200 lines); tmux keeps `history-limit` lines (2000 by default), which bounds it.
 */
export async function capturePane(ctl: TmuxControl, pane: Pane, captured?: () => void): Promise<PaneCapture> {
  const [, lines = [], [state = "0"] = []] = await ctl.run(
    [
      ["list-panes", "-t", pane.id, "-F", "#{pane_id}"],
      ["capture-pane", "-p", "-J", "-S", "-", "-t", pane.id],
      ["display-message", "-p", "-t", pane.id, "#{cursor_x} #{history_size} #{history_limit}"],
    ],
    // As its answer is read: the pane output read before it is in the capture (remote-pane-stream.ts).
    (i) => i === 1 && captured?.(),
  );
  const [x = 0, size = 0, limit = 0] = state.split(" ").map(Number);
  return { lines, cursorX: x || 0, historyFull: limit > 0 && size >= limit };
}
