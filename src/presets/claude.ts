/**
 * claude-code (checked against 2.1.197 `claude --help` and its root check):
 *   claude -p [--model M] <approvals> [--output-format stream-json --verbose --include-partial-messages]
 *          [--mcp-config <json>] [extraArgs…] -- <prompt>
 * - `-p` (print) is the one-shot mode; it skips the folder-trust dialog by itself, so `trustWorkdir`
 *   adds nothing here. Text mode prints nothing until the end; the stream prints an `init` event at
 *   once and, with `--include-partial-messages`, every token (`--verbose` is required by stream-json).
 * - approvals: bypass → `--dangerously-skip-permissions`; prompt → `--permission-mode default`.
 *   As root claude exits 1 ("--dangerously-skip-permissions cannot be used with root/sudo privileges")
 *   unless IS_SANDBOX=1 (the same check guards `--permission-mode bypassPermissions`).
 * - `--mcp-config` is variadic and takes a JSON string; `--` ends it before the prompt.
 * - resume: `--continue` (the most recent conversation in the working directory).
 */
import {
  LaunchError,
  type McpServer,
  type PresetInput,
  type PresetPlan,
  refuseOwnedFlags,
  sortedServers,
} from "./types.js";

const OWNED: Readonly<Record<string, string>> = {
  "-p": "prompt",
  "--print": "prompt",
  "--model": "model",
  "--output-format": "output",
  "--dangerously-skip-permissions": "approvals",
  "--permission-mode": "approvals",
  "--continue": "restart",
  "-c": "restart",
  "--resume": "restart",
  "-r": "restart",
};

export function claudePreset(o: PresetInput): PresetPlan {
  refuseOwnedFlags("claude", o.extraArgs, OWNED);
  const env: Record<string, string> = {};
  const flags = ["-p"];
  if (o.model !== undefined) flags.push("--model", o.model);
  if (o.approvals === "bypass") {
    flags.push("--dangerously-skip-permissions");
    if (o.asRoot && o.inheritedEnv.IS_SANDBOX !== "1") {
      if (!o.approvalsExplicit) throw rootRefusal();
      // The caller asked for bypass by name: claude's own escape hatch for sandboxes.
      env.IS_SANDBOX = "1";
    }
  } else {
    flags.push("--permission-mode", "default");
  }
  if (o.output === "stream") flags.push("--output-format", "stream-json", "--verbose", "--include-partial-messages");
  if (o.mcpServers !== undefined) flags.push("--mcp-config", mcpJson(o.mcpServers));
  flags.push(...o.extraArgs);
  return {
    args: [...flags, "--", o.prompt],
    resumeArgs: [...flags, "--continue", "--", o.resumePrompt],
    env,
    stream: o.output === "stream" ? "claude-stream-json" : null,
    writesResultFile: false,
  };
}

function rootRefusal(): LaunchError {
  return new LaunchError(
    "ROOT_BYPASS_REFUSED",
    'agent "claude" would run as root with approvals "bypass" (the default), and claude refuses ' +
      "--dangerously-skip-permissions as root unless IS_SANDBOX=1. Inside a container or VM, pass " +
      'approvals: "bypass" explicitly (the conductor then sets IS_SANDBOX=1) or set env IS_SANDBOX=1; ' +
      'otherwise run the conductor as a non-root user, or pass approvals: "prompt"',
  );
}

/** claude's `--mcp-config` accepts a JSON string as well as a file path. */
function mcpJson(servers: Readonly<Record<string, McpServer>>): string {
  const mcpServers: Record<string, McpServer | { type: "http"; url: string }> = {};
  for (const [name, s] of sortedServers(servers)) {
    mcpServers[name] =
      "url" in s
        ? { type: "http", url: s.url }
        : { command: s.command, args: [...(s.args ?? [])], ...(s.env ? { env: s.env } : {}) };
  }
  return JSON.stringify({ mcpServers });
}
