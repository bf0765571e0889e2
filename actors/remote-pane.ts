/**
 * The tmux pane a remote run watches: a new session created behind the exit shim, or an
 * existing pane attached to. Either way its window is linked into the control client's hub,
 * since a control client only sees the panes of the session it is attached to.
 */
import type { PtyProcessInput } from "../machines/session.types.js";
import { shimArgs, signalName } from "./pty-shim.js";
import { exactSession } from "./shell-quote.js";
import { ChannelResetError, type TmuxControl, TmuxCommandError } from "./tmux-hub.js";

export interface Pane {
  id: string;
  window: string;
  /** The pane's first process; tmux makes it a process group leader. */
  pid: number;
  /** Found after a channel reset rather than seen created: its first output went by unseen. */
  adopted?: boolean;
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
}

/** `#{pane_dead} #{pane_dead_status} #{pane_dead_signal}` → exit, or null while alive. */
export function parseDeadState(value: string): { exitCode: number | null; signal: string | null } | null {
  const [dead, status, sig] = value.replace(/[\r\n]+$/, "").split(" "); // positional: empty fields count
  if (dead !== "1") return null;
  if (sig && /^\d+$/.test(sig) && sig !== "0")
    return { exitCode: null, signal: signalName(Number(sig)) ?? `SIG${sig}` };
  return { exitCode: status && /^\d+$/.test(status) ? Number(status) : null, signal: null };
}

/** A new tmux session `name` running `spec.argv` behind the exit shim (marker nonce `nonce`). */
export async function createPane(
  ctx: PaneContext,
  name: string,
  spec: PtyProcessInput["spec"],
  nonce: string,
): Promise<Pane> {
  const cmd = [
    "new-session",
    "-d",
    "-s",
    name,
    "-x",
    String(spec.cols ?? 120),
    "-y",
    String(spec.rows ?? 40),
    "-P",
    "-F",
    "#{window_id} #{pane_id} #{pane_pid}",
  ];
  if (spec.cwd) cmd.push("-c", spec.cwd);
  for (const [k, v] of Object.entries(spec.env ?? {})) {
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) cmd.push("-e", `${k}=${v}`);
    else ctx.log("remote.env_skipped", { key: k });
  }
  // The exit shim keeps the pty open after the agent exits and prints its status in-band:
  // without it tmux loses a fast-exiting agent's last output (Linux pty EIO at close, and
  // output still queued for a control client is dropped when the pane closes).
  cmd.push("--", "/bin/sh", ...shimArgs(nonce, spec.argv));
  for (let attempt = 1; ; attempt++) {
    try {
      return await createOnce(ctx, name, cmd);
    } catch (e) {
      // The channel reset with the line in flight: it may have run. Our nonce tells.
      if (!(e instanceof ChannelResetError) || attempt >= MAX_CREATE_ATTEMPTS) throw createError(ctx, name, e as Error);
      ctx.log("remote.spawn_channel_reset", { tmuxSession: name, attempt, error: e.message });
      const mine = await findCreated(ctx, name, nonce).catch((err: Error) => {
        throw createError(ctx, name, err);
      });
      if (mine) return mine;
    }
  }
}

/** A channel that resets this often is broken; say so rather than retry forever. */
const MAX_CREATE_ATTEMPTS = 3;

async function createOnce(ctx: PaneContext, name: string, cmd: string[]): Promise<Pane> {
  const { ctl } = ctx;
  let pane: Pane | undefined;
  // One line, so tmux runs all three before it handles the child's exit: `false` keeps its pane.
  await ctl.run(
    [
      cmd,
      ["set-option", "-w", "-t", exactSession(name), "remain-on-exit", "on"],
      ["link-window", "-d", "-s", exactSession(name), "-t", exactSession(ctl.hub)],
    ],
    (i, lines) => {
      if (i !== 0) return;
      pane = paneFrom(lines[0]);
      if (pane) ctx.watch(pane);
    },
  );
  if (!pane) throw new Error("tmux did not report the new pane");
  return pane;
}

function createError(ctx: PaneContext, name: string, e: Error): Error {
  if (/duplicate session/.test(e.message))
    return new Error(
      `tmux session "${name}" already exists on ${ctx.host} (tmux -L ${ctx.socket}): watch it with attach: true, or remove it first`,
    );
  ctx.ctl.later([["kill-session", "-t", exactSession(name)]]); // half-created: leave nothing behind
  return new Error(`cannot create tmux session "${name}" on ${ctx.host}: ${e.message}`);
}

/**
 * After a reset (run() has waited for the reattach): the session our line created, if it ran,
 * known by the nonce in its command line; it is then finished as the line would have (kept on
 * exit, linked into the hub). Null when the line never ran. A session by that name without our
 * nonce is someone else's: "duplicate session", as tmux would have said.
 */
async function findCreated(ctx: PaneContext, name: string, nonce: string): Promise<Pane | null> {
  const { ctl } = ctx;
  const format = "#{window_id} #{pane_id} #{pane_pid} #{window_linked_sessions} #{pane_start_command}";
  const lines = await ctl.run([["list-panes", "-s", "-t", exactSession(name), "-F", format]]).then(
    ([found = []]) => found,
    (e: Error) => {
      if (/can't find session/.test(e.message)) return [];
      throw e;
    },
  );
  const [line] = lines;
  if (line === undefined) return null;
  if (!line.includes(nonce)) throw new Error(`duplicate session: ${name}`);
  const pane = paneFrom(line);
  if (!pane) throw new Error(`tmux reported an unreadable pane for "${name}": ${line}`);
  ctx.watch(pane);
  const linked = Number(line.split(" ")[3]) > 1;
  await ctl.run([
    ["set-option", "-w", "-t", pane.window, "remain-on-exit", "on"],
    ...(linked ? [] : [["link-window", "-d", "-s", pane.window, "-t", exactSession(ctl.hub)]]),
  ]);
  ctx.log("remote.spawn_adopted", { tmuxSession: name, pane: pane.id, pid: pane.pid, wasLinked: linked });
  return { ...pane, adopted: true };
}

/** An existing pane (`target`), watched where it is; it is never killed. */
export async function attachPane(ctx: PaneContext, target: string): Promise<Pane> {
  const { ctl } = ctx;
  // list-panes fails on a missing target; display-message would quietly fall back to another pane.
  const [, [line = ""] = []] = await ctl
    .run([
      ["list-panes", "-t", target, "-F", "#{pane_id}"],
      [
        "display-message",
        "-p",
        "-t",
        target,
        "#{window_id} #{pane_id} #{pane_pid} #{pane_width} #{pane_height} #{window_linked_sessions_list}",
      ],
    ])
    .catch((e: Error) => {
      throw new Error(`cannot attach to tmux target "${target}" on ${ctx.host}: ${e.message}`);
    });
  const pane = paneFrom(line);
  if (!pane) throw new Error(`tmux target "${target}" did not resolve to a pane`);
  const [, , , w, h, ...linked] = line.split(" ");
  ctx.resize(Number(w) || 120, Number(h) || 40);
  ctx.watch(pane);
  if (!linked.join(" ").split(",").includes(ctl.hub))
    await ctl.run([["link-window", "-d", "-s", pane.window, "-t", exactSession(ctl.hub)]]);
  return pane;
}

function paneFrom(line: string | undefined): Pane | undefined {
  const [window, id, pid] = (line ?? "").split(" ");
  return window?.startsWith("@") && id?.startsWith("%") ? { window, id, pid: Number(pid) } : undefined;
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
  const cmds = cleanupCommands(ctl.hub, pane, o.createdSession);
  if (ctl.attached) for (const c of cmds) await ctl.run([c]).catch(failed(String(c[0])));
  else for (const c of cmds) ctl.later([c]);
}

/**
 * Removing a pane from the remote server: a session we created loses its window and itself
 * (kill-session alone would leave the window alive in the hub); a pane we only watched is
 * unlinked from the hub and left running.
 */
export function cleanupCommands(hub: string, pane: Pane, createdSession: string | null): string[][] {
  return createdSession !== null
    ? [
        ["kill-window", "-t", pane.window],
        ["kill-session", "-t", exactSession(createdSession)],
      ]
    : [["unlink-window", "-t", `${exactSession(hub)}${pane.window}`]];
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
}

/** After a reconnect: the pane's recent history and screen (fails when the pane is gone). */
export async function capturePane(ctl: TmuxControl, pane: Pane): Promise<PaneCapture> {
  const [, lines = [], [x = "0"] = []] = await ctl.run([
    ["list-panes", "-t", pane.id, "-F", "#{pane_id}"],
    ["capture-pane", "-p", "-J", "-S", "-500", "-t", pane.id],
    ["display-message", "-p", "-t", pane.id, "#{cursor_x}"],
  ]);
  return { lines, cursorX: Number(x) || 0 };
}
