/** The agent profiles by name; any other agent is judged as a plain command. */
import { claude } from "./claude.js";
import { codex } from "./codex.js";
import { command } from "./command.js";
import { gemini } from "./gemini.js";
import type { AgentProfile } from "./types.js";

export { claude, codex, command, gemini };
export * from "./first-turn.js";
export * from "./judge.js";
export { lastMeaningfulLine } from "./last-words.js";
export * from "./progress-key.js";
export * from "./questions.js";
export * from "./retry-notice.js";
export { redactSecrets } from "./redact.js";
export * from "./types.js";

export const AGENT_PROFILES: Readonly<Record<string, AgentProfile>> = Object.freeze({ claude, codex, gemini, command });

/** The profile for an agent name (`claude`, `codex`, `gemini`); `command` for anything else. */
export function agentProfile(name: string | null | undefined): AgentProfile {
  return (name && AGENT_PROFILES[name]) || command;
}
