/**
 * What `conductor run` says when the library refuses something (and which sessions it refuses
 * before any starts), in the command line's terms: the config file and its keys, the flags. A CLI
 * user never called `createConductor({ control })` or set `probeOpts`. Read from the errors' code,
 * field and issues; the library's messages stay as they are for embedders.
 */
import { type RunConfig, type SessionConfig, spawnConfigOf } from "../config.js";
import type { createConductor } from "../conductor.js";
import { ConductorError, type ConfigIssue, OptionsError, withoutLibraryCall } from "../errors.js";

export interface RunErrorContext {
  /** The config file as the user named it; absent for the built-in demo. */
  configPath?: string;
  config: RunConfig;
  /** `--logs-dir` as given, when it was. */
  logsDirFlag?: string;
}

const fileOf = (ctx: RunErrorContext) => ctx.configPath ?? "the built-in demo's config";

/** An option's path as the file spells it: `probeOpts` is `probe` there. */
const keyOf = (path: string) => path.replace(/^probeOpts(?=\.|$)/, "probe");

/** Where a conductor-wide setting came from: a flag, a key of the file, or the default. */
function settingOf(path: string, ctx: RunErrorContext): { where: string; example: (e: string) => string } {
  if (path === "logsDir" && ctx.logsDirFlag !== undefined)
    return { where: "--logs-dir", example: () => "--logs-dir ./logs" };
  if (path === "logsDir" && ctx.config.logsDir === undefined)
    return { where: "the default logs directory (--logs-dir DIR picks another)", example: () => "--logs-dir ./logs" };
  if (path === "") return { where: fileOf(ctx), example: (e) => e };
  return { where: `"${keyOf(path)}" in ${fileOf(ctx)}`, example: (e) => `"${keyOf(path).split(".").at(-1)}": ${e}` };
}

function issueLine(i: ConfigIssue, ctx: RunErrorContext, session?: SessionConfig): string {
  const { where, example } = session
    ? { where: `session "${session.id}" in ${fileOf(ctx)}, "${keyOf(i.path)}"`, example: (e: string) => e }
    : settingOf(i.path, ctx);
  const ex = i.example ? `${/[.?!]$/.test(i.problem) ? "" : "."} Example: ${example(i.example)}` : "";
  return `${where}: ${i.problem}${ex}`;
}

/** The MCP heartbeat's key (`enableL2` or its alias) and whether the session or the file set it. */
function heartbeatKey(session: SessionConfig, ctx: RunErrorContext): string {
  const own = session.probe as Record<string, unknown> | undefined;
  const top = ctx.config.probe as Record<string, unknown> | undefined;
  const key = (p: Record<string, unknown> | undefined) =>
    ["mcpHeartbeat", "enableL2"].find((k) => p?.[k] !== undefined);
  const mine = key(own);
  return mine ? `"${mine}" in its "probe"` : `"${key(top) ?? "enableL2"}" in the "probe" of ${fileOf(ctx)}`;
}

/** A session-level refusal said in the file's terms, or null when the library's words already are. */
function sessionMessage(e: ConductorError, session: SessionConfig, ctx: RunErrorContext): string | null {
  const file = fileOf(ctx);
  const id = `session "${session.id}"`;
  if (e.code === "INVALID_OPTIONS" && e.field === "account" && ctx.config.accounts === undefined) {
    const provider = session.account === true ? session.agent : String(session.account);
    return (
      `${id} needs a ${provider} account, but ${file} has no "accounts": add "accounts": "./accounts.json" ` +
      `to it (docs/accounts.md), or drop the session's "account"`
    );
  }
  if (e.code === "INVALID_OPTIONS" && e.field === "hosts")
    return `${id} runs on host "${session.host}", but ${file} has no "hosts": add "hosts": "./hosts.json" to it (docs/remote.md)`;
  if (e.code === "OPTION_NOT_SUPPORTED" && e.field === "probeOpts.enableL2")
    return (
      `${id} in ${file} asks for the MCP heartbeat (${heartbeatKey(session, ctx)}) on a remote session: its MCP ` +
      `servers run on host "${session.host}", where this version does not probe them; drop it (l2 is then "skip")`
    );
  return null;
}

/**
 * The message `conductor run` prints for `err` (without "conductor: "), `session` the config entry
 * it is about if any. Errors it does not know are said with their own message, minus a leading
 * library call (`restartSession("a"): …`).
 */
export function runErrorMessage(err: unknown, ctx: RunErrorContext, session?: SessionConfig): string {
  if (err instanceof OptionsError) {
    const lines = err.issues.map((i) => issueLine(i, ctx, session));
    return lines.length === 1 ? (lines[0] as string) : `${fileOf(ctx)}: invalid settings\n  - ${lines.join("\n  - ")}`;
  }
  if (!(err instanceof ConductorError)) return String((err as Error)?.message ?? err);
  if (session) {
    const said = sessionMessage(err, session, ctx);
    if (said) return said;
  }
  if (err.code === "CONTROL") {
    const cause = err.cause instanceof Error ? err.cause.message : withoutLibraryCall(err.message);
    return `the control socket cannot be opened: ${cause}`;
  }
  if (err.code === "SHUTTING_DOWN") return "the run is stopping (a signal, or conductor stop): no session starts now";
  return withoutLibraryCall(err.message);
}

/** Why each session that `spawnSession` would refuse is refused, in the config's order. */
export function refusedSessions(
  conductor: Pick<ReturnType<typeof createConductor>, "checkSession">,
  sessions: readonly SessionConfig[],
  ctx: RunErrorContext,
): string[] {
  const refused: string[] = [];
  for (const s of sessions) {
    try {
      conductor.checkSession(spawnConfigOf(s));
    } catch (e) {
      const message = runErrorMessage(e, ctx, s);
      refused.push(message.includes(`"${s.id}"`) ? message : `session "${s.id}": ${message}`);
    }
  }
  return refused;
}
