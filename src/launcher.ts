/**
 * Turns launch options into an argv array for one agent run. No shell is ever involved: the
 * prompt is one argv element, so `$(...)`, backticks or quotes in it are inert text (the seed ran
 * one `shell: true` string with `JSON.stringify(prompt)`, which executed them).
 *
 * Each CLI's argv lives in `presets/<agent>.ts`, checked against that CLI's `--help` (versions and
 * flags there, and in docs/agents.md "Flags"). Options the launcher adds for every preset:
 * - `approvals` ("bypass" by default, as in the seed), `trustWorkdir`, `output` ("stream" by default),
 *   `extraArgs` (after the preset's flags, before the prompt), and a resume argv per CLI.
 * - Every agent also gets `resultFile` in env `CONDUCTOR_RESULT_FILE` so wrappers can honour it.
 */
import { statSync } from "node:fs";
import path from "node:path";
import { claudePreset } from "./presets/claude.js";
import { codexPreset } from "./presets/codex.js";
import { commandPlan } from "./presets/command.js";
import { geminiPreset } from "./presets/gemini.js";
import { loggedOut } from "./presets/login-state.js";
import { resolveOnPath, resolveOnPathSync } from "./resolve-on-path.js";
import {
  type Approvals,
  LaunchError,
  type McpServer,
  type OutputMode,
  type PresetInput,
  type PresetPlan,
  type StreamFormat,
  unsupported,
} from "./presets/types.js";

export { LaunchError, type LaunchErrorCode, type McpServer, type Approvals, type OutputMode } from "./presets/types.js";
export type { StreamFormat } from "./presets/types.js";
export { resolveOnPath, resolveOnPathSync } from "./resolve-on-path.js";

import { AGENT_NAMES, type AgentName, type Provider, PROVIDERS } from "../machines/providers.js";

export const PRESET_AGENTS = PROVIDERS;
export const SUPPORTED_AGENTS = AGENT_NAMES;
export type PresetAgent = Provider;
export type { AgentName };

/** Sent with a resumed one-shot run: the CLIs need a prompt, and the original one would start over. */
export const DEFAULT_RESUME_PROMPT = "Continue the task from where you stopped.";

export interface LaunchOptions {
  agent: string;
  /** Required for presets (may be empty). For `command` it is passed as env `CONDUCTOR_PROMPT`. */
  prompt?: string;
  /** argv for the `command` agent; `command[0]` is resolved like a shell would. */
  command?: readonly string[];
  /** argv of a resumed run of the `command` agent (a TUI's own resume); `[0]` resolved as `command[0]`. */
  resumeCommand?: readonly string[];
  model?: string;
  /** codex only: `--profile` and env `CODEX_PROFILE`. */
  profile?: string;
  /** Working directory of the child; relative paths are resolved against `process.cwd()`. */
  workdir?: string;
  /** Where the run's final result is written (codex writes it itself; otherwise the conductor does). */
  resultFile?: string;
  /** codex and claude only (gemini reads MCP servers from its settings.json). */
  mcpServers?: Readonly<Record<string, McpServer>>;
  /** Extra flags for a preset, placed after the preset's own flags and before the prompt. */
  extraArgs?: readonly string[];
  /** Default "bypass" (the seed's behaviour): see `Approvals` for the risk. */
  approvals?: Approvals;
  /**
   * The caller vouches for the working directory: codex `--skip-git-repo-check`, gemini `--skip-trust`
   * and GEMINI_CLI_TRUST_WORKSPACE=true (claude -p skips its trust dialog by itself). Default false.
   */
  trustWorkdir?: boolean;
  /** Default "stream": the CLI's JSON event stream, so a long run shows progress and its result is parsed. */
  output?: OutputMode;
  /** Prompt of a resumed run (default `DEFAULT_RESUME_PROMPT`). */
  resumePrompt?: string;
  /** The child runs as root (default: this process's uid is 0); claude's bypass rule depends on it. */
  asRoot?: boolean;
  /** Binary to run instead of the preset's name (a wrapper name or a path). */
  bin?: string;
  /** Extra child environment, applied over the preset's own variables. */
  env?: Readonly<Record<string, string>>;
  /** The CLI the session is judged as (a `command` wrapping codex): its login is checked too. */
  judgeAs?: string;
  /** Environment whose PATH is searched and the child inherits; defaults to `process.env`. */
  searchEnv?: Readonly<Record<string, string | undefined>>;
}

/** Plain data; assignable to `ChildSpec` (machines/session.types.ts). */
export interface LaunchSpec {
  agent: AgentName;
  /** The name that was looked up (`codex`, `./run.sh`, …). */
  bin: string;
  /** `argv[0]` is the resolved absolute path of `bin`. */
  argv: string[];
  env: Record<string, string>;
  cwd: string | undefined;
  /** argv of a run that resumes the previous conversation (a preset's, or a command's `resumeCommand`). */
  resumeArgv?: string[];
  /** The CLI has no login here (codex: src/presets/login-state.ts); absent when not known. */
  loggedOut?: boolean;
  /** What the launch decided, for the `spawn` event and the result capture (presets only). */
  preset?: {
    approvals: Approvals;
    trustWorkdir: boolean;
    output: OutputMode;
    stream: StreamFormat | null;
    /** The conductor writes `resultFile` from the parsed stream (false when the agent writes it). */
    conductorWritesResult: boolean;
  };
}

function isAgent(name: string): name is AgentName {
  return (SUPPORTED_AGENTS as readonly string[]).includes(name);
}

const PRESETS: Readonly<Record<PresetAgent, (o: PresetInput) => PresetPlan>> = {
  claude: claudePreset,
  codex: codexPreset,
  gemini: geminiPreset,
};

const PRESET_ONLY = [
  "model",
  "profile",
  "mcpServers",
  "extraArgs",
  "bin",
  "approvals",
  "trustWorkdir",
  "output",
  "resumePrompt",
] as const;

/**
 * The launch without touching the file system: argv[0] is still the bare `bin` name.
 * Pure and deterministic for given options; `buildLaunch` adds the PATH lookup.
 */
export function planLaunch(opts: LaunchOptions): LaunchSpec {
  const { agent } = opts;
  if (!isAgent(agent)) {
    throw new LaunchError(
      "UNKNOWN_AGENT",
      `unknown agent "${agent}": supported agents are ${SUPPORTED_AGENTS.map((a) => `"${a}"`).join(", ")}`,
    );
  }
  const env: Record<string, string> = {};
  if (opts.resultFile !== undefined) env.CONDUCTOR_RESULT_FILE = opts.resultFile;
  const cwd = opts.workdir === undefined ? undefined : path.resolve(opts.workdir);

  if (agent === "command") {
    const plan = commandPlan({
      command: opts.command,
      prompt: opts.prompt,
      presetOnly: PRESET_ONLY.filter((key) => opts[key] !== undefined),
    });
    Object.assign(env, plan.env, opts.env ?? {});
    const resume = opts.resumeCommand ? { resumeArgv: [...opts.resumeCommand] } : {};
    return { agent, bin: plan.argv[0] as string, argv: plan.argv, env, cwd, ...resume };
  }

  if (typeof opts.prompt !== "string") {
    throw new LaunchError("MISSING_PROMPT", `agent "${agent}" needs "prompt" (a string; "" is allowed)`);
  }
  if (opts.command !== undefined) {
    throw unsupported(agent, "command", `presets build their own argv; use agent "command" to run your own`);
  }
  if (opts.resumeCommand !== undefined) {
    throw unsupported(agent, "resumeCommand", `presets build their own resume argv; set "resumePrompt" instead`);
  }
  if (agent !== "codex" && opts.profile !== undefined) {
    throw unsupported(agent, "profile", "profiles are a codex feature; use env or a wrapper on PATH");
  }
  const input = presetInput(opts, opts.prompt);
  const plan = PRESETS[agent](input);
  Object.assign(env, plan.env, opts.env ?? {});
  const bin = opts.bin ?? agent;
  return {
    agent,
    bin,
    argv: [bin, ...plan.args],
    env,
    cwd,
    resumeArgv: [bin, ...plan.resumeArgs],
    preset: {
      approvals: input.approvals,
      trustWorkdir: input.trustWorkdir,
      output: input.output,
      stream: plan.stream,
      conductorWritesResult: opts.resultFile !== undefined && !plan.writesResultFile && plan.stream !== null,
    },
  };
}

function presetInput(opts: LaunchOptions, prompt: string): PresetInput {
  const approvals = opts.approvals ?? "bypass";
  if (approvals !== "bypass" && approvals !== "prompt") {
    throw new LaunchError("INVALID_OPTION", `approvals must be "bypass" or "prompt", got ${JSON.stringify(approvals)}`);
  }
  const output = opts.output ?? "stream";
  if (output !== "stream" && output !== "text") {
    throw new LaunchError("INVALID_OPTION", `output must be "stream" or "text", got ${JSON.stringify(output)}`);
  }
  const extraArgs = opts.extraArgs ?? [];
  if (!Array.isArray(extraArgs) || extraArgs.some((a) => typeof a !== "string")) {
    throw new LaunchError("INVALID_OPTION", `extraArgs must be an array of strings, e.g. ["--add-dir", "../lib"]`);
  }
  const inheritedEnv = { ...(opts.searchEnv ?? process.env), ...(opts.env ?? {}) };
  return {
    prompt,
    model: opts.model,
    profile: opts.profile,
    resultFile: opts.resultFile,
    mcpServers: opts.mcpServers,
    extraArgs,
    approvals,
    approvalsExplicit: opts.approvals !== undefined,
    trustWorkdir: opts.trustWorkdir === true,
    output,
    resumePrompt: opts.resumePrompt ?? DEFAULT_RESUME_PROMPT,
    asRoot: opts.asRoot ?? process.getuid?.() === 0,
    inheritedEnv,
  };
}

/** The per-session launch options of `spawnSession` beyond the seed's, copied only when set. */
export type SessionLaunchOptions = Pick<
  LaunchOptions,
  "approvals" | "trustWorkdir" | "output" | "extraArgs" | "resumePrompt" | "bin" | "judgeAs"
> & { remote?: boolean };

export function launchExtras(config: SessionLaunchOptions): Partial<LaunchOptions> {
  const out: Partial<LaunchOptions> = {};
  for (const key of ["approvals", "trustWorkdir", "output", "extraArgs", "resumePrompt", "bin", "judgeAs"] as const) {
    if (config[key] !== undefined) Object.assign(out, { [key]: config[key] });
  }
  // The remote user's uid is not known here: claude's root rule is the remote user's to meet
  // (env IS_SANDBOX=1), so it is not guessed from this process's uid.
  if (config.remote) out.asRoot = false;
  return out;
}

/** Builds the launch and resolves argv[0] on PATH, so a wrapper placed first on PATH wins. */
export async function buildLaunch(opts: LaunchOptions): Promise<LaunchSpec> {
  const plan = planLaunch(opts);
  checkWorkdir(opts.workdir, plan.cwd);
  const env = opts.searchEnv ?? process.env;
  const other = otherResumeBin(plan);
  const resumeBin = other === undefined ? undefined : await resolveOnPath(other, env);
  return withLogin(withBinary(plan, await resolveOnPath(plan.bin, env), resumeBin), opts);
}

/**
 * Same as `buildLaunch`, for `spawnSession`, which must throw at the call (seed API): a PATH
 * lookup is a handful of stat calls, not a process, so doing it synchronously is cheap.
 */
export function buildLaunchSync(opts: LaunchOptions): LaunchSpec {
  const plan = planLaunch(opts);
  checkWorkdir(opts.workdir, plan.cwd);
  const env = opts.searchEnv ?? process.env;
  const other = otherResumeBin(plan);
  const resumeBin = other === undefined ? undefined : resolveOnPathSync(other, env);
  return withLogin(withBinary(plan, resolveOnPathSync(plan.bin, env), resumeBin), opts);
}

/**
 * `top` over `base` for reading named variables, without copying `base`: a spread of `process.env`
 * enumerates it through its getters, which was a visible part of every `spawnSession` (issue 13).
 */
export function overlayEnv(
  base: Readonly<Record<string, string | undefined>>,
  top: Readonly<Record<string, string | undefined>>,
): Readonly<Record<string, string | undefined>> {
  return new Proxy(Object.create(null), {
    get: (_, key) => (typeof key !== "string" ? undefined : Object.hasOwn(top, key) ? top[key] : base[key]),
    has: (_, key) => typeof key === "string" && (Object.hasOwn(top, key) || key in base),
  });
}

/** A local run of a CLI whose login can be checked says whether it has one (the judgement reads it). */
function withLogin(plan: LaunchSpec, opts: LaunchOptions): LaunchSpec {
  const out = loggedOut(opts.judgeAs ?? plan.agent, overlayEnv(opts.searchEnv ?? process.env, plan.env));
  return out === null ? plan : { ...plan, loggedOut: out };
}

/**
 * A local run's workdir must be a directory now: else every run would fail to spawn (ENOENT from the
 * spawn, retried up to maxRestarts) and the session end `dead` far from the mistake. One stat call.
 */
function checkWorkdir(given: string | undefined, cwd: string | undefined): void {
  if (given === undefined || cwd === undefined) return;
  let dir: boolean;
  try {
    dir = statSync(cwd).isDirectory();
  } catch {
    throw new LaunchError(
      "WORKDIR_NOT_FOUND",
      `workdir "${given}" (${cwd}) does not exist; create it first or pass an existing directory`,
    );
  }
  if (!dir) {
    throw new LaunchError(
      "WORKDIR_NOT_FOUND",
      `workdir "${given}" (${cwd}) is not a directory; pass its parent or another directory`,
    );
  }
}

/** A resume argv's program when it is not the run's own (a command's `resumeCommand` may name another). */
function otherResumeBin(plan: LaunchSpec): string | undefined {
  const bin = plan.resumeArgv?.[0];
  return bin !== undefined && bin !== plan.bin ? bin : undefined;
}

/** argv[0] resolved, and the resume argv's: the same path, or `resumeBin` where it names another program. */
function withBinary(plan: LaunchSpec, resolved: string, resumeBin?: string): LaunchSpec {
  return {
    ...plan,
    argv: [resolved, ...plan.argv.slice(1)],
    ...(plan.resumeArgv ? { resumeArgv: [resumeBin ?? resolved, ...plan.resumeArgv.slice(1)] } : {}),
  };
}
