/**
 * A pane watched with `attach: true`: someone else's program, never signalled nor started by us.
 * While it is watched its pane is held open when the program exits (the pane option
 * `remain-on-exit`, set in the attach's own command line and put back at the end), so its exit
 * status can be read: without it tmux closed the pane at the exit and the status was lost
 * (`remote_pane_gone`). At the end the dead pane is closed as tmux would have closed it.
 *
 * Its end is final for the session: the conductor cannot run that program again, so the run's exit
 * is one the session never restarts (failureMode `config`), said plainly, and a target that is gone
 * or dead at attach is refused the same way: before, each restart failed with "can't find session".
 */
import type { ChildExit } from "../machines/child-run.types.js";
import { HOLD_UNSET, holdOption } from "./remote-orphan-watch.js";
import type { Pane, PaneContext } from "./remote-pane.js";
import { exactSession } from "./shell-quote.js";
import { TmuxCommandError } from "./tmux-hub.js";

/** The target cannot be watched as it is (gone, or its program ended): waiting or retrying cannot help. */
export class AttachRefusedError extends Error {
  override name = "AttachRefusedError";
}

/** What to do when the program ends; a command that never restarts it. */
const RERUN = "attach: true only watches a program someone else started, and the conductor never starts it";

/** An existing pane (`target`), watched where it is and held open at its program's exit. */
export async function attachPane(ctx: PaneContext, target: string): Promise<Pane> {
  const { ctl } = ctx;
  const format =
    "#{window_id} #{pane_id} #{pane_pid} #{pane_width} #{pane_height} #{pane_dead} #{pane_dead_status} #{remain-on-exit} #{window_linked_sessions_list}";
  // One line: tmux runs it whole before it handles the program's exit, so no exit slips between the
  // reading and the hold. list-panes fails on a missing target (display-message would fall back to another pane).
  const answer = await ctl
    .run([
      ["list-panes", "-t", target, "-F", "#{pane_id}"],
      ["display-message", "-p", "-t", target, format],
      ["show-options", "-p", "-q", "-v", "-t", target, "remain-on-exit"],
      ["set-option", "-p", "-t", target, "remain-on-exit", "on"],
    ])
    .catch((e: Error) => {
      const why = `cannot attach to tmux target "${target}" on ${ctx.host}: ${e.message}`;
      if (e instanceof TmuxCommandError && /can't find/.test(e.message))
        throw new AttachRefusedError(`${why}; ${RERUN}: start it in tmux there, then restart the session`);
      throw new Error(why);
    });
  const [, [line = ""] = [], [paneValue = ""] = []] = answer;
  const [window, id, pid, w, h, dead, status, effective = "off", ...linked] = line.split(" ");
  if (!window?.startsWith("@") || !id?.startsWith("%"))
    throw new Error(`tmux target "${target}" did not resolve to a pane`);
  const option = holdOption(ctl.owner);
  const pane: Pane = { window, id, pid: Number(pid), hold: { paneValue, effective, option } };
  // What to put back, kept on the pane itself: if this conductor dies, its hook on the host restores
  // it (a pane left with remain-on-exit on stayed open, dead, after its program's exit: a review).
  if (dead !== "1") await ctl.run([["set-option", "-p", "-t", id, option, paneValue || HOLD_UNSET]]);
  if (dead === "1") {
    void ctl.run(releaseCommands(ctl.hub, pane, null).slice(0, -1)).catch(() => undefined); // its option as it was
    throw new AttachRefusedError(
      `tmux target "${target}" on ${ctx.host} is a dead pane (${id}: its program exited${status ? ` with status ${status}` : ""}); ${RERUN}: respawn it there (tmux respawn-pane -t ${id}), then restart the session`,
    );
  }
  ctx.resize(Number(w) || 120, Number(h) || 40);
  ctx.watch(pane);
  if (!linked.join(" ").split(",").includes(ctl.hub))
    await ctl.run([["link-window", "-d", "-s", pane.window, "-t", exactSession(ctl.hub)]]);
  return pane;
}

/**
 * The end of watching: the pane's `remain-on-exit` as it was; a pane whose program has exited
 * (`exit`, as tmux said just before) is closed if that option would not have kept it (`off`;
 * `failed` keeps all but a clean exit); the window unlinked from the hub. A pane still running is
 * left running. Not `if-shell -F`: the command it runs answers as if this client had sent it, one
 * answer too many for the channel. So a host away at the end (exit unknown) leaves a dead pane there.
 */
export function releaseCommands(
  hub: string,
  pane: Pane,
  exit: { exitCode: number | null; signal: string | null } | null,
): string[][] {
  const { id, hold } = pane;
  const unlink = ["unlink-window", "-t", `${exactSession(hub)}${pane.window}`];
  if (!hold) return [unlink];
  const restore = [
    hold.paneValue
      ? ["set-option", "-p", "-t", id, "remain-on-exit", hold.paneValue]
      : ["set-option", "-p", "-u", "-t", id, "remain-on-exit"],
    ...(hold.option ? [["set-option", "-p", "-u", "-t", id, hold.option]] : []),
  ];
  const clean = exit?.exitCode === 0 && !exit.signal;
  const kept = hold.effective === "on" || (hold.effective === "failed" && !clean);
  return exit && !kept ? [...restore, ["kill-pane", "-t", id], unlink] : [...restore, unlink];
}

/** How an attached pane's run ended, said for the session: an exit it does not restart, with why. */
export function attachedEnd(exit: ChildExit, pane: Pane | undefined, target: string): ChildExit {
  if (exit.exitCode === 0 && !exit.signal) return exit;
  const which = `attached pane ${pane?.id ?? ""} (tmux target "${target}")`;
  if (exit.reason === "remote_pane_gone")
    return {
      ...exit,
      failureMode: "config",
      detail: `the ${which} is gone: closed in tmux (kill-pane, kill-window, kill-session) or its server ended, so its program's exit status is unknown; ${RERUN}`,
    };
  const how = exit.signal
    ? `was killed by ${exit.signal}`
    : exit.exitCode === null
      ? "exited, and tmux did not report its status"
      : `exited with code ${exit.exitCode}`;
  return {
    ...exit,
    failureMode: "config",
    reason: "attached_pane_exited",
    detail: `the program of the ${which} ${how}; ${RERUN}: start it there again, then restart the session`,
  };
}
