/**
 * Opening the tmux pane a remote run creates: a new session behind the exit shim, its window linked
 * into the control client's hub, since a control client only sees the panes of the session it is
 * attached to. A pane watched with `attach: true` is opened by remote-pane-attach.ts.
 */
import { WORKDIR_MISSING } from "../machines/agents/command.js";
import type { PtyProcessInput } from "../machines/session.types.js";
import { shimArgs } from "./pty-shim.js";
import { REMOTE_COOKIE_VAR } from "./remote-escapees.js";
import { endOrphan } from "./remote-orphan-end.js";
import { OWNER_OPTION } from "./remote-orphan-watch.js";
import type { Pane, PaneContext } from "./remote-pane.js";
import { exactSession } from "./shell-quote.js";
import { CancelledError, ChannelResetError } from "./tmux-hub.js";

export { WORKDIR_MISSING };

/**
 * `argv` run in `dir` on the host, or not at all: `dir` relative is relative to the remote user's
 * home. Exits 1 with a line naming the directory and the host when it cannot be entered. The
 * directory and host are arguments, never pasted into the script; `exec` keeps one process.
 */
export function inWorkdir(dir: string, host: string, argv: readonly string[]): string[] {
  const script = [
    "d=$1 h=$2; shift 2",
    'case $d in /*) ;; *) cd "${HOME:-/}" 2>/dev/null;; esac',
    `cd -- "$d" 2>/dev/null || { printf '${WORKDIR_MISSING} %s does not exist on host %s (or cannot be entered): the agent was not started; create it there, or fix "workdir"\n' "$d" "$h" >&2; exit 1; }`,
    'exec "$@"',
  ].join("\n");
  return ["/bin/sh", "-c", script, "conductor-workdir", dir, host, ...argv];
}

/**
 * A new tmux session `name` running `spec.argv` behind the exit shim (marker nonce `nonce`); every
 * process in it carries `cookie` (remote-escapees.ts), which finds those that leave the pane.
 */
export async function createPane(
  ctx: PaneContext,
  name: string,
  spec: PtyProcessInput["spec"],
  nonce: string,
  cookie?: string,
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
  // tmux falls back to the home directory when `-c` is missing there: the agent would run in the
  // wrong tree as if all were well. `-c` only for tmux's own idea of the session's directory; the
  // agent itself is started by inWorkdir, which refuses to run it anywhere else.
  if (spec.cwd?.startsWith("/")) cmd.push("-c", spec.cwd);
  for (const [k, v] of Object.entries(spec.env ?? {})) {
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) cmd.push("-e", `${k}=${v}`);
    else ctx.log("remote.env_skipped", { key: k });
  }
  if (cookie) cmd.push("-e", `${REMOTE_COOKIE_VAR}=${cookie}`); // after the spec's: never replaced by it
  // The exit shim keeps the pty open after the agent exits and prints its status in-band:
  // without it tmux loses a fast-exiting agent's last output (Linux pty EIO at close, and
  // output still queued for a control client is dropped when the pane closes).
  const argv = spec.cwd ? inWorkdir(spec.cwd, ctx.host, spec.argv) : spec.argv;
  cmd.push("--", "/bin/sh", ...shimArgs(nonce, argv));
  let orphanEnded = false;
  for (let attempt = 1; ; attempt++) {
    try {
      return await createOnce(ctx, name, cmd);
    } catch (e) {
      if (e instanceof CancelledError) throw e;
      // Left by a conductor that is provably gone (a crash, then a restart on this machine): ended,
      // then created anew (remote-orphan-end.ts). Once: a session that comes back at once is not an orphan's.
      if (!orphanEnded && /duplicate session/.test((e as Error).message)) {
        orphanEnded = true;
        const blocker = await endOrphan(ctx, name).catch((err: Error) => {
          throw createError(ctx, name, err);
        });
        if (blocker.kind === "orphan" || blocker.kind === "gone") continue;
        if (blocker.kind === "live" && blocker.owner === ctx.ctl.owner)
          throw new Error(
            `tmux session "${name}" on ${ctx.host} (tmux -L ${ctx.socket}) is in use by another live session of this conductor: give this session another id or remote.sessionName`,
          );
        if (blocker.kind === "away")
          throw new Error(
            `tmux session "${name}" on ${ctx.host} (tmux -L ${ctx.socket}) belongs to another conductor whose control client is away: the host ends its agent once it has been away for its hostDownTimeoutMs, unless it comes back; retry after that, or give this session another id or remote.sessionName`,
          );
        if (blocker.kind === "live")
          throw new Error(
            `tmux session "${name}" on ${ctx.host} (tmux -L ${ctx.socket}) belongs to another conductor, whose control client (pid ${blocker.clientPid} there) is attached: give this session another id or remote.sessionName`,
          );
      }
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
  // One line, so tmux runs them all before it handles the child's exit: `false` keeps its pane.
  await ctl.run(
    [
      cmd,
      ["set-option", "-w", "-t", exactSession(name), "remain-on-exit", "on"],
      ["set-option", "-t", exactSession(name), OWNER_OPTION, ctl.owner],
      ["link-window", "-d", "-s", exactSession(name), "-t", exactSession(ctl.hub)],
    ],
    (i, lines) => {
      if (i !== 0) return;
      pane = paneFrom(lines[0]);
      if (pane) ctx.watch(pane);
    },
    ctx.cancelled,
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

function paneFrom(line: string | undefined): Pane | undefined {
  const [window, id, pid] = (line ?? "").split(" ");
  return window?.startsWith("@") && id?.startsWith("%") ? { window, id, pid: Number(pid) } : undefined;
}
