/**
 * The contract between the session statechart and the actors it runs.
 * Pure types and constants: no Node imports, so machines/ stays portable.
 */

/** The nine session states of the seed, by name. Frozen: it is also a public export. */
export const STATES = Object.freeze({
  INIT: "init",
  STARTING: "starting",
  HEALTHY: "healthy",
  STALLED: "stalled",
  INPUT_WAIT: "input_wait",
  FAILED: "failed",
  RESTARTING: "restarting",
  DEAD: "dead",
  COMPLETED: "completed",
} as const);

export type SessionState = (typeof STATES)[keyof typeof STATES];

export const FINAL_STATES: ReadonlySet<SessionState> = new Set<SessionState>([STATES.DEAD, STATES.COMPLETED]);

/**
 * Why a run of the child ended badly. `rate_limited` (failure class `rate_limit`) feeds the
 * account broker. `auth`, `trust`, `config` and `context` are terminal: the CLI said a restart
 * cannot help (machines/agents). `network` and `crash` back off.
 */
export type FailureMode =
  | "exit_nonzero"
  | "rate_limited"
  | "auth"
  | "trust"
  | "config"
  | "context"
  | "network"
  | "crash"
  | "input_wait_timeout"
  | "run_timeout"
  | "spawn_error"
  | "startup_timeout"
  | "stall_timeout"
  | "host_unreachable"
  | "no_account"
  | "credentials"
  | "killed"
  /** An actor of the session (its child, a probe) threw: a defect of that actor, not the CLI's. */
  | "internal_error";

/** What the pty actor needs to start one run of the agent. Plain data only (it sits in snapshots). */
export interface ChildSpec {
  /** argv[0] must already be resolved to a path; never a shell string. */
  argv: readonly string[];
  cwd?: string;
  /** Extra environment on top of the conductor's (sanitised) environment. */
  env?: Readonly<Record<string, string>>;
  cols?: number;
  rows?: number;
  /**
   * Opaque key of extra environment held outside snapshots (leased credentials): the runtime's
   * child actor resolves it, so secrets never sit in a statechart's context or the inspector.
   */
  envRef?: string;
  /**
   * Command-line patterns (regex sources) of processes the agent's CLI starts to serve every one of
   * its instances on that home (codex's `app-server` daemon): a run's end leaves them running, the
   * conductor's ends them (actors/shared-helpers.ts). From the agent's profile (`sharedHelpers`).
   */
  sharedHelpers?: readonly string[];
  /**
   * Which session of this id: a final session restarted as a new actor, or an id removed and spawned
   * again, gets a new one, so that ending one's processes (killSession's final sweep, by the env
   * cookie) spares the other's (actors/env-cookie.ts).
   */
  instance?: string;
  /**
   * argv of a run that resumes the previous one (claude `--continue`, codex `exec resume --last`,
   * gemini `--resume latest`): used instead of `argv` on a restart when the policy says `resume`.
   */
  resumeArgv?: readonly string[];
  /**
   * The launcher found no login for the CLI before the run (codex: no key, no auth.json). What the
   * CLI then says about the network is judged as the missing login (machines/agents/codex.ts).
   */
  loggedOut?: boolean;
  /**
   * A file the CLI writes its own telemetry to (gemini's local OpenTelemetry outfile): the
   * `agentTelemetry` probe reads the API errors it records while each run lasts, which a TUI
   * retrying quietly behind its spinner never shows (src/presets/gemini-telemetry.ts).
   */
  agentTelemetry?: string;
  /**
   * The conductor made `agentTelemetry` for this session, so the probe may empty it once read past
   * its bound. Absent or false: a file of the user's, only ever read (nothing of theirs is lost).
   */
  agentTelemetryOwned?: boolean;
  /**
   * The CLI's errors are told from the model's words by their ink (its profile's `ownInk`): a run
   * inherits no `NO_COLOR` and no `FORCE_COLOR=0` from the conductor, which would make it draw them
   * in the default ink (actors/colour-env.ts). Set in the session's own `env`, they are kept.
   */
  inkJudged?: boolean;
}

/**
 * What the screen actor read when it sent an event: the whole rendered screen, the window title
 * (OSC 0/2) and when (epoch ms, for wall-clock resets like "resets 3pm"). Optional: a producer that
 * has no screen sends `screenTail` only, and the machine judges by that.
 */
export interface ScreenReading {
  /** Every row of the rendered viewport, right-trimmed, trailing blank rows dropped. */
  screen?: string[];
  /**
   * The ink of each row's words, row for row with `screen` (agents/row-ink.ts), when the producer
   * renders colours: what a TUI drew in its own colours is its own, the model's words are not.
   */
  inks?: number[] | undefined;
  title?: string | null;
  at?: number;
  /**
   * Lines that scrolled past the screen since the previous reading (only when some did): gemini's
   * "Attempt 5 failed: … Max attempts reached" comes with a stack trace that scrolls it off within
   * the same burst, so no reading of the screen ever shows it.
   */
  passed?: string[];
  /**
   * The output so far ends inside a line (no line end after its last character): the screen's last
   * row may be the first part of a line still on its way, as a loaded machine's pty hands it over.
   */
  lineOpen?: boolean;
}

export interface PtyProcessInput {
  sessionId: string;
  /** Which run of the session this child is; every event it sends carries it back. */
  generation: number;
  spec: ChildSpec;
  /** Files the raw output (ANSI included) is appended to. */
  outPath?: string;
  errPath?: string;
  /** Minimum time between two OUTPUT events (coalescing window). */
  outputCoalesceMs?: number;
  /** Lines of the rendered screen carried on each OUTPUT event. */
  tailLines?: number;
}

/** Events the pty actor sends to its session. */
export type ChildEvent =
  | { type: "CHILD.SPAWNED"; generation: number; pid: number }
  | { type: "CHILD.SPAWN_ERROR"; generation: number; message: string }
  /**
   * Coalesced output activity. `lagMs`: how long before this event the last byte arrived
   * (the machine subtracts it from the stall delay, so coalescing never delays a stall verdict).
   * `screenTail`: last non-empty lines of the rendered terminal screen (ANSI already interpreted).
   */
  | ({ type: "CHILD.OUTPUT"; generation: number; bytes: number; lagMs: number; screenTail: string[] } & ScreenReading)
  /** The agent exited and every byte it wrote has been delivered to the log and the probes. */
  | ({
      type: "CHILD.EXIT";
      generation: number;
      exitCode: number | null;
      signal: string | null;
      /** ANSI-stripped recent output (a few KB), for failure classification. */
      recentOutput: string;
      /** Set by actors that know better than an exit status (e.g. a remote host that never came back). */
      failureMode?: FailureMode;
      /** Why it ended, when the actor knows (e.g. `remote_completion_token`); becomes the move's reason. */
      reason?: string;
      /** What the actor saw, when the output says nothing (a host's connection error): the run's `lastError`. */
      detail?: string;
      /** `host_unreachable` mid-run: how long the run had its host, spawn to the link's drop (ms). */
      upMs?: number;
      /**
       * A retry hint the actor knows (`Retry-After: 120`), in ms from the exit; else the session reads
       * one from `recentOutput` itself, in the session's zone ("try again at 2:21 AM").
       */
      retryAfterMs?: number;
    } & ScreenReading)
  /** The whole process tree of this child is gone (agent and every descendant). */
  | { type: "CHILD.GONE"; generation: number }
  /**
   * Input written to a remote run may not have arrived: the link died under it unnoticed, and it is
   * not typed again (that could answer a prompt twice). `length` of the input, never its text; `at`
   * epoch ms.
   */
  | { type: "CHILD.INPUT_UNSURE"; generation: number; length: number; error: string; at: number };

/**
 * Bytes for the child. `after.data` is written `delayMs` later, and writes that come meanwhile wait for
 * it: how typed input reaches a CLI that takes a fast Enter for part of a paste (codex, gemini).
 */
export interface WriteCommand {
  data: string;
  after?: { data: string; delayMs: number };
  /**
   * `data` (less a trailing Enter) is text typed in free form (a composer, a program's line): the
   * run delivers it as a terminal delivers a paste, bracketed where the program asked for that
   * (actors/bracketed-paste.ts). Never set for keys or a question's choice.
   */
  paste?: true;
}

/** Commands a session sends to its pty actor. */
export type ChildCommand =
  | ({ type: "CHILD.WRITE" } & WriteCommand)
  | { type: "CHILD.TERMINATE"; reason: string; graceMs: number }
  | { type: "CHILD.RESIZE"; cols: number; rows: number };

/**
 * An MCP server the agent uses, as the L2 heartbeat sees it: a stdio server is the agent's own child
 * (its stdin/stdout belong to the agent, so its heartbeat is "running, not stopped, in the agent's
 * tree"); a URL server answers a JSON-RPC `ping` over HTTP.
 */
export type McpHeartbeatTarget =
  | { name: string; kind: "stdio"; command: string; args: readonly string[] }
  | { name: string; kind: "http"; url: string };

/** What a session needs to run the L2 heartbeat beside each run of its child (plain data). */
export interface McpHeartbeatSpec {
  servers: readonly McpHeartbeatTarget[];
  /** One round every this long while the agent runs; the first round one interval after the spawn. */
  intervalMs: number;
  /** A URL server that has not answered within this long fails the round. */
  timeoutMs: number;
}

/** The heartbeat actor's input: the spec, and the run it watches. */
export interface McpHeartbeatInput extends McpHeartbeatSpec {
  sessionId: string;
  generation: number;
  /** The agent's pid: stdio servers are looked for in its process tree. */
  pid: number;
}

/** One heartbeat round's verdict, sent to the session (the run's generation, so a late one is ignored). */
export type McpProbeEvent = { type: "PROBE.L2"; generation: number; ok: boolean; reason: string };

/** A host's link as its runtime reports it (machines/ssh-host.machine.ts's statuses). */
export type HostLinkStatus = "connecting" | "connected" | "reconnecting" | "unreachable" | "rejected";

/** The host watch's input: the session whose host it watches while the session waits for it. */
export interface HostWatchInput {
  sessionId: string;
}

/**
 * The session's host as its link reports it while the session waits for it (a run ended
 * `host_unreachable`): now, then at each change. `since`: epoch ms the link last went up or down.
 */
export type HostStatusEvent = {
  type: "HOST.STATUS";
  host: string;
  status: HostLinkStatus;
  since: number;
  error: string | null;
};

/** The telemetry probe's input: the file, and the run it watches. */
export interface AgentTelemetryInput {
  sessionId: string;
  generation: number;
  path: string;
  /** The conductor's own file (spec `agentTelemetryOwned`): the probe may empty it. */
  owned: boolean;
}

/**
 * An API error the CLI recorded in its telemetry (its `error.message`, the HTTP status when it gave
 * one), sent to the session with the run's generation; the agent's profile judges it.
 */
export type TelemetryErrorEvent = {
  type: "PROBE.TELEMETRY";
  generation: number;
  /** The telemetry event's name (`gemini_cli.api_error`). */
  event: string;
  status: number | null;
  message: string;
  /** When it was read (epoch ms), for wall-clock resets. */
  at: number;
};

/**
 * The CLI said in its own stream that it retries a failed call by itself (claude's `api_retry`,
 * codex's "Reconnecting... 2/5"): nothing failed yet, but the run waits on the API, not on work.
 */
export type AgentRetryEvent = {
  type: "PROBE.RETRY";
  generation: number;
  /** Which retry this is (null when the CLI does not number them), and of how many when it says. */
  attempt: number | null;
  of: number | null;
  /** The wait before this retry, when the CLI says. */
  delayMs: number | null;
  /** The HTTP status that failed, when the CLI says. */
  status: number | null;
  /** What failed, in the CLI's words. */
  error: string;
  /**
   * The run's output bytes through the read that carried the notice (as `CHILD.OUTPUT` counts them):
   * output past them is the CLI at work again, which ends the announced wait.
   */
  outputBytes: number;
};
