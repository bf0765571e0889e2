/**
 * The colour switches a run of an ink-judged CLI does not inherit (ChildSpec.inkJudged).
 *
 * claude and codex draw their own error rows in a warm ink and the model's words in the default one;
 * the conductor tells the two apart by that ink (machines/agents/row-ink.ts). Told `NO_COLOR` (any
 * non-empty value: no-color.org) claude 2.1 draws no colour at all and codex 0.171 only bold and dim,
 * and so does claude under `FORCE_COLOR=0` (chalk's supports-color reads it as "level 0"). The
 * conductor then has the words alone, and an answer that quotes one of the CLI's error lines is
 * judged a failure. Such a switch usually comes from the developer's shell, not from the session: the
 * agent draws on the conductor's pty, which no one reads but the conductor and the output log. One
 * set in the session's own `env` is the embedder's choice and is kept (the words then judge).
 */

/** Each switch that turns colour off, and whether a value of it does. */
const COLOUR_OFF: ReadonlyArray<readonly [name: string, off: (value: string) => boolean]> = [
  ["NO_COLOR", (v) => v !== ""],
  ["FORCE_COLOR", (v) => /^(0|false)$/i.test(v.trim())],
];

/**
 * The names of `inherited` (the conductor's environment) that would turn the run's colour off, unless
 * the session's `explicit` env sets them itself.
 */
export function inheritedColourOff(
  inherited: Readonly<Record<string, string | undefined>>,
  explicit: Readonly<Record<string, string>> | undefined,
): string[] {
  const names: string[] = [];
  for (const [name, off] of COLOUR_OFF) {
    const value = inherited[name];
    if (value !== undefined && explicit?.[name] === undefined && off(value)) names.push(name);
  }
  return names;
}
