/**
 * The base of every error the library throws. It lives in machines/ (pure: no Node imports) so
 * that actors/ and src/ can both extend it without breaking the import direction; the public
 * family, with the codes, is documented and exported from src/errors.ts.
 */

/** Every code a ConductorError can carry (see src/errors.ts for what each means). */
export type ConductorErrorCode =
  | "INVALID_OPTIONS"
  | "INVALID_CONFIG"
  | "SHUTTING_DOWN"
  | "DUPLICATE_SESSION"
  | "UNKNOWN_SESSION"
  | "SESSION_LIVE"
  | "RESTART_PENDING"
  | "RESTART_INTERRUPTED"
  | "PROCESSES_SURVIVED"
  | "CONTROL"
  | "LOGS_DIR_IN_USE"
  | "SPAWN_REFUSED"
  | "UNKNOWN_AGENT"
  | "MISSING_PROMPT"
  | "MISSING_COMMAND"
  | "OPTION_NOT_SUPPORTED"
  | "INVALID_OPTION"
  | "ROOT_BYPASS_REFUSED"
  | "BIN_NOT_FOUND"
  | "WORKDIR_NOT_FOUND"
  | "CREDENTIALS"
  | "BROKER_STORE"
  | "RESTORE_UNSUPPORTED"
  | "CONDUCTOR_ERROR";

export interface ConductorErrorOptions {
  code?: ConductorErrorCode;
  /** The offending option or field, as a path (`probeOpts.stallMs`, `sessions[2].id`). */
  field?: string;
  /** The error this one wraps. */
  cause?: unknown;
}

export class ConductorError extends Error {
  override readonly name: string = "ConductorError";
  readonly code: ConductorErrorCode;
  readonly field: string | undefined;

  constructor(message: string, options: ConductorErrorOptions = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.code = options.code ?? "CONDUCTOR_ERROR";
    this.field = options.field;
  }
}
