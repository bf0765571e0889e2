/**
 * A TUI given its first turn's prompt in its argv (gemini `-i <prompt>`): its ready composer is no wait
 * until that turn has begun. gemini 0.61 draws its ready screen (`◇  Ready` title, composer) ~1.2 s
 * before it starts the prompt (recorded tui-toolfail-quota: Ready at 4.56 s, the prompt's echo and
 * `✦  Working…` at 5.79 s); a field probe saw that reported as an `inputWait`.
 */
import { isBusy } from "./progress-key.js";
import type { AgentProfile } from "./types.js";

/** The prompt `argv` (argv[0] first) gives the TUI to run as its first turn, else null. */
export function firstTurnPrompt(profile: AgentProfile, argv: readonly string[] | undefined): string | null {
  return profile.firstTurnPrompt === undefined || argv === undefined ? null : profile.firstTurnPrompt(argv.slice(1));
}

/**
 * This reading shows the first turn begun: the CLI at work (its busy line, its `Working` title), or the
 * prompt echoed in its transcript (`> <prompt>`: a turn that needs no model, a slash command). False
 * at once for a run given no such prompt (issue 13: nothing more per output).
 */
export function firstTurnSeen(
  profile: AgentProfile,
  argv: readonly string[] | undefined,
  screen: readonly string[],
  title: string | null,
): boolean {
  const prompt = firstTurnPrompt(profile, argv);
  if (prompt === null) return false;
  if (isBusy(profile, screen, title)) return true;
  const head = prompt.replace(/\s+/g, " ").trim().slice(0, 24);
  return head !== "" && screen.some((row) => /^\s*>\s/.test(row) && row.replace(/\s+/g, " ").includes(head));
}
