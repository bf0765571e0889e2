/**
 * gemini-cli (checked against 0.61.0 `gemini --help` and its headless check):
 *   gemini [--model M] --approval-mode yolo|default [--skip-trust] [--output-format stream-json]
 *          [extraArgs…] -p <prompt>
 * - `-p <prompt>` as two words: gemini decides "headless" by looking for an argv element that is exactly
 *   `-p` or `--prompt`; the seed's `--prompt=<text>` ran as a TUI-less session in an untrusted folder
 *   with project settings silently off instead of exiting 55. yargs reads a value that starts with "-"
 *   as a flag ("Not enough arguments following: p"), so such a prompt is sent with one leading space.
 * - approvals: bypass → `--approval-mode yolo` (same as `--yolo`); prompt → `--approval-mode default`.
 *   One flag, not `--yolo`, because gemini refuses `--yolo` together with `--approval-mode`.
 * - trustWorkdir → `--skip-trust` and env GEMINI_CLI_TRUST_WORKSPACE=true (otherwise an untrusted
 *   folder exits 55: "Gemini CLI is not running in a trusted directory…").
 * - output stream → `--output-format stream-json` (init, message, tool_use, tool_result, error, result).
 * - resume: `--resume latest` (the most recent session of this project).
 */
import { type PresetInput, type PresetPlan, refuseOwnedFlags, unsupported } from "./types.js";

const OWNED: Readonly<Record<string, string>> = {
  "-p": "prompt",
  "--prompt": "prompt",
  "--model": "model",
  "-m": "model",
  "--yolo": "approvals",
  "-y": "approvals",
  "--approval-mode": "approvals",
  "--skip-trust": "trustWorkdir",
  "--output-format": "output",
  "-o": "output",
  "--resume": "restart",
  "-r": "restart",
};

export function geminiPreset(o: PresetInput): PresetPlan {
  if (o.mcpServers !== undefined) {
    throw unsupported("gemini", "mcpServers", 'declare them in ~/.gemini/settings.json ("mcpServers")');
  }
  refuseOwnedFlags("gemini", o.extraArgs, OWNED);
  const flags: string[] = [];
  if (o.model !== undefined) flags.push("--model", o.model);
  flags.push("--approval-mode", o.approvals === "bypass" ? "yolo" : "default");
  if (o.trustWorkdir) flags.push("--skip-trust");
  if (o.output === "stream") flags.push("--output-format", "stream-json");
  flags.push(...o.extraArgs);
  return {
    args: [...flags, "-p", promptValue(o.prompt)],
    resumeArgs: [...flags, "--resume", "latest", "-p", promptValue(o.resumePrompt)],
    env: o.trustWorkdir ? { GEMINI_CLI_TRUST_WORKSPACE: "true" } : {},
    stream: o.output === "stream" ? "gemini-stream-json" : null,
    writesResultFile: false,
  };
}

/** yargs would parse "-rf /" after `-p` as flags; a leading space keeps it the prompt's value. */
function promptValue(prompt: string): string {
  return prompt.startsWith("-") ? ` ${prompt}` : prompt;
}
