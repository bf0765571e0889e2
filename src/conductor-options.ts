/**
 * Options of `createConductor` and `spawnSession`, validated up front so a typo fails at the
 * call, with the field named, instead of somewhere inside a running session.
 */
import type { InspectionEvent, Observer } from "xstate";
import { KEY_BYTES, unknownKeys } from "../machines/session.keys.js";
import type { PolicyOverrides } from "../machines/session.policy.js";
import type { Approvals, McpServer, OutputMode } from "./launcher.js";
import type { MeshRegistry } from "./mesh-registry.js";

export interface ProbeOptions {
  stallMs?: number;
  startupTimeoutMs?: number;
  inputQuietMs?: number;
  /** Stalled this long → restart. `null` keeps a stalled session stalled. */
  stallTimeoutMs?: number | null;
  inputWaitPatterns?: string[];
  /** Accepted for seed compatibility and ignored: probes here are event-driven, not polled. */
  intervalMs?: number;
  /** An unanswered question this long → `inputWaitDefaultKeys`, or failure; null waits forever. */
  inputWaitTimeoutMs?: number | null;
  /** Keys that answer a timed-out question once (`["Enter"]`); null: fail with `input_wait_timeout`. */
  inputWaitDefaultKeys?: string[] | null;
  /** The stall ladder: stalled this long → write `stallNudgeKeys` before the stall timeout restarts. */
  stallNudgeMs?: number | null;
  stallNudgeKeys?: string[];
  /** One run may last at most this long (a one-shot that never ends); null: unbounded. */
  maxRunMs?: number | null;
}

export interface RestartOptions {
  backoffInitialMs?: number;
  backoffFactor?: number;
  backoffMaxMs?: number;
  windowMs?: number | null;
  /** `resume`: a restart runs the agent's resume command when its preset has one (docs/agents.md). */
  mode?: "fresh" | "resume";
  /** Rate limited with no reset time given: wait this long (default 60 000). */
  rateLimitWaitMs?: number;
  /** A reset further away than this ends the session instead (default 86 400 000). */
  rateLimitMaxWaitMs?: number;
  /** `network`/`crash` back off from at least this (default 1 000). */
  failureBackoffInitialMs?: number;
}

export interface ConductorOptions {
  /** Where `<id>.out.log`, `<id>.err.log` and `conductor-events.jsonl` go. Required. */
  logsDir: string;
  maxRestarts?: number;
  graceMs?: number;
  probeOpts?: ProbeOptions;
  restart?: RestartOptions;
  /** Attach a mesh registry (default true); `meshRegistry` injects your own. */
  enableMesh?: boolean;
  meshRegistry?: MeshRegistry;
  /** Any XState v5 inspection observer (e.g. `@statelyai/inspect`'s `inspector.inspect`). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Trap SIGINT/SIGTERM/SIGHUP to shut down and exit (default true). Embedding apps may own signals. */
  handleSignals?: boolean;
  /** IANA zone for rate-limit resets printed without one ("resets 3pm"); default the local zone. */
  timeZone?: string;
  /** Terminal size of each session's pty. */
  cols?: number;
  rows?: number;
  /** Accounts to lease (path of an accounts file, or its content): see docs/accounts.md. */
  accounts?: string | import("./accounts-config.js").AccountsConfig | { providers: unknown };
  /** Shared broker state file (cool-downs, open circuits); default `<accounts file>.state.json`. */
  brokerStateFile?: string;
  /** Where per-session credential homes are created (0700). */
  credentialsDir?: string;
  /** Hosts for remote sessions (path of a hosts file, or its content): see docs/remote.md. */
  hosts?: string | { hosts: unknown };
  /** Private tmux server name used on every host (`tmux -L <name>`, default "conductor"). */
  tmuxSocketName?: string;
}

export interface SpawnConfig {
  id: string;
  agent: string;
  prompt?: string;
  /** argv for the generic `command` agent. */
  command?: string[];
  profile?: string;
  model?: string;
  workdir?: string;
  env?: Record<string, string>;
  resultFile?: string;
  mcpServers?: Record<string, McpServer>;
  /** Presets: "bypass" (default, as the seed: no approval prompts; see docs/agents.md for the risk) or "prompt". */
  approvals?: Approvals;
  /** Presets: the caller trusts `workdir` (codex --skip-git-repo-check, gemini --skip-trust). Default false. */
  trustWorkdir?: boolean;
  /** Presets: "stream" (default; the CLI's JSON events, result captured) or "text". */
  output?: OutputMode;
  /** Presets: flags after the preset's own, before the prompt. */
  extraArgs?: string[];
  /** Presets: the prompt sent when a run resumes the previous conversation. */
  resumePrompt?: string;
  /** Presets: binary to run instead of the agent's name (a wrapper on PATH or a path). */
  bin?: string;
  onCompleted?: (info: { sessionId: string }) => void;
  /** Judge this session's output as that agent's (e.g. a `command` wrapping claude); default its agent. */
  judgeAs?: "claude" | "codex" | "gemini" | "command";
  /** Per-session overrides of the conductor's policy. */
  maxRestarts?: number;
  probeOpts?: ProbeOptions;
  restart?: RestartOptions;
  /** Lease an account for each run: a provider name (`"codex"`), or `true` for the agent's own. */
  account?: string | true;
  /** Run on a host of the hosts file, inside a private tmux server there (docs/remote.md). */
  remote?: boolean;
  host?: string;
  /** tmux session to create (default: the id), or with `attach`, to watch. */
  sessionName?: string;
  /** With `attach`: the pane to watch (`name:0.1`, `%12`). */
  paneTarget?: string;
  /** Watch an existing tmux session instead of creating one; it is never killed. */
  attach?: boolean;
  /** Output line that means the remote agent is done (default `__TRIFLUX_DONE__`). */
  completionToken?: string;
  /** How long a session waits for its host to come back before it fails (default 60 000). */
  hostDownTimeoutMs?: number;
}

const isNonNegative = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v >= 0;

/** Throws a TypeError naming the option, what was wrong and an example. */
export function checkNumber(where: string, value: unknown, example: number, allowNull = false): void {
  if (value === undefined || (allowNull && value === null)) return;
  if (!isNonNegative(value)) {
    throw new TypeError(
      `${where} must be a non-negative number of milliseconds${allowNull ? " or null" : ""}, got ${JSON.stringify(value)} (for example ${example})`,
    );
  }
}

export function validateConductorOptions(opts: ConductorOptions): void {
  if (!opts || typeof opts !== "object")
    throw new TypeError("createConductor(options): options must be an object, e.g. { logsDir: './logs' }");
  if (typeof opts.logsDir !== "string" || opts.logsDir === "") {
    throw new TypeError(
      "logsDir is required: the directory for session logs and the event log, e.g. { logsDir: './.conductor-logs' }",
    );
  }
  checkNumber("maxRestarts", opts.maxRestarts, 3);
  checkNumber("graceMs", opts.graceMs, 10_000);
  checkPolicyParts("", opts.probeOpts, opts.restart);
}

export function checkPolicyParts(prefix: string, probe?: ProbeOptions, restart?: RestartOptions): void {
  checkNumber(`${prefix}probeOpts.stallMs`, probe?.stallMs, 30_000);
  checkNumber(`${prefix}probeOpts.startupTimeoutMs`, probe?.startupTimeoutMs, 120_000);
  checkNumber(`${prefix}probeOpts.inputQuietMs`, probe?.inputQuietMs, 1_500);
  checkNumber(`${prefix}probeOpts.stallTimeoutMs`, probe?.stallTimeoutMs, 120_000, true);
  for (const [i, p] of (probe?.inputWaitPatterns ?? []).entries()) {
    try {
      new RegExp(p, "i");
    } catch (err) {
      throw new TypeError(
        `${prefix}probeOpts.inputWaitPatterns[${i}] is not a valid regex (${(err as Error).message}), e.g. "^Continue\\\\?"`,
      );
    }
  }
  checkNumber(`${prefix}probeOpts.inputWaitTimeoutMs`, probe?.inputWaitTimeoutMs, 600_000, true);
  checkNumber(`${prefix}probeOpts.stallNudgeMs`, probe?.stallNudgeMs, 30_000, true);
  checkNumber(`${prefix}probeOpts.maxRunMs`, probe?.maxRunMs, 3_600_000, true);
  checkKeys(`${prefix}probeOpts.inputWaitDefaultKeys`, probe?.inputWaitDefaultKeys ?? undefined);
  checkKeys(`${prefix}probeOpts.stallNudgeKeys`, probe?.stallNudgeKeys);
  checkNumber(`${prefix}restart.rateLimitWaitMs`, restart?.rateLimitWaitMs, 60_000);
  checkNumber(`${prefix}restart.rateLimitMaxWaitMs`, restart?.rateLimitMaxWaitMs, 86_400_000);
  checkNumber(`${prefix}restart.failureBackoffInitialMs`, restart?.failureBackoffInitialMs, 1_000);
  if (restart?.mode !== undefined && restart.mode !== "fresh" && restart.mode !== "resume") {
    throw new TypeError(`${prefix}restart.mode must be "fresh" or "resume", got ${JSON.stringify(restart.mode)}`);
  }
  checkNumber(`${prefix}restart.backoffInitialMs`, restart?.backoffInitialMs, 500);
  checkNumber(`${prefix}restart.backoffMaxMs`, restart?.backoffMaxMs, 30_000);
  checkNumber(`${prefix}restart.windowMs`, restart?.windowMs, 60_000, true);
  if (
    restart?.backoffFactor !== undefined &&
    !(typeof restart.backoffFactor === "number" && restart.backoffFactor >= 1)
  ) {
    throw new TypeError(
      `${prefix}restart.backoffFactor must be a number >= 1, got ${JSON.stringify(restart.backoffFactor)} (for example 2)`,
    );
  }
}

/** Key names the session can write (machines/session.keys.ts). */
export function checkKeys(where: string, keys: unknown): void {
  if (keys === undefined) return;
  if (!Array.isArray(keys) || keys.some((k) => typeof k !== "string")) {
    throw new TypeError(`${where} must be an array of key names, got ${JSON.stringify(keys)} (for example ["Enter"])`);
  }
  const bad = unknownKeys(keys as string[]);
  if (bad.length > 0) {
    throw new TypeError(
      `${where}: unknown key ${JSON.stringify(bad[0])}; use a name (${Object.keys(KEY_BYTES).join(", ")}) or one character, e.g. ["2", "Enter"]`,
    );
  }
}

/** Conductor-wide settings, then the session's own, into the machine's policy. */
export function policyFor(opts: ConductorOptions, config: SpawnConfig): PolicyOverrides {
  const probe = { ...opts.probeOpts, ...config.probeOpts };
  const restart = { ...opts.restart, ...config.restart };
  return {
    maxRestarts: config.maxRestarts ?? opts.maxRestarts,
    graceMs: opts.graceMs,
    stallMs: probe.stallMs,
    startupTimeoutMs: probe.startupTimeoutMs,
    inputQuietMs: probe.inputQuietMs,
    stallTimeoutMs: probe.stallTimeoutMs,
    inputWaitPatterns: probe.inputWaitPatterns,
    backoffInitialMs: restart.backoffInitialMs,
    backoffFactor: restart.backoffFactor,
    backoffMaxMs: restart.backoffMaxMs,
    windowMs: restart.windowMs,
    inputWaitTimeoutMs: probe.inputWaitTimeoutMs,
    inputWaitDefaultKeys: probe.inputWaitDefaultKeys,
    stallNudgeMs: probe.stallNudgeMs,
    stallNudgeKeys: probe.stallNudgeKeys,
    maxRunMs: probe.maxRunMs,
    restartMode: restart.mode,
    rateLimitWaitMs: restart.rateLimitWaitMs,
    rateLimitMaxWaitMs: restart.rateLimitMaxWaitMs,
    failureBackoffInitialMs: restart.failureBackoffInitialMs,
    judgeAs: config.judgeAs,
    timeZone: opts.timeZone,
  };
}
