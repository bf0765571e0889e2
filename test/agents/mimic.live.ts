/**
 * Answers whose words look like the CLI's own error lines and questions, with each real CLI (the fake
 * API's `say` scenario, fake-api/say.ts). A field review saw such answers judged as the CLI's errors
 * (healthy TUIs restarted or ended, one-shots run 3 times) and as its menus (`conductor run`'s answers
 * typed into the composer). Now:
 * - a TUI's turns end at its composer (`inputWait` kind composer), never failed or restarted, and the
 *   run's answers type nothing there;
 * - a one-shot completes in one run.
 * claude 2.1.332 draws some of these texts, as the whole answer, in its own error row (a screen
 * identical to the real error): those are not asked for here. Part of `npm run test:agents`.
 */
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { stripAnsi } from "../../actors/screen-tail.js";
import type { RunConfig } from "../../src/config.js";
import { narrateRun } from "../../src/cli/run-narration.js";
import type { StatusView } from "../../src/cli/status-view.js";
import type { Cli } from "./agent-env.js";
import { MIMIC, mimicText } from "./fake-api/say.js";
import { liveSuite, sessionEnd } from "./live-suite.js";
import { tuiRun, until } from "./tui-run.js";

// mimicText's indices: 2 "You've hit your usage limit", 3 "Do you want to proceed?\n1. Yes\n2. No";
// each CLI's own 429 or quota words inside a normal answer (16 claude's "API Error: Request rejected
// (429)", 23 codex's "exceeded retry limit, last status: 429", 28 gemini's "You exceeded your current quota").
const TUI_TURNS: Record<Cli, number[]> = { claude: [2, 3, 16], codex: [2, 3, 23], gemini: [2, 3, 28] };
// claude -p: the 429 line embedded; codex exec: "You've hit your usage limit"; gemini -p: "You exceeded your current quota".
const ONE_SHOTS: [Cli, number][] = [
  ["claude", 16],
  ["codex", 2],
  ["gemini", 12],
];
/** The answers a run config would give these questions (`conductor run`'s). */
const ANSWERS = [
  { match: "proceed", send: "1" },
  { match: "trust", send: "1" },
  { match: "y/n", send: "y" },
];
/** How long a turn's composer wait must hold: a misjudged answer failed within 0.5 s of it. */
const HOLD_MS = 3_000;
/** Short waits before a rerun: a misjudged session fails the test at once, not after minutes. */
const RESTART = { rateLimitWaitMs: 2_000, failureBackoffInitialMs: 1_000 };

describe("answers that look like the CLI's own errors and questions", () => {
  const live = liveSuite();

  test.concurrent.each(["claude", "codex", "gemini"] as const)(
    "%s TUI: each such answer ends its turn at the composer, nothing typed there, no failure",
    async (cli: Cli) => {
      const { root, dirs, env, marker } = tuiRun(cli, "mimic", live.api(), "say");
      const c = live.conductor(root, { probeOpts: { startupTimeoutMs: 120_000 }, restart: RESTART });
      const id = `${cli}-mimic`;
      const waits: { at: number; kind: string; question: string }[] = [];
      const states: string[] = [];
      c.on(
        "inputWait",
        (e) => e.sessionId === id && waits.push({ at: Date.now(), kind: e.kind, question: e.question }),
      );
      c.on("stateChange", (e) => e.sessionId === id && states.push(`${e.to}(${e.reason})`));
      const notes: string[] = [];
      const view: StatusView = { moved: () => undefined, note: (line) => notes.push(line), close: () => undefined };
      narrateRun(c, view, { sessions: [{ id, answers: ANSWERS }] } as unknown as RunConfig);
      const printed = live.spawnTui(c, id, cli, [], { dirs, env });
      const snap = () => c.getSnapshot().find((s) => s.id === id)!;
      try {
        await until("the first composer wait", () => (waits.length > 0 ? true : undefined), 180_000);
        for (const k of TUI_TURNS[cli]) {
          const sentAt = Date.now();
          expect(c.sendInput(id, `Reply with SAY#${k}.`)).toBe(true);
          const answeredAt = await until(
            `the fake API's answer to SAY#${k}`,
            () =>
              live.api().requests.find((r) => r.at >= sentAt && r.status === 200 && r.body?.includes(`SAY#${k}.`))?.at,
            90_000,
          );
          const wait = await until(
            `a wait after SAY#${k}'s answer (states: ${states.join(" ")})`,
            () => waits.find((w) => w.at > answeredAt),
            60_000,
          );
          expect(wait.kind, `SAY#${k}: ${mimicText(k).split("\n")[0]}`).toBe("composer");
          await new Promise((r) => setTimeout(r, HOLD_MS));
          // Not a composer after a restart: the same run, at its composer, never failed.
          expect(snap().state, `SAY#${k}, states: ${states.join(" ")}`).toBe("input_wait");
          expect(
            states.filter((s) => /^(failed|restarting|dead|completed|stalled)/.test(s)),
            `SAY#${k}, states: ${states.join(" ")}`,
          ).toEqual([]);
          expect(snap().restarts).toBe(0);
        }
        expect(waits.filter((w) => w.kind !== "composer")).toEqual([]);
        // The run's answers: the composer's lines are the model's, nothing was typed.
        expect(notes.filter((n) => n.includes("→"))).toEqual([]);
      } catch (err) {
        const screen = stripAnsi(printed()).slice(-2_000);
        throw new Error(`${(err as Error).message}\nnotes: ${JSON.stringify(notes)}\nlast output:\n${screen}`);
      } finally {
        await live.close(c, marker);
      }
    },
    300_000,
  );

  test.concurrent.each(ONE_SHOTS)(
    "%s one-shot (text output), answer SAY#%i: completed in one run",
    async (cli: Cli, k: number) => {
      const { root, dirs, env, marker } = tuiRun(cli, `mimic-${k}`, live.api(), "say");
      const c = live.conductor(root, { probeOpts: { startupTimeoutMs: 120_000 }, restart: RESTART });
      const id = `${cli}-mimic-${k}`;
      const states: string[] = [];
      c.on("stateChange", (e) => e.sessionId === id && states.push(`${e.to}(${e.reason})`));
      const done = sessionEnd(c, id);
      c.spawnSession(live.preset(cli, id, { dirs, env }, { prompt: `Reply with SAY#${k}.`, output: "text" }));
      try {
        expect(await done, `states: ${states.join(" ")}`).toBe("completed");
        const s = c.getSnapshot().find((x) => x.id === id)!;
        expect(s).toMatchObject({ restarts: 0, failureMode: null });
        // The model's answer was printed: the run did not end before it.
        expect(stripAnsi(readFileSync(s.outPath as string, "utf8"))).toContain(MIMIC[k % MIMIC.length]);
        expect(states.filter((x) => /^(failed|restarting)/.test(x))).toEqual([]);
      } finally {
        await live.close(c, marker);
      }
    },
    300_000,
  );
});
