/**
 * Answering each real CLI's questions with `sendKeys`, as an embedder does once the session reports
 * `inputWait`: the key the docs name (Enter on the highlighted first choice) must be the answer the
 * CLI takes, and the run must go on. Approvals of the fake API's tool call (the tool must run: its
 * side effect is checked in the work folder) and the folder-trust dialogs (the prompt must then be
 * answered). Part of `npm run test:agents` (loopback-only namespace, the fake API).
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { stripAnsi } from "../../actors/screen-tail.js";
import type { Cli } from "./agent-env.js";
import { PROMPT } from "./cases.js";
import { liveSuite } from "./live-suite.js";
import { tuiRun, until } from "./tui-run.js";

interface QuestionCase {
  name: string;
  cli: Cli;
  scenario: "tool" | "ok";
  trustCwd: boolean;
  args: string[];
  /** The question the session must report (its text). */
  question: RegExp;
  /** Made in the work folder before the run (the tool's target). */
  prepare?: (cwd: string) => void;
  /** The tool ran: its effect in the work folder. */
  ran?: (cwd: string) => boolean;
  /** The answer (default: Enter, on the highlighted first choice). */
  keys?: string[];
  /** The answer refuses: the CLI exits, and the session ends dead with this class after one run. */
  refused?: string;
}

// The fake API's tool calls (test/agents/fake-api): claude's Bash `rm -rf ./fake-api-scratch-dir`,
// codex's and gemini's `touch fake-api-tool-was-here.txt`.
const SCRATCH = "fake-api-scratch-dir";
const TOUCHED = "fake-api-tool-was-here.txt";
const CASES: QuestionCase[] = [
  {
    name: "claude-approval",
    cli: "claude",
    scenario: "tool",
    trustCwd: true,
    args: ["--permission-mode", "manual", PROMPT],
    question: /proceed/i,
    prepare: (cwd) => mkdirSync(join(cwd, SCRATCH)),
    ran: (cwd) => !existsSync(join(cwd, SCRATCH)),
  },
  {
    name: "codex-approval",
    cli: "codex",
    scenario: "tool",
    trustCwd: true,
    args: [PROMPT],
    question: /Would you like to run/,
    ran: (cwd) => existsSync(join(cwd, TOUCHED)),
  },
  {
    name: "gemini-approval",
    cli: "gemini",
    scenario: "tool",
    trustCwd: true,
    args: ["-i", PROMPT],
    question: /Allow execution/,
    ran: (cwd) => existsSync(join(cwd, TOUCHED)),
  },
  // claude 2.1.332 highlights `❯ No, exit` first: "Yes, I trust this folder" is one Down away.
  {
    name: "claude-trust",
    cli: "claude",
    scenario: "ok",
    trustCwd: false,
    args: [PROMPT],
    question: /trust/i,
    keys: ["Down", "Enter"],
  },
  // Enter alone takes that "No, exit": claude exits 1 ("didn't start because this folder isn't
  // trusted") and would ask again on every rerun: dead, trust, one run.
  {
    name: "claude-trust-refused",
    cli: "claude",
    scenario: "ok",
    trustCwd: false,
    args: [PROMPT],
    question: /trust/i,
    refused: "trust",
  },
  {
    name: "gemini-trust",
    cli: "gemini",
    scenario: "ok",
    trustCwd: false,
    args: ["-i", PROMPT],
    question: /Do you trust/i,
  },
];

describe("a question answered with sendKeys: the CLI takes the answer and goes on", () => {
  const live = liveSuite();

  test.each(CASES.map((k) => [k.name, k] as const))(
    "%s: the answer is taken, the run goes on to its answer (or, refused, ends at once)",
    async (_name, k) => {
      const { root, dirs, env, marker } = tuiRun(k.cli, k.name, live.api(), k.scenario, k.trustCwd);
      k.prepare?.(dirs.cwd);
      const c = live.conductor(root);
      const id = k.name;
      const waits: { kind: string; question: string }[] = [];
      c.on("inputWait", (e) => e.sessionId === id && waits.push({ kind: e.kind, question: e.question }));
      const printed = live.spawnTui(c, id, k.cli, k.args, { dirs, env });
      try {
        const asked = await until(
          "the question",
          () => waits.find((w) => w.kind !== "composer" && k.question.test(w.question.replace(/\s+/g, " "))),
          180_000,
        );
        expect(k.ran?.(dirs.cwd) ?? false).toBe(false);
        const before = waits.length;
        expect(c.sendKeys(id, k.keys ?? ["Enter"])).toBe(true);
        if (k.refused) {
          await until("the session's end", () => (c.getSnapshot()[0]!.state === "dead" ? true : undefined), 90_000);
          expect(c.getSnapshot()[0]).toMatchObject({ state: "dead", failureMode: k.refused, restarts: 0 });
          expect(c.getSnapshot()[0]!.lastError).toMatch(/isn.t trusted/);
          return;
        }
        await until(
          `${k.cli}'s answer (FAKE-API-OK) after the question`,
          () => (/FAKE-API-OK/.test(printed()) ? true : undefined),
          180_000,
        );
        if (k.ran) expect(k.ran(dirs.cwd)).toBe(true);
        // The same question is not asked again: the answer was taken.
        await until(
          "the composer after the answer",
          () => (waits.slice(before).some((w) => w.kind === "composer") ? true : undefined),
          90_000,
        );
        expect(waits.slice(before).filter((w) => w.question === asked.question)).toEqual([]);
        expect(c.getSnapshot()[0]!.state).toBe("input_wait");
      } catch (err) {
        // What the CLI showed, for the failure's message (its out log goes with the run's folder).
        const screen = stripAnsi(printed()).slice(-2_000);
        throw new Error(`${(err as Error).message}\nquestions: ${JSON.stringify(waits)}\nlast output:\n${screen}`);
      } finally {
        await live.close(c, marker);
      }
    },
    420_000,
  );
});
