/**
 * Turns launch options into an argv array for one agent run. No shell is ever involved: the
 * prompt is one argv element, so `$(...)`, backticks or quotes in it are inert text (the seed ran
 * one `shell: true` string with `JSON.stringify(prompt)`, which executed them).
 *
 * Assumptions about the real CLIs (non-interactive forms, as documented by each project):
 * - codex:  `codex exec [--profile P] [--model M] [--output-last-message FILE] [-c mcp_servers…] -- <prompt>`
 * - claude: `claude -p [--model M] [--mcp-config <json>] -- <prompt>`   (-p = --print, headless)
 * - gemini: `gemini [--model M] --prompt=<prompt>`                     (headless with -p/--prompt)
 * `--` (clap/commander) and `--prompt=` (yargs) keep a prompt that starts with `-` from being
 * read as a flag. Only codex has a result-file flag; every agent also gets the path in env
 * `CONDUCTOR_RESULT_FILE` so wrappers can honour it.
 */
import { accessSync, constants, statSync } from "node:fs";
import { access, stat } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";

export const PRESET_AGENTS = ["codex", "gemini", "claude"] as const;
export const SUPPORTED_AGENTS = [...PRESET_AGENTS, "command"] as const;
export type PresetAgent = (typeof PRESET_AGENTS)[number];
export type AgentName = (typeof SUPPORTED_AGENTS)[number];

export type LaunchErrorCode =
  | "UNKNOWN_AGENT"
  | "MISSING_PROMPT"
  | "MISSING_COMMAND"
  | "OPTION_NOT_SUPPORTED"
  | "INVALID_OPTION"
  | "BIN_NOT_FOUND";

export class LaunchError extends Error {
  override readonly name = "LaunchError";
  constructor(
    readonly code: LaunchErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** An MCP server the agent should start (stdio transport). */
export interface McpServer {
  command: string;
  args?: readonly string[];
  env?: Readonly<Record<string, string>>;
}

export interface LaunchOptions {
  agent: string;
  /** Required for presets (may be empty). For `command` it is passed as env `CONDUCTOR_PROMPT`. */
  prompt?: string;
  /** argv for the `command` agent; `command[0]` is resolved like a shell would. */
  command?: readonly string[];
  model?: string;
  /** codex only: `--profile` and env `CODEX_PROFILE`. */
  profile?: string;
  /** Working directory of the child; relative paths are resolved against `process.cwd()`. */
  workdir?: string;
  resultFile?: string;
  /** codex and claude only (gemini reads MCP servers from its settings.json). */
  mcpServers?: Readonly<Record<string, McpServer>>;
  /** Extra flags for a preset, placed before the prompt. */
  extraArgs?: readonly string[];
  /** Binary to run instead of the preset's name (a wrapper name or a path). */
  bin?: string;
  /** Extra child environment, applied over the preset's own variables. */
  env?: Readonly<Record<string, string>>;
  /** Environment whose PATH is searched; defaults to `process.env`. */
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
}

function isAgent(name: string): name is AgentName {
  return (SUPPORTED_AGENTS as readonly string[]).includes(name);
}

function unsupported(agent: string, option: string, why: string): LaunchError {
  return new LaunchError("OPTION_NOT_SUPPORTED", `agent "${agent}" does not take "${option}": ${why}`);
}

/**
 * The launch without touching the file system: argv[0] is still the bare `bin` name.
 * Pure and deterministic; `buildLaunch` adds the PATH lookup.
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
  let argv: string[];

  if (agent === "command") {
    if (!opts.command || opts.command.length === 0 || !opts.command[0]) {
      throw new LaunchError(
        "MISSING_COMMAND",
        `agent "command" needs "command", a non-empty argv array, e.g. ["node", "agents/run.mjs"]`,
      );
    }
    for (const key of ["model", "profile", "mcpServers", "extraArgs", "bin"] as const) {
      if (opts[key] !== undefined) throw unsupported(agent, key, 'put the flag in "command" instead');
    }
    if (opts.prompt !== undefined) env.CONDUCTOR_PROMPT = opts.prompt;
    argv = [...opts.command];
  } else {
    if (typeof opts.prompt !== "string") {
      throw new LaunchError("MISSING_PROMPT", `agent "${agent}" needs "prompt" (a string; "" is allowed)`);
    }
    argv = [opts.bin ?? agent, ...presetArgs(agent, opts)];
    if (agent === "codex" && opts.profile !== undefined) env.CODEX_PROFILE = opts.profile;
  }

  Object.assign(env, opts.env ?? {});
  const cwd = opts.workdir === undefined ? undefined : path.resolve(opts.workdir);
  return { agent, bin: argv[0] as string, argv, env, cwd };
}

function presetArgs(agent: PresetAgent, opts: LaunchOptions): string[] {
  const prompt = opts.prompt as string;
  const extra = opts.extraArgs ?? [];
  const model = opts.model === undefined ? [] : ["--model", opts.model];
  if (agent !== "codex" && opts.profile !== undefined) {
    throw unsupported(agent, "profile", "profiles are a codex feature; use env or a wrapper on PATH");
  }
  switch (agent) {
    case "codex": {
      const args = ["exec"];
      if (opts.profile !== undefined) args.push("--profile", opts.profile);
      args.push(...model);
      if (opts.resultFile !== undefined) args.push("--output-last-message", opts.resultFile);
      for (const [name, s] of sortedEntries(opts.mcpServers)) args.push(...codexMcpArgs(name, s));
      return [...args, ...extra, "--", prompt];
    }
    case "claude": {
      const args = ["-p", ...model];
      if (opts.mcpServers !== undefined) args.push("--mcp-config", claudeMcpJson(opts.mcpServers));
      return [...args, ...extra, "--", prompt];
    }
    case "gemini": {
      if (opts.mcpServers !== undefined) {
        throw unsupported(agent, "mcpServers", 'declare them in ~/.gemini/settings.json ("mcpServers")');
      }
      return [...model, ...extra, `--prompt=${prompt}`];
    }
  }
}

/** Sorted so the same servers always give the same argv, whatever the object's key order. */
function sortedEntries(servers: LaunchOptions["mcpServers"]): [string, McpServer][] {
  return Object.entries(servers ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** codex takes TOML values in `-c key=value`; JSON strings and string arrays are valid TOML. */
function codexMcpArgs(name: string, s: McpServer): string[] {
  // codex splits `-c` keys on dots, so a server name cannot be quoted: keep it a bare TOML key.
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    throw new LaunchError("INVALID_OPTION", `MCP server name "${name}" must match [A-Za-z0-9_-]+, e.g. "files"`);
  }
  const key = `mcp_servers.${name}`;
  const out = ["-c", `${key}.command=${JSON.stringify(s.command)}`];
  if (s.args) out.push("-c", `${key}.args=${JSON.stringify(s.args)}`);
  if (s.env) {
    const pairs = Object.keys(s.env)
      .sort()
      .map((k) => `${JSON.stringify(k)} = ${JSON.stringify(s.env?.[k])}`);
    out.push("-c", `${key}.env={ ${pairs.join(", ")} }`);
  }
  return out;
}

/** claude's `--mcp-config` accepts a JSON string as well as a file path. */
function claudeMcpJson(servers: Readonly<Record<string, McpServer>>): string {
  const mcpServers: Record<string, McpServer> = {};
  for (const [name, s] of sortedEntries(servers)) {
    mcpServers[name] = { command: s.command, args: [...(s.args ?? [])], ...(s.env ? { env: s.env } : {}) };
  }
  return JSON.stringify({ mcpServers });
}

/** Builds the launch and resolves argv[0] on PATH, so a wrapper placed first on PATH wins. */
export async function buildLaunch(opts: LaunchOptions): Promise<LaunchSpec> {
  const plan = planLaunch(opts);
  const resolved = await resolveOnPath(plan.bin, opts.searchEnv ?? process.env);
  return { ...plan, argv: [resolved, ...plan.argv.slice(1)] };
}

/**
 * Same as `buildLaunch`, for `spawnSession`, which must throw at the call (seed API): a PATH
 * lookup is a handful of stat calls, not a process, so doing it synchronously is cheap.
 */
export function buildLaunchSync(opts: LaunchOptions): LaunchSpec {
  const plan = planLaunch(opts);
  const resolved = resolveOnPathSync(plan.bin, opts.searchEnv ?? process.env);
  return { ...plan, argv: [resolved, ...plan.argv.slice(1)] };
}

/** What a POSIX shell falls back to when PATH is unset. */
const DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Where a shell would look for `name`: a name containing `/` is used as is (relative to `cwd`),
 * otherwise each PATH entry in order. Empty and relative PATH entries (a shell reads "" as ".")
 * are skipped on purpose: running whatever sits in the current directory is a classic hijack.
 */
function candidates(name: string, env: Env, cwd: string): { files: string[]; notFound: () => LaunchError } {
  if (name.includes("/")) {
    const full = path.resolve(cwd, name);
    return {
      files: [full],
      notFound: () =>
        new LaunchError(
          "BIN_NOT_FOUND",
          `"${name}" (${full}) does not exist or is not an executable file; check the path and run chmod +x on it`,
        ),
    };
  }
  const dirs = (env.PATH ?? DEFAULT_PATH).split(path.delimiter).filter((d) => d !== "" && path.isAbsolute(d));
  return {
    files: dirs.map((dir) => path.join(dir, name)),
    notFound: () =>
      new LaunchError(
        "BIN_NOT_FOUND",
        `"${name}" was not found on PATH (${shortPath(dirs)}); install it, put a wrapper named "${name}" ` +
          `in a directory on PATH, or give its full path`,
      ),
  };
}

/** Resolves a command name like a shell would; only existing, executable regular files count. */
export async function resolveOnPath(
  name: string,
  env: Env = process.env,
  cwd: string = process.cwd(),
): Promise<string> {
  const { files, notFound } = candidates(name, env, cwd);
  for (const file of files) if (await isExecutableFile(file)) return file;
  throw notFound();
}

export function resolveOnPathSync(name: string, env: Env = process.env, cwd: string = process.cwd()): string {
  const { files, notFound } = candidates(name, env, cwd);
  for (const file of files) {
    try {
      if (statSync(file).isFile()) {
        accessSync(file, constants.X_OK);
        return file;
      }
    } catch {
      // not here: next PATH entry
    }
  }
  throw notFound();
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    if (!(await stat(file)).isFile()) return false;
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** At most 4 directories, home shown as ~, so the error stays one readable line. */
function shortPath(dirs: readonly string[]): string {
  if (dirs.length === 0) return "PATH is empty";
  const home = homedir();
  const shown = dirs.slice(0, 4).map((d) => (home && d.startsWith(`${home}/`) ? `~${d.slice(home.length)}` : d));
  const more = dirs.length > 4 ? `, … ${dirs.length - 4} more` : "";
  return `searched ${shown.join(":")}${more}`;
}
