/** `conductor ls`: every session of a running conductor (or of each one), pm2-style. */
import { connectControl } from "../control/client.js";
import type { ControlSession } from "../control/protocol.js";
import { listConductors, type RegistryEntry, resolveConductor } from "../control/registry.js";
import type { Flags } from "./args.js";
import { age, STATE_COLORS, table } from "./connect.js";

const HEAD = ["id", "agent", "state", "restarts", "uptime", "last output", "reason", "last error"];
/** The CLI's own line, clipped to keep one row a line ("API Error: 529 Overloaded. This is…"). */
const clip = (s: string, n = 72) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const LIVE = new Set(["starting", "healthy", "stalled", "input_wait"]);

export function sessionRows(sessions: ControlSession[], now = Date.now()): string[][] {
  return sessions.map((s) => [
    s.id,
    s.agent,
    s.state,
    String(s.restarts),
    LIVE.has(s.state) && s.runStartedAt ? age(now - Date.parse(s.runStartedAt)) : "-",
    s.lastOutputAt ? `${age(now - Date.parse(s.lastOutputAt))} ago` : "-",
    reasonCell(s, now),
    s.lastError ? clip(s.lastError) : "-",
  ]);
}

/** Why it is where it is; a session waiting to run again says when (a rate limit's reset may be hours off). */
function reasonCell(s: ControlSession, now: number): string {
  const why = s.failureMode && !s.reason.includes(s.failureMode) ? `${s.failureMode}: ${s.reason}` : s.reason || "-";
  const due = s.nextRunAt ? Date.parse(s.nextRunAt) - now : null;
  return due === null ? why : `${why}; next run in ${age(Math.max(0, due))}`;
}

export async function lsCommand(flags: Flags, out: NodeJS.WriteStream): Promise<number> {
  const color = Boolean(out.isTTY) && flags.color !== false;
  let targets: Array<Pick<RegistryEntry, "name" | "socket"> & Partial<RegistryEntry>>;
  if (typeof flags.socket === "string") targets = [{ name: String(flags.name ?? flags.socket), socket: flags.socket }];
  else if (typeof flags.name === "string" || process.env.CONDUCTOR_NAME)
    targets = [resolveConductor(typeof flags.name === "string" ? flags.name : process.env.CONDUCTOR_NAME)];
  else targets = listConductors();
  if (targets.length === 0) {
    if (flags.json) out.write("[]\n");
    else out.write(`no conductor is running (start one with "conductor run --detach")\n`);
    return 0;
  }
  const all: Array<{ conductor: string; sessions: ControlSession[] }> = [];
  for (const t of targets) {
    const client = await connectControl(t.socket);
    try {
      all.push({ conductor: t.name, sessions: await client.request<ControlSession[]>({ op: "sessions" }) });
    } finally {
      client.close();
    }
  }
  if (flags.json) {
    out.write(`${JSON.stringify(targets.length === 1 && !flags.all ? all[0]?.sessions : all, null, 2)}\n`);
    return 0;
  }
  all.forEach(({ conductor, sessions }, i) => {
    const t = targets[i] as Partial<RegistryEntry>;
    if (targets.length > 1 || t.pid)
      out.write(
        `${i > 0 ? "\n" : ""}conductor ${conductor}${t.pid ? ` (pid ${t.pid}, logs ${t.logsDir})` : ""}` +
          `${t.viewerUrl ? `\n  viewer: ${t.viewerUrl}` : ""}\n`,
      );
    if (sessions.length === 0) {
      out.write("  no sessions yet\n");
      return;
    }
    const rows = sessionRows(sessions);
    out.write(`${table(HEAD, rows, (r, c) => (c === 2 ? STATE_COLORS[rows[r]?.[2] ?? ""] : undefined), color)}\n`);
  });
  return 0;
}
