/**
 * One error family: everything the library throws is a `ConductorError` with a `code`, the
 * offending `field` where there is one, and `cause` when it wraps another error. The older
 * class names stay as subclasses, exported from the package, so `instanceof` checks written
 * against them keep working: ConfigError (AccountsConfigError, HostsConfigError and OptionsError
 * extend it), SessionError, LaunchError, BrokerStoreError.
 *
 * Every code, when it is thrown and what to do: ERROR_CODES in src/error-codes.ts, printed in
 * docs/reference.md ("Error codes").
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

/**
 * A message without the library call it begins with (`restartSession("a"): …`, `createConductor({
 * control }): …`): what the CLI and control clients say, whose users never made that call.
 */
export const withoutLibraryCall = (message: string) => message.replace(/^\w+\((?:[^()]|\([^()]*\))*\): /, "");
