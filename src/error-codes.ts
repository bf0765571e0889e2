/**
 * The `code` of every ConductorError the library throws: when, and what to do. docs/reference.md
 * prints this table ("Error codes", `npm run schema`); test/error-codes.test.ts checks that each code
 * here is thrown somewhere in src/ or actors/, and that the codes left out are thrown nowhere.
 */
import type { ConductorErrorCode } from "../machines/conductor-error.js";

/** Declared in ConductorErrorCode, thrown by nothing: the code of an error made without one. */
export type UnthrownErrorCode = "CONDUCTOR_ERROR";

export interface ErrorCodeDoc {
  /** The class it is thrown as (each a ConductorError, exported from the package). */
  thrownAs: string;
  when: string;
  todo: string;
}

export const ERROR_CODES = {
  INVALID_OPTIONS: {
    thrownAs: "OptionsError, ConductorError",
    when:
      "`createConductor`, `spawnSession`, `checkSession`, `sendKeys` or `startViewer` got options the schema refuses (an unknown key, a wrong type, a bound), " +
      "or a check beside it: a remote session without `host` or without a hosts file, an `account` no configured account fits, " +
      "a tmux session name tmux cannot take; also a `reason` that is no string, `on`/`off` with an event name the conductor does not emit " +
      "or a listener that is no function, `limitYoungGeneration({ semiSpaceMiB })` other than 1, 2, 4, 8, 16, " +
      "`createAccountBroker(…).lease()` without `provider`, a `startViewer` port it cannot listen on (in use)",
    todo: "fix the option named in `field` (an `OptionsError` lists every problem in `issues`, each with an example)",
  },
  INVALID_CONFIG: {
    thrownAs: "ConfigError, AccountsConfigError, HostsConfigError",
    when:
      "a run-config file (`loadRunConfig`, `parseRunConfig`), an accounts file (`createConductor({ accounts })`, `loadAccountsConfig`, " +
      "`createAccountBroker`) or a hosts file (`createConductor({ hosts })`, `loadHostsFile`) cannot be read, is not JSON, or fails its schema",
    todo: "fix the file the message names; `issues` has each problem's path and an example",
  },
  SHUTTING_DOWN: {
    thrownAs: "SessionError",
    when: "`spawnSession` or `restartSession` after `shutdown()` was called; `removeSession` once the conductor has shut down",
    todo: "create a new conductor for new sessions",
  },
  DUPLICATE_SESSION: {
    thrownAs: "SessionError",
    when: "`spawnSession` with an id this conductor has (a final session keeps its id until `removeSession`)",
    todo: "use another id, or `removeSession(id)` a final session first (`restartSession(id)` runs it again under its id)",
  },
  UNKNOWN_SESSION: {
    thrownAs: "SessionError",
    when: "`restartSession` of an id this conductor does not have (the message lists its ids)",
    todo: "check the id against `getSnapshot()`",
  },
  SESSION_LIVE: {
    thrownAs: "SessionError",
    when: "`removeSession` of a session that is not `completed` or `dead`",
    todo: "`await killSession(id)` first",
  },
  RESTART_PENDING: {
    thrownAs: "SessionError",
    when: "`restartSession` while a restart of that session is under way",
    todo: "wait for the first `restartSession` to resolve",
  },
  RESTART_INTERRUPTED: {
    thrownAs: "SessionError",
    when: "`restartSession` rejects: the session was killed (or the conductor shut down) before its next run began",
    todo: "the session is final: its state and reason are in the message and in `getSnapshot()`",
  },
  PROCESSES_SURVIVED: {
    thrownAs: "ConductorError",
    when: "`killSession` or `shutdown` rejects: processes of a session's tree outlived SIGKILL (their pids are in the message)",
    todo: "check those pids before a restart: stuck in the kernel (state `D` in `/proc/<pid>/stat`) or not yours to kill",
  },
  CONTROL: {
    thrownAs: "ConductorError",
    when: "`conductor.control` rejects: the control socket could not be opened (`createConductor({ control })`)",
    todo: "the message and `cause` say why; give another `control.socketPath` or `control.name`, or leave `control` out",
  },
  LOGS_DIR_IN_USE: {
    thrownAs: "ConductorError",
    when: "`createConductor` on a `logsDir` a running conductor uses (its pid is in the message)",
    todo: "give this conductor a logs directory of its own, or stop the other one",
  },
  SPAWN_REFUSED: {
    thrownAs: "SessionError",
    when: "`spawnSession`: the conductor's chart refused a session the facade had checked",
    todo: "a bug: please report it with the message",
  },
  UNKNOWN_AGENT: {
    thrownAs: "LaunchError",
    when: "`buildLaunch`, `buildLaunchSync` or `planLaunch` with an agent other than codex, gemini, claude, command (`spawnSession` refuses it earlier, as INVALID_OPTIONS)",
    todo: 'use one of `SUPPORTED_AGENTS`; any other program is `agent: "command"` with `command: [argv…]`',
  },
  MISSING_PROMPT: {
    thrownAs: "LaunchError",
    when: "the launcher, for a preset agent without `prompt` (`spawnSession` refuses it earlier, as INVALID_OPTIONS)",
    todo: 'pass `prompt` (`""` is allowed)',
  },
  MISSING_COMMAND: {
    thrownAs: "LaunchError",
    when: 'the launcher, for `agent: "command"` without a non-empty `command` argv (`spawnSession` refuses it earlier, as INVALID_OPTIONS)',
    todo: 'pass `command`, e.g. `["node", "agents/run.mjs"]`',
  },
  OPTION_NOT_SUPPORTED: {
    thrownAs: "LaunchError, ConductorError",
    when:
      "an option the agent does not take, from the launcher (`spawnSession` refuses most of them earlier, as INVALID_OPTIONS); " +
      "`spawnSession` of a remote session with `probeOpts.enableL2` (`mcpHeartbeat`) and `mcpServers`",
    todo: "drop the option (the message says where it goes instead)",
  },
  INVALID_OPTION: {
    thrownAs: "LaunchError",
    when:
      "`spawnSession`: `extraArgs` holds a flag the preset sets from an option (`--model` with `model`); " +
      "from the launcher, also an `approvals`, `output` or `extraArgs` value it refuses, or an MCP server name codex cannot take",
    todo: "set the option instead of the flag, or fix the value the message names",
  },
  ROOT_BYPASS_REFUSED: {
    thrownAs: "LaunchError",
    when: '`spawnSession` of claude as root with `approvals` left at its default `"bypass"` and no `IS_SANDBOX=1` (claude refuses to skip permissions as root)',
    todo: 'in a container or VM pass `approvals: "bypass"` explicitly (the conductor then sets `IS_SANDBOX=1`); else run as another user, or pass `approvals: "prompt"`',
  },
  BIN_NOT_FOUND: {
    thrownAs: "LaunchError",
    when: "`spawnSession`: the agent's binary (its name, `bin`, or `command[0]`) is not on `PATH`, or the path given is no executable file",
    todo: "install it, put a wrapper of that name on `PATH`, or give its full path",
  },
  WORKDIR_NOT_FOUND: {
    thrownAs: "LaunchError",
    when: "`spawnSession`: `workdir` does not exist or is not a directory",
    todo: "create it first, or pass an existing directory",
  },
  CREDENTIALS: {
    thrownAs: "ConductorError",
    when:
      "`createAccountBroker(…).lease()` of an env-mode account whose `${VAR}` is unset or empty in the conductor's environment. " +
      "Under `createConductor` it is not thrown: that run's account fails, and the session's `lastError` says which account and why",
    todo: "export the variable before starting the conductor",
  },
  BROKER_STORE: {
    thrownAs: "BrokerStoreError",
    when:
      "`createBrokerStore`'s `load`/`update` (and `createAccountBroker` with `stateFile`): the state file cannot be read or parsed, " +
      "or its lock was not free in time. Under `createConductor` it is not thrown: it is a `brokerError` event",
    todo: "fix or remove the file the message names; a live lock holder is named too",
  },
  RESTORE_UNSUPPORTED: {
    thrownAs: "ConductorError",
    when: "not thrown to a caller: a session's run actor started from a persisted snapshot ends that session `dead` with it as `lastError`",
    todo: "spawn the session anew: a persisted snapshot holds neither its process nor its timers",
  },
} as const satisfies Record<Exclude<ConductorErrorCode, UnthrownErrorCode>, ErrorCodeDoc>;
