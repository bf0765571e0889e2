/**
 * `sendInput` into each real CLI's idle TUI the moment the session reports its composer
 * (`inputWait`, kind composer), as an embedder answers it: the turn must start (the fake API's
 * answer on screen). For codex two field facts make that work, and without either this test timed
 * out with the prompt sitting in the composer:
 * - codex draws its composer ~0.4 s after start but takes input only ~8 s later, when it sets its
 *   window title: the composer is reported from then on (the codex profile's `composerReady`);
 * - codex takes an Enter that comes less than 0.5 s after the text for part of a paste: the session
 *   types the text, then Enter after the profile's `submitDelayMs`.
 * Part of `npm run test:agents` (loopback-only namespace, the real CLIs, the fake API).
 */
import { describe, expect, test } from "vitest";
import type { Cli } from "./agent-env.js";
import { PROMPT } from "./cases.js";
import { liveSuite } from "./live-suite.js";
import { tuiRun, until } from "./tui-run.js";

describe("sendInput into an idle TUI's composer", () => {
  const live = liveSuite();

  // A long prompt too: claude 2.1.332 takes text of 63 characters or more, written with its Enter in
  // one write, for a paste, and the Enter stays in it (a soak: the prompt sat unsent in its composer,
  // the session went stalled and was restarted, its conversation lost).
  const LONG = `${PROMPT} ${"Say nothing about this padding, it only makes the prompt long. ".repeat(3)}`.trim();
  test.each([
    ["codex", PROMPT],
    ["claude", PROMPT],
    ["gemini", PROMPT],
    ["codex", LONG],
    ["claude", LONG],
    ["gemini", LONG],
  ] as const)(
    "%s: the prompt typed at the reported composer is submitted and answered (%s)",
    async (cli: Cli, prompt: string) => {
      const { root, dirs, env, marker } = tuiRun(cli, `input-${prompt.length}`, live.api());
      const c = live.conductor(root);
      const id = `${cli}-input`;
      const composer = new Promise<void>((resolve) =>
        c.on("inputWait", (e) => e.sessionId === id && e.kind === "composer" && resolve()),
      );
      const printed = live.spawnTui(c, id, cli, [], { dirs, env });
      try {
        await composer;
        expect(c.sendInput(id, prompt)).toBe(true);
        await until(
          `${cli}'s answer (FAKE-API-OK) on screen`,
          () => (/FAKE-API-OK/.test(printed()) ? true : undefined),
          90_000,
        );
        expect(c.getSnapshot()[0]!.state).not.toBe("dead");
      } finally {
        await live.close(c, marker);
      }
    },
    300_000,
  );
});
