/**
 * Two tool calls in one answer (the fake API's `tool-2`): claude and codex ask for each in turn, the
 * same question over another command. An embedder answers the first with `sendInput(id, "1")`, as
 * the docs and `conductor run`'s `answers` do. The second must be reported as a question of its own,
 * and must not run before it is answered: a field review saw it never reported, and the Enter that
 * `sendInput` types 0.8 s after the digit approved it unseen (an `rm -rf` nobody was asked about).
 * Part of `npm run test:agents` (loopback-only namespace, the fake API).
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { Cli } from "./agent-env.js";
import { PROMPT } from "./cases.js";
import { liveSuite } from "./live-suite.js";
import { tuiRun, until } from "./tui-run.js";

interface TwoCalls {
  cli: Cli;
  args: string[];
  question: RegExp;
  prepare?: (cwd: string) => void;
  /** Whether call n (1, 2) ran: its effect in the work folder (codex asks for them in either order). */
  ran: (cwd: string, n: number) => boolean;
}

const numbered = (base: string, n: number, ext = "") => (n === 1 ? `${base}${ext}` : `${base}-${n}${ext}`);
const CASES: TwoCalls[] = [
  {
    cli: "claude",
    args: ["--permission-mode", "manual", PROMPT],
    question: /proceed/i,
    prepare: (cwd) => {
      for (const n of [1, 2]) mkdirSync(join(cwd, numbered("fake-api-scratch-dir", n)));
    },
    ran: (cwd, n) => !existsSync(join(cwd, numbered("fake-api-scratch-dir", n))),
  },
  {
    cli: "codex",
    args: [PROMPT],
    question: /Would you like to run/,
    ran: (cwd, n) => existsSync(join(cwd, numbered("fake-api-tool-was-here", n, ".txt"))),
  },
];

describe("two approvals in a row, the first answered with sendInput('1')", () => {
  const live = liveSuite();

  test.each(CASES.map((k) => [k.cli, k] as const))(
    "%s: the second is asked on its own and runs only once answered",
    async (_name, k) => {
      const { root, dirs, env, marker } = tuiRun(k.cli, "approvals", live.api(), "tool-2");
      k.prepare?.(dirs.cwd);
      const c = live.conductor(root);
      const id = `${k.cli}-approvals`;
      const asked: string[] = [];
      c.on("inputWait", (e) => e.sessionId === id && e.kind === "approval" && asked.push(e.question));
      const printed = live.spawnTui(c, id, k.cli, k.args, { dirs, env });
      try {
        await until("the first approval", () => (asked.length >= 1 ? true : undefined), 180_000);
        expect(k.question.test(asked[0]!)).toBe(true);
        expect(c.sendInput(id, "1")).toBe(true);
        // codex asks for its calls in either order: the first asked is either.
        const ranFirst = await until("a call run", () => [1, 2].find((n) => k.ran(dirs.cwd, n)), 60_000);
        const other = ranFirst === 1 ? 2 : 1;
        await until(
          `the second approval asked on its own (asked: ${JSON.stringify(asked)})`,
          () => (asked.length >= 2 ? true : undefined),
          60_000,
        );
        // Reported, and still waiting: the first answer's late Enter did not approve it.
        expect(k.ran(dirs.cwd, other)).toBe(false);
        expect(c.getSnapshot()[0]!.state).toBe("input_wait");
        expect(c.sendKeys(id, ["Enter"])).toBe(true);
        await until("the second call run", () => (k.ran(dirs.cwd, other) ? true : undefined), 60_000);
        await until("the answer after both", () => (/FAKE-API-OK/.test(printed()) ? true : undefined), 120_000);
        expect(asked).toHaveLength(2);
      } finally {
        await live.close(c, marker);
      }
    },
    420_000,
  );
});
