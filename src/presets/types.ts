/**
 * What every agent preset receives and returns. A preset is a pure function from resolved launch
 * options to argv (without the binary), extra environment and the argv of a resumed run; the
 * launcher adds the binary, the PATH lookup and the working directory.
 */

import { ConductorError } from "../../machines/conductor-error.js";

/** An MCP server the agent should start (stdio transport), or connect to by URL (Streamable HTTP). */
export type McpServer =
  | { command: string; args?: readonly string[]; env?: Readonly<Record<string, string>> }
  | { url: string; command?: undefined };

/**
 * `bypass`: the agent runs every tool and command without asking (the seed's behaviour, and what an
 * unattended run needs). Risk: whatever the model decides to run, runs, with your user's rights;
 * use it in a container, VM or throwaway checkout. `prompt`: the agent's own approval rules apply;
 * a one-shot run then refuses (or, in a TUI, asks about) anything its rules do not allow.
 */
export type Approvals = "bypass" | "prompt";

/** `stream`: the CLI's machine-readable event stream (JSON lines); `text`: its plain text output. */
export type OutputMode = "stream" | "text";

/** Which parser reads a run's stream (src/agent-stream.ts). */
export type StreamFormat = "claude-stream-json" | "codex-exec-json" | "gemini-stream-json";

export type LaunchErrorCode =
  | "UNKNOWN_AGENT"
  | "MISSING_PROMPT"
  | "MISSING_COMMAND"
  | "OPTION_NOT_SUPPORTED"
  | "INVALID_OPTION"
  | "ROOT_BYPASS_REFUSED"
  | "BIN_NOT_FOUND"
  | "WORKDIR_NOT_FOUND";

/** A launch the presets refuse; one of the ConductorError family (src/errors.ts). */
export class LaunchError extends ConductorError {
  override readonly name = "LaunchError";
  declare readonly code: LaunchErrorCode;
  constructor(code: LaunchErrorCode, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, { code, ...options });
  }
}

/** Launch options with defaults applied, as a preset sees them. */
export interface PresetInput {
  prompt: string;
  model: string | undefined;
  profile: string | undefined;
  resultFile: string | undefined;
  mcpServers: Readonly<Record<string, McpServer>> | undefined;
  extraArgs: readonly string[];
  approvals: Approvals;
  /** The caller chose `approvals` (rather than getting the default). */
  approvalsExplicit: boolean;
  trustWorkdir: boolean;
  output: OutputMode;
  /** The text sent with a resumed run (a one-shot resume needs a prompt). */
  resumePrompt: string;
  /** The agent will run as uid 0. */
  asRoot: boolean;
  /** The environment the child inherits (for variables such as IS_SANDBOX the user set already). */
  inheritedEnv: Readonly<Record<string, string | undefined>>;
}

export interface PresetPlan {
  /** argv after the binary. */
  args: string[];
  /** argv after the binary for a run that resumes the previous conversation. */
  resumeArgs: string[];
  env: Record<string, string>;
  /** The stream the run prints, when `output` is `stream`. */
  stream: StreamFormat | null;
  /** The agent writes `resultFile` itself (codex `--output-last-message`). */
  writesResultFile: boolean;
}

export function unsupported(agent: string, option: string, why: string): LaunchError {
  return new LaunchError("OPTION_NOT_SUPPORTED", `agent "${agent}" does not take "${option}": ${why}`);
}

/**
 * Flags a preset sets from options refuse to appear in `extraArgs` too: a CLI given both either
 * fails (gemini: "Cannot use both --yolo and --approval-mode") or silently keeps one of them.
 */
export function refuseOwnedFlags(agent: string, extraArgs: readonly string[], owned: Readonly<Record<string, string>>) {
  for (const arg of extraArgs) {
    const flag = arg.startsWith("--") ? arg.split("=")[0] : arg;
    const option = flag === undefined ? undefined : owned[flag];
    if (option !== undefined) {
      throw new LaunchError(
        "INVALID_OPTION",
        `extraArgs for agent "${agent}" contains "${flag}", which the preset sets from the "${option}" option; ` +
          `remove it from extraArgs and set "${option}" instead`,
      );
    }
  }
}

/** Sorted so the same servers always give the same argv, whatever the object's key order. */
export function sortedServers(servers: PresetInput["mcpServers"]): [string, McpServer][] {
  return Object.entries(servers ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
