/**
 * A tmux session in a create's way. Left by a conductor that is provably gone (its client not
 * attached, its process on this machine dead), it is ended as the owner's hook would end it: TERM to
 * its live panes' groups, KILL after ORPHAN_KILL_GRACE_S, its windows and itself killed, and what
 * its owner's runs left outside their panes (remote-escapees.ts). A session of
 * a conductor that is attached or only away (it may be reconnecting: a field review saw a paused
 * conductor's live agent ended 300 ms into its outage), and the user's own, are left alone: the
 * create fails, saying whose it is.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { isProcessAlive, pidSpace } from "./process-identity.js";
import { endEscapeesLater } from "./remote-escapees.js";
import {
  type Blocker,
  judgeBlocker,
  liveOption,
  ORPHAN_KILL_GRACE_S,
  OWNER_OPTION,
  procOption,
} from "./remote-orphan-watch.js";
import { endPane, type Pane, type PaneContext } from "./remote-pane.js";
import { exactSession } from "./shell-quote.js";
import type { TmuxControl } from "./tmux-hub.js";

const gone = (e: Error): Blocker => {
  if (/can't find session/.test(e.message)) return { kind: "gone" };
  throw e;
};

/** Whose the session `name` is (never throws for a session gone meanwhile). */
export async function blockerOf(ctx: PaneContext, name: string): Promise<Blocker> {
  const { ctl } = ctx;
  const target = exactSession(name);
  try {
    const [[ownerOf = ""] = []] = await ctl.run([["display-message", "-p", "-t", target, `#{${OWNER_OPTION}}`]]);
    const owner = ownerOf.trim();
    const [[livePid = ""] = [], clients = [], [proc = ""] = []] = /^[0-9a-f]{12}$/.test(owner)
      ? await ctl.run([
          ["show-options", "-gqv", liveOption(owner)],
          ["list-clients", "-F", "#{client_pid}"],
          ["show-options", "-gqv", procOption(owner)],
        ])
      : [];
    return judgeBlocker({ owner, livePid, clients, proc }, { pidSpace: pidSpace(), alive: isProcessAlive });
  } catch (e) {
    return gone(e as Error);
  }
}

/** Ends the session `name` if it is an orphan; resolves with what it was (`gone`/`orphan`: create again). */
export async function endOrphan(ctx: PaneContext, name: string): Promise<Blocker> {
  const blocker = await blockerOf(ctx, name);
  if (blocker.kind !== "orphan") return blocker;
  const { ctl } = ctx;
  const lines = await ctl
    .run([["list-panes", "-s", "-t", exactSession(name), "-F", "#{window_id} #{pane_id} #{pane_pid}"]])
    .then(([found = []]) => found, gone);
  if (!Array.isArray(lines)) return lines;
  const panes = lines
    .map((l) => l.split(" "))
    .map(([window = "", id = "", pid]): Pane => ({ window, id, pid: Number(pid) }));
  const graceMs = ORPHAN_KILL_GRACE_S * 1000;
  const failed = (step: string, e: Error) =>
    ctx.log("remote.orphan_end_failed", { tmuxSession: name, step, error: e.message });
  for (const pane of panes)
    await endPane(ctl, pane, { createdSession: name, graceMs, died: (ms) => sleep(ms), failed });
  // Its daemons too (remote-escapees.ts): the owner is provably gone, so is every run of it.
  endEscapeesLater(ctl, `${blocker.owner}.`, graceMs);
  ctx.log("remote.orphan_ended", { tmuxSession: name, owner: blocker.owner, panes: panes.length });
  return blocker;
}

/** Whether a pane of a session this client created still runs (a failed query says yes: keep the hook). */
export async function ownsLivePanes(ctl: TmuxControl): Promise<boolean> {
  return ctl.run([["list-panes", "-a", "-F", `#{${OWNER_OPTION}} #{pane_dead}`]]).then(
    ([lines = []]) => lines.some((l) => l === `${ctl.owner} 0`),
    () => true,
  );
}
