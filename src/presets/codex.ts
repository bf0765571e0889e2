/**
 * codex-cli (checked against 0.171.0 `codex exec --help` and `codex exec resume --help`):
 *   codex exec [--profile P] [--model M] [--dangerously-bypass-approvals-and-sandbox]
 *              [--skip-git-repo-check] [--json] [--output-last-message F] [-c mcp_servers.…] [extraArgs…]
 *              -- <prompt>
 * - approvals: bypass → `--dangerously-bypass-approvals-and-sandbox` (no approvals and no sandbox);
 *   prompt → no flag: `codex exec` never asks, it refuses what its configured sandbox and approval
 *   policy do not allow.
 * - trustWorkdir → `--skip-git-repo-check`. Without it, outside a git repository (and any folder its
 *   config trusts), codex 0.171 refuses only without `--dangerously-bypass-approvals-and-sandbox`:
 *   with `approvals: "prompt"` it exits 1 on "Not inside a trusted directory and
 *   --skip-git-repo-check was not specified."; with the default `approvals: "bypass"` it runs there
 *   anyway (a field review, both live).
 * - output stream → `--json` (JSON lines: thread.started, turn.started, item.*, turn.completed|failed, error).
 * - resume: `codex exec [--profile P] resume --last <same flags> -- <resume prompt>`. `exec resume`
 *   takes `--profile` only before `resume`, and rejects exec flags it lacks (`-s`, `-C`, `--add-dir`):
 *   extraArgs must be flags `exec resume` takes too (or use restart "fresh").
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
  "--profile": "profile",
  "-p": "profile",
  "--model": "model",
  "-m": "model",
  "--dangerously-bypass-approvals-and-sandbox": "approvals",
  "--skip-git-repo-check": "trustWorkdir",
  "--json": "output",
  "--output-last-message": "resultFile",
  "-o": "resultFile",
};

export function codexPreset(o: PresetInput): PresetPlan {
  refuseOwnedFlags("codex", o.extraArgs, OWNED);
  const profile = o.profile === undefined ? [] : ["--profile", o.profile];
  const flags: string[] = [];
  if (o.model !== undefined) flags.push("--model", o.model);
  if (o.approvals === "bypass") flags.push("--dangerously-bypass-approvals-and-sandbox");
  if (o.trustWorkdir) flags.push("--skip-git-repo-check");
  if (o.output === "stream") flags.push("--json");
  if (o.resultFile !== undefined) flags.push("--output-last-message", o.resultFile);
  for (const [name, s] of sortedServers(o.mcpServers)) flags.push(...mcpArgs(name, s));
  flags.push(...o.extraArgs);
  return {
    args: ["exec", ...profile, ...flags, "--", o.prompt],
    resumeArgs: ["exec", ...profile, "resume", "--last", ...flags, "--", o.resumePrompt],
    env: o.profile === undefined ? {} : { CODEX_PROFILE: o.profile },
    stream: o.output === "stream" ? "codex-exec-json" : null,
    writesResultFile: o.resultFile !== undefined,
  };
}

/** codex takes TOML values in `-c key=value`; JSON strings and string arrays are valid TOML. */
function mcpArgs(name: string, s: McpServer): string[] {
  // codex splits `-c` keys on dots, so a server name cannot be quoted: keep it a bare TOML key.
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    throw new LaunchError("INVALID_OPTION", `MCP server name "${name}" must match [A-Za-z0-9_-]+, e.g. "files"`);
  }
  const key = `mcp_servers.${name}`;
  if ("url" in s) return ["-c", `${key}.url=${JSON.stringify(s.url)}`];
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
