/** `conductor ls`: every session of a running conductor (or of each one), pm2-style. */
import type { ControlSession } from "../control/protocol.js";
import {
  listConductors,
  type RegistryEntry,
  resolveConductor,
  socketMissingMessage,
  takeGoneConductors,
} from "../control/registry.js";
import { type Flags, UsageError } from "./args.js";
import { age, answerTimeoutMs, connectAnswering, STATE_COLORS, type Target, table } from "./connect.js";

const HEAD = ["id", "agent", "state", "restarts", "uptime", "last output", "reason", "last error"];
/** The CLI's own line, clipped to keep one row a line ("API Error: 529 Overloaded. This is…"). */
const clip = (s: string, n = 72) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const LIVE = new Set(["starting", "healthy", "stalled", "input_wait"]);

/** A conductor that died without its shutdown, said once by the first `ls` after it. */
export function goneLine(g: RegistryEntry): string {
  return (
    `conductor ${g.name} (pid ${g.pid}, since ${g.startedAt}) is gone without its shutdown (killed or crashed): ` +
    `\`conductor report ${g.logsDir}\` says what its sessions did; the next \`conductor run\` there ` +
    "ends what it left running"
  );
}

export function sessionRows(sessions: ControlSession[], now = Date.now()): string[][] {
  return sessions.map((s) => [
    s.id,
    s.agent,
    s.state,
    String(s.restarts),
    LIVE.has(s.state) && s.runStartedAt ? age(now - Date.parse(s.runStartedAt)) : "-",
    s.lastOutputAt ? `${age(now - Date.parse(s.lastOutputAt))} ago` : "-",
    reasonCell(s, now),
    errorCell(s),
  ]);
}

/**
 * The run's own error; a live run without one shows why the run before it ended, marked as that
 * run's: a session that crashes every few minutes read `healthy` with `-` here between crashes.
 */
function errorCell(s: ControlSession): string {
  if (s.lastError) return clip(s.lastError);
  const prev = s.previousRun;
  if (!LIVE.has(s.state) || !prev || prev.restartedOnRequest) return "-";
  const { exit, failureMode } = prev;
  const code = exit?.signal ? `killed by ${exit.signal}` : exit && exit.exitCode !== 0 ? `exit ${exit.exitCode}` : null;
  const how = prev.lastError ?? [failureMode, code].filter(Boolean).join(", ");
  return how ? clip(`run ${prev.attempt}: ${how}`) : "-";
}

/**
 * Why it is where it is; a session waiting to run again says when (a rate limit's reset may be hours
 * off); a remote one whose host link is not up says so, and input its dying link may have lost (a
 * remote session reads `healthy` through an outage: only `--json` said it).
 */
function reasonCell(s: ControlSession, now: number): string {
  const parts = [
    s.failureMode && !s.reason.includes(s.failureMode) ? `${s.failureMode}: ${s.reason}` : s.reason || "-",
  ];
  const due = s.nextRunAt ? Date.parse(s.nextRunAt) - now : null;
  if (due !== null) parts.push(`next run in ${age(Math.max(0, due))}`);
  // Waiting for an account: no process runs, whatever the uptime says (a field review: `starting` and nothing else).
  const wait = s.accountWait;
  if (wait) {
    const eta = wait.etaAt ? ` (one free in ~${age(Math.max(0, Date.parse(wait.etaAt) - now))})` : "";
    parts.push(`waits for an account${eta}: ${wait.reason}`);
  }
  const link = s.link;
  if (link && link.status !== "up") {
    const since = link.since ? ` for ${age(now - Date.parse(link.since))}` : "";
    parts.push(`host ${link.host} ${link.status}${since}`);
  }
  if (s.inputUnsure) parts.push("last input may not have arrived");
  return parts.join("; ");
}

/** What one conductor answered, or why it did not. */
type Listing = { target: Target; sessions: ControlSession[] } | { target: Target; problem: string };

async function listingOf(t: Target): Promise<Listing> {
  if (t.socketMissing) return { target: t, problem: socketMissingMessage(t as RegistryEntry) };
  try {
    const client = await connectAnswering(t);
    try {
      return {
        target: t,
        sessions: await client.request<ControlSession[]>({ op: "sessions" }, { timeoutMs: answerTimeoutMs() }),
      };
    } finally {
      client.close();
    }
  } catch (err) {
    return { target: t, problem: (err as Error).message };
  }
}

export async function lsCommand(
  flags: Flags,
  out: NodeJS.WriteStream,
  positionals: string[] = [],
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  // `conductor ls day` is `conductor ls --name day` (the positional was ignored: every conductor was listed).
  if (positionals.length > 1 || (positionals.length === 1 && typeof flags.name === "string"))
    throw new UsageError(`ls takes at most one conductor name (e.g. conductor ls --name nightly)`);
  if (positionals.length === 1) flags = { ...flags, name: positionals[0] };
  const color = Boolean(out.isTTY) && flags.color !== false;
  let targets: Target[];
  if (typeof flags.socket === "string") targets = [{ name: String(flags.name ?? flags.socket), socket: flags.socket }];
  else if (typeof flags.name === "string" || process.env.CONDUCTOR_NAME) {
    const name = typeof flags.name === "string" ? flags.name : process.env.CONDUCTOR_NAME;
    // A named conductor whose socket is gone is still listed as such (resolveConductor refuses it).
    const missing = listConductors().find((e) => e.name === name && e.socketMissing);
    targets = [missing ?? resolveConductor(name)];
  } else targets = listConductors();
  // Not with --json (its shape is the sessions'): said on stderr there, so a script still hears it.
  for (const g of typeof flags.socket === "string" ? [] : takeGoneConductors())
    (flags.json ? err : out).write(`${goneLine(g)}\n`);
  if (targets.length === 0) {
    if (flags.json) out.write("[]\n");
    else out.write(`no conductor is running (start one with "conductor run --detach")\n`);
    return 0;
  }
  // All at once: one conductor that does not answer costs one bound, not one per conductor after it.
  const listings = await Promise.all(targets.map(listingOf));
  const failed = listings.filter((l) => "problem" in l);
  if (flags.json) {
    // One shape however many conductors answer: a flat array of sessions, each naming its conductor.
    const sessions = listings.flatMap((l) =>
      "sessions" in l ? l.sessions.map((s) => ({ ...s, conductor: l.target.name })) : [],
    );
    out.write(`${JSON.stringify(sessions, null, 2)}\n`);
    for (const l of failed) err.write(`conductor ls: ${(l as { problem: string }).problem}\n`);
    return failed.length > 0 ? 1 : 0;
  }
  listings.forEach((l, i) => {
    const t = l.target;
    if (targets.length > 1 || t.pid)
      out.write(
        `${i > 0 ? "\n" : ""}conductor ${t.name}${t.pid ? ` (pid ${t.pid}, logs ${t.logsDir})` : ""}` +
          `${t.viewerUrl ? `\n  viewer: ${t.viewerUrl}` : ""}\n`,
      );
    if ("problem" in l) {
      out.write(`  ${l.problem}\n`);
      return;
    }
    if (l.sessions.length === 0) {
      out.write("  no sessions yet\n");
      return;
    }
    const rows = sessionRows(l.sessions);
    out.write(`${table(HEAD, rows, (r, c) => (c === 2 ? STATE_COLORS[rows[r]?.[2] ?? ""] : undefined), color)}\n`);
  });
  return failed.length > 0 ? 1 : 0;
}
