/**
 * One error family: everything the library throws is a `ConductorError` with a `code`, the
 * offending `field` where there is one, and `cause` when it wraps another error. The older
 * class names (ConfigError, LaunchError, HostsConfigError, …) stay as subclasses, so
 * `instanceof` checks written against them keep working.
 *
 * | code | thrown when |
 * |---|---|
 * | INVALID_OPTIONS | `createConductor` / `spawnSession` options fail the schema (`OptionsError`) |
 * | INVALID_CONFIG | a run-config, accounts or hosts file fails the schema (`ConfigError` and subclasses) |
 * | SHUTTING_DOWN | `spawnSession` after `shutdown()` |
 * | DUPLICATE_SESSION | `spawnSession` with an id already in use |
 * | UNKNOWN_SESSION | a method named a session this conductor does not have |
 * | SESSION_LIVE | `removeSession` of a session that is not final yet |
 * | RESTART_PENDING | `restartSession` while a restart of that session is under way |
 * | RESTART_INTERRUPTED | `restartSession`: the session was killed (or shut down) before its next run began |
 * | PROCESSES_SURVIVED | `killSession` / `shutdown`: processes of a tree outlived SIGKILL (named in the message) |
 * | CONTROL | the control socket could not be opened (`control: true`) |
 * | LOGS_DIR_IN_USE | `createConductor` on a `logsDir` a live conductor uses (src/survivors.ts) |
 * | SPAWN_REFUSED | the conductor refused a session it validated (a bug: please report it) |
 * | UNKNOWN_AGENT … BIN_NOT_FOUND, WORKDIR_NOT_FOUND | building the agent's argv (`LaunchError`) |
 * | CREDENTIALS, BROKER_STORE, HOST_KEY, HOST_UNAVAILABLE, TMUX_*, QUOTE | runtime parts |
 * | RESTORE_UNSUPPORTED | a session's run actor restored from a persisted snapshot (its `lastError`: the session ends `dead`) |
 */
import { ConductorError, type ConductorErrorCode, type ConductorErrorOptions } from "../machines/conductor-error.js";
import type { Issue } from "./schema/issues.js";

export { ConductorError, type ConductorErrorCode, type ConductorErrorOptions };

export type ConfigIssue = Issue;

/** A config file (or, as `OptionsError`, an options object) failed its schema: every issue, with an example. */
export class ConfigError extends ConductorError {
  override readonly name: string = "ConfigError";
  constructor(
    readonly where: string,
    readonly issues: readonly ConfigIssue[],
    what = "config",
    options: Omit<ConductorErrorOptions, "field"> = {},
  ) {
    super(
      `${where}: invalid ${what}\n${issues
        .map(
          (i) =>
            `  - ${i.subject ? `${i.subject}, ` : ""}${i.path || "(top level)"}: ${i.problem}${i.example ? `${/[.?!]$/.test(i.problem) ? "" : "."} Example: ${i.example}` : ""}`,
        )
        .join("\n")}`,
      { code: options.code ?? "INVALID_CONFIG", field: issues[0]?.path || undefined, cause: options.cause },
    );
  }
}

/** `createConductor(options)` or `spawnSession(config)` got options its schema refuses. */
export class OptionsError extends ConfigError {
  override readonly name: string = "OptionsError";
  constructor(where: string, issues: readonly ConfigIssue[]) {
    super(where, issues, "options", { code: "INVALID_OPTIONS" });
  }
}

/** A call the conductor's current state does not allow (shutting down, duplicate or unknown id). */
export class SessionError extends ConductorError {
  override readonly name: string = "SessionError";
}

/**
 * A reason is text for the log and the events (`stateChange.reason` is a string): anything else is
 * refused, not written as `42` or `[object Object]`, nor thrown on as a Symbol (a field review).
 */
export function withReason<T>(call: string, reason: unknown, run: () => Promise<T>): Promise<T> {
  if (reason === undefined || typeof reason === "string") return run();
  const got = typeof reason === "object" ? (reason === null ? "null" : "an object") : typeof reason;
  return Promise.reject(
    new ConductorError(`${call}(…, reason): reason must be a string, e.g. "user_request"; got ${got}`, {
      code: "INVALID_OPTIONS",
      field: "reason",
    }),
  );
}
