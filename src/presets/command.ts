/**
 * The generic `command` agent: argv exactly as given, the prompt and the result file in the
 * environment (CONDUCTOR_PROMPT, CONDUCTOR_RESULT_FILE) for the program to honour. Flags belong in
 * `command`; options that only make sense for a known CLI are refused rather than dropped.
 */
import { LaunchError, unsupported } from "./types.js";

export interface CommandInput {
  command: readonly string[] | undefined;
  prompt: string | undefined;
  /** Options the caller set that a preset would turn into flags. */
  presetOnly: readonly string[];
}

export function commandPlan(o: CommandInput): { argv: string[]; env: Record<string, string> } {
  if (!o.command || o.command.length === 0 || !o.command[0]) {
    throw new LaunchError(
      "MISSING_COMMAND",
      `agent "command" needs "command", a non-empty argv array, e.g. ["node", "agents/run.mjs"]`,
    );
  }
  const [first] = o.presetOnly;
  if (first !== undefined) throw unsupported("command", first, 'put the flag in "command" instead');
  return { argv: [...o.command], env: o.prompt === undefined ? {} : { CONDUCTOR_PROMPT: o.prompt } };
}
