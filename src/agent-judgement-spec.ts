/**
 * What a session's spec takes from the profile of the CLI it is judged as (machines/agents): which of
 * its processes are the CLI's shared helpers, whether its errors are told by their ink, and which CLI
 * a `command` runs when its program is one of them.
 */
import { basename } from "node:path";
import { agentProfile } from "../machines/agents/index.js";
import type { ChildSpec } from "../machines/session.types.js";
import type { SpawnConfig } from "./conductor-options.js";

/** The spec's fields from the profile of `judgedAs` (plain data: regex sources, a flag). */
export function profileSpec(judgedAs: string): Pick<ChildSpec, "sharedHelpers" | "inkJudged"> {
  const profile = agentProfile(judgedAs);
  const helpers = profile.sharedHelpers;
  return {
    ...(helpers?.length ? { sharedHelpers: helpers.map((re) => re.source) } : {}),
    // Its run then inherits no colour switch (actors/colour-env.ts).
    ...(profile.ownInk ? { inkJudged: true } : {}),
  };
}

/** The CLIs a `command` is judged as when its program is one of them (by its file name). */
const KNOWN_CLIS = new Set(["claude", "codex", "gemini"]);

/**
 * A `command` running claude, codex or gemini itself is judged as that CLI unless `judgeAs` says
 * otherwise (`"command"` keeps it plain). A field review: `["claude", "-p", …]` without `judgeAs` was
 * judged as a plain command, so its silent one-shot run was killed at the 120 s start-up timeout and
 * the whole task ran again.
 */
export function judgedByProgram(config: SpawnConfig): SpawnConfig {
  if (config.agent !== "command" || config.judgeAs !== undefined || !config.command?.[0]) return config;
  const program = basename(config.command[0]);
  return KNOWN_CLIS.has(program) ? { ...config, judgeAs: program as SpawnConfig["judgeAs"] } : config;
}
