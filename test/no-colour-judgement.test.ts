/**
 * A TUI told NO_COLOR=1 draws its errors in the default ink, like the model's words: claude 2.1.332's
 * `⎿ Invalid API key` and codex 0.171's `■ unexpected status 401 Unauthorized` as recorded
 * (test/fixtures/agents/<cli>/tui-auth-401-no-color.cast), put through the real headless terminal.
 * Read by the ink alone they were no error, and the session sat at the composer for ever; the words
 * judge in a run that shows no colour. A plain reading before the TUI's first escape is no colour:
 * live, codex's refused key sat at its composer once such a reading had counted as one.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { inksDecide, PLAIN_INK, showsColour } from "../machines/agents/row-ink.js";
import type { ChildSpec } from "../machines/session.types.js";
import { outputOf, readCast } from "./agents/cast.js";
import { screenReading } from "./helpers/screen-reading.js";
import { startSession } from "./helpers/session-harness.js";

/**
 * The output a cast recorded, as one string: up to 0.5 s past the first write holding `until` when
 * given (a TUI stopped by the recorder leaves its screen as it exits).
 */
function castOutput(cli: string, name: string, until?: string): string {
  const cast = readCast(fileURLToPath(new URL(`./fixtures/agents/${cli}/${name}.cast`, import.meta.url)));
  if (until === undefined) return outputOf(cast);
  const at = cast.events.find(([, kind, data]) => kind === "o" && data.includes(until))?.[0];
  if (at === undefined) throw new Error(`${cli}/${name}: no write holds ${until}`);
  return outputOf({ ...cast, events: cast.events.filter(([t]) => t <= at + 0.5) });
}

/** The row each CLI draws its refused key in, as recorded. */
const REFUSED = { claude: "Invalid", codex: "401 Unauthorized" } as const;

describe("a TUI that draws no colour is judged by its words", () => {
  it("plain text decides (a one-shot's), an uncoloured terminal screen does not", async () => {
    const plain = await screenReading("API Error: Request rejected (429)\r\n");
    expect([plain.inks?.[0], inksDecide(plain.inks), showsColour(plain.inks)]).toEqual([PLAIN_INK, true, false]);
    const drawn = await screenReading(castOutput("codex", "tui-auth-401-no-color", REFUSED.codex));
    expect([inksDecide(drawn.inks), showsColour(drawn.inks)]).toEqual([false, false]);
  });

  for (const cli of ["claude", "codex"] as const) {
    it(`${cli}'s refused key without colour ends the run (auth), after a plain reading too`, async () => {
      const h = startSession({}, { agent: cli, spec: { argv: [cli] } as ChildSpec });
      h.spawnedEv();
      // What a TUI may print before its first escape: a plain reading, no colour of the run's.
      // Two: the first takes the session from starting to healthy.
      const early = await screenReading("Starting\r\n");
      h.actor.send({ type: "CHILD.OUTPUT", generation: h.gen(), bytes: 10, lagMs: 0, ...early });
      const more = await screenReading("Starting, still\r\n");
      h.actor.send({ type: "CHILD.OUTPUT", generation: h.gen(), bytes: 20, lagMs: 0, ...more });
      const r = await screenReading(castOutput(cli, "tui-auth-401-no-color", REFUSED[cli]));
      h.actor.send({ type: "CHILD.OUTPUT", generation: h.gen(), bytes: 5_000, lagMs: 0, ...r });
      expect(h.moves.some((m) => m.endsWith("->failed"))).toBe(true);
      expect(h.ctx().failureMode).toBe("auth");
    });
  }
});
