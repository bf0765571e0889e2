/**
 * Turn after turn in each real CLI's TUI, as an embedder drives one: wait for the composer
 * (`inputWait`, kind composer), send a prompt, wait for the next composer, again. Each turn's
 * answer must be on screen and a new composer wait must follow it: a caller that waits for the next
 * `inputWait` after `sendInput` must never wait for ever. A soak saw 3 of 53 fast claude turns end
 * with no new `inputWait` (the composer went and came back inside the question's settle, so the
 * session never left its first wait). Part of `npm run test:agents` (loopback only, the fake API).
 */
import { describe, expect, test } from "vitest";
import type { Cli } from "./agent-env.js";
import { liveSuite } from "./live-suite.js";
import { tuiRun, until } from "./tui-run.js";

const TURNS = Number(process.env.LIVE_TURNS ?? 6);
/** After its answer is on screen, how long a turn may take to be reported at its composer again. */
const NEXT_WAIT_MS = 30_000;

describe("turn after turn at a TUI's composer", () => {
  const live = liveSuite();

  test.each(["claude", "codex", "gemini"] as const)(
    `%s: each of ${TURNS} prompts is answered and followed by a new composer wait`,
    async (cli: Cli) => {
      const { root, dirs, env, marker } = tuiRun(cli, "turns", live.api());
      const c = live.conductor(root);
      const id = `${cli}-turns`;
      let waits = 0;
      const states: string[] = [];
      c.on("inputWait", (e) => {
        if (e.sessionId === id && e.kind === "composer") waits++;
      });
      c.on("stateChange", (e) => e.sessionId === id && states.push(e.to));
      const printed = live.spawnTui(c, id, cli, [], { dirs, env });
      const answers = () => printed().split("FAKE-API-OK").length - 1;
      try {
        await until("the first composer wait", () => (waits > 0 ? true : undefined), 120_000);
        for (let turn = 1; turn <= TURNS; turn++) {
          const waitsBefore = waits;
          const answersBefore = answers();
          expect(c.sendInput(id, `Turn ${turn}: reply with one short sentence.`)).toBe(true);
          await until(`turn ${turn}'s answer on screen`, () => (answers() > answersBefore ? true : undefined), 90_000);
          await until(
            `a composer wait after turn ${turn}'s answer (states since the first: ${states.join(" ")})`,
            () => (waits > waitsBefore ? true : undefined),
            NEXT_WAIT_MS,
          );
        }
        expect(waits).toBe(TURNS + 1);
        expect(c.getSnapshot()[0]!.state).toBe("input_wait");
      } finally {
        await live.close(c, marker);
      }
    },
    900_000,
  );
});
