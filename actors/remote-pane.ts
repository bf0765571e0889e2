/**
 * The tmux pane a remote run watches: a new session created behind the exit shim, or an
 * existing pane attached to. Either way its window is linked into the control client's hub,
 * since a control client only sees the panes of the session it is attached to.
 */
import type { PtyProcessInput } from "../machines/session.types.js";
import { shimArgs, signalName } from "./pty-shim.js";
import { exactSession } from "./shell-quote.js";
import type { TmuxControl } from "./tmux-hub.js";

export interface Pane {
  id: string;
  window: string;
  /** The pane's first process; tmux makes it a process group leader. */
  pid: number;
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
  const { ctl } = ctx;
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
  let pane: Pane | undefined;
  // One line, so tmux runs all three before it handles the child's exit: `false` keeps its pane.
  await ctl
    .run(
      [
        cmd,
        ["set-option", "-w", "-t", exactSession(name), "remain-on-exit", "on"],
        ["link-window", "-d", "-s", exactSession(name), "-t", exactSession(ctl.hub)],
      ],
      (i, lines) => {
        if (i === 0 && (pane = paneFrom(lines[0]))) ctx.watch(pane);
      },
    )
    .catch((e: Error) => {
      if (/duplicate session/.test(e.message))
        throw new Error(
          `tmux session "${name}" already exists on ${ctx.host} (tmux -L ${ctx.socket}): watch it with attach: true, or remove it first`,
        );
      ctl.later([["kill-session", "-t", exactSession(name)]]); // half-created: leave nothing behind
      throw new Error(`cannot create tmux session "${name}" on ${ctx.host}: ${e.message}`);
    });
  if (!pane) throw new Error("tmux did not report the new pane");
  return pane;
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
