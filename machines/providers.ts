/**
 * The agent CLIs the conductor has presets for, which are also the broker's providers, and every
 * name a session's `agent` may take. The one list: schema, launcher, accounts file and credential
 * homes all read it from here.
 */
export const PROVIDERS = ["codex", "gemini", "claude"] as const;
export type Provider = (typeof PROVIDERS)[number];

/** A preset agent, or `command` for an argv of your own. */
export const AGENT_NAMES = [...PROVIDERS, "command"] as const;
export type AgentName = (typeof AGENT_NAMES)[number];
