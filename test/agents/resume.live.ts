/**
 * `restart.mode: "resume"` with each real CLI's preset: a one-shot run restarted mid-answer
 * (`restartSession`) must come back as the CLI's own resume of the same conversation, not a new
 * one. What the fake API receives says so: the resumed run's model call carries the first run's
 * prompt beside the resume prompt. The argv the conductor ran is checked against docs/agents.md
 * (claude `--resume <its session id>` once its stream named it, codex `exec resume <id>`, gemini
 * `--resume latest`). Part of `npm run test:agents` (loopback-only namespace, the fake API).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { Cli } from "./agent-env.js";
import { PROMPT } from "./cases.js";
import type { FakeApiRequest } from "./fake-api/server.js";
import { liveSuite, sessionEnd } from "./live-suite.js";
import { tuiRun, until } from "./tui-run.js";

const RESUME_PROMPT = "Carry on from where you stopped; say RESUMED-7Q first.";
/** The answer streams one word every 2 s for 20 s: the restart lands in its middle. */
const SCENARIO = "slow-20";

/** The session id argument the resumed argv must carry, per CLI (docs/agents.md, "resume argv"). */
const resumedBy: Record<Cli, (argv: string[]) => boolean> = {
  claude: (argv) => argv.includes("--resume") && !argv.includes("--continue"),
  codex: (argv) => argv.includes("resume") && !argv.includes("--last"),
  gemini: (argv) => argv.join(" ").includes("--resume latest"),
};

/** The session's `session.spawn` lines: which argv each run was started with, fresh or resumed. */
function spawnLines(logsDir: string, id: string): { mode?: string; argv?: string[] }[] {
  return readFileSync(join(logsDir, "conductor-events.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { event: string; session?: string; mode?: string; argv?: string[] })
    .filter((e) => e.event === "session.spawn" && e.session === id);
}

const isModelCall = (r: FakeApiRequest) =>
  r.method === "POST" && /\/v1\/messages(?!\/count_tokens)|:(?:stream)?generateContent|\/responses/.test(r.url);

describe("restart.mode resume: a restarted run goes on with the same conversation", () => {
  const live = liveSuite();

  test.each(["claude", "codex", "gemini"] as const)(
    "%s: restarted mid-answer, the resumed run sends the first prompt with the resume prompt, and completes",
    async (cli: Cli) => {
      const api = live.api();
      const { root, dirs, env, marker } = tuiRun(cli, "resume", api, SCENARIO);
      const logsDir = join(root, "logs");
      // gemini's start-up alone took 20-50 s when recorded: no start-up timeout ends a run here.
      const c = live.conductor(root, { probeOpts: { startupTimeoutMs: 120_000 } });
      const id = `${cli}-resume`;
      const base = api.baseUrl(SCENARIO);
      const calls = () => api.requests.filter((r) => isModelCall(r) && r.url.startsWith(`/${SCENARIO}/`));
      const before = calls().length;
      c.spawnSession(
        live.preset(
          cli,
          id,
          { dirs, env },
          {
            resumePrompt: RESUME_PROMPT,
            restart: { mode: "resume" },
          },
        ),
      );
      try {
        // The first run's answer has begun streaming (codex prints its message only once it is whole,
        // so the API's side says when): the CLI has its conversation, and claude's stream its id.
        await until(
          `${cli}'s first model call`,
          () => (calls().length > before && Date.now() - calls()[before]!.at > 3_000 ? true : undefined),
          180_000,
        );
        const firstCalls = calls().length - before;
        expect(c.getSnapshot().find((s) => s.id === id)?.state).not.toMatch(/completed|dead/);
        await c.restartSession(id, "resume_test");
        const done = sessionEnd(c, id);
        expect(await Promise.race([done, until("the session's end", () => undefined, 240_000)])).toBe("completed");
        const spawns = spawnLines(logsDir, id);
        expect(spawns.map((s) => s.mode)).toEqual(["fresh", "resume"]);
        const argv = spawns[1]!.argv ?? [];
        expect(argv.join(" ")).toContain(RESUME_PROMPT);
        expect(resumedBy[cli](argv), `resumed argv: ${argv.join(" ")}`).toBe(true);
        // The resumed run's model call carries the conversation: the first run's prompt and the resume prompt.
        const resumed = calls()
          .slice(before + firstCalls)
          .filter((r) => r.body?.includes(RESUME_PROMPT));
        expect(resumed.length, `model calls after the restart against ${base}`).toBeGreaterThan(0);
        expect(resumed.some((r) => r.body?.includes(PROMPT))).toBe(true);
        expect(c.getSnapshot().find((s) => s.id === id)).toMatchObject({ state: "completed", restarts: 1 });
      } finally {
        await live.close(c, marker);
      }
    },
    600_000,
  );
});

/** The CLIs' own resume of their TUI, as docs/agents.md gives it for `resumeCommand`. */
const TUI_RESUME: Record<Cli, string[]> = {
  claude: ["--continue"],
  codex: ["resume", "--last"],
  gemini: ["--resume", "latest"],
};
const CODE_WORD = "ZEBRA-41";

describe("resumeCommand: a restarted TUI goes on with its conversation", () => {
  const live = liveSuite();

  test.each(["claude", "codex", "gemini"] as const)(
    "%s: after a restart, the next turn's model call carries the turn before it",
    async (cli: Cli) => {
      const api = live.api();
      const { root, dirs, env, marker } = tuiRun(cli, "tui-resume", api);
      const logsDir = join(root, "logs");
      const c = live.conductor(root);
      const id = `${cli}-tui-resume`;
      const bin = live.bin(cli);
      let waits = 0;
      c.on("inputWait", (e) => e.sessionId === id && e.kind === "composer" && waits++);
      c.spawnSession({
        id,
        agent: "command",
        judgeAs: cli,
        command: [bin],
        resumeCommand: [bin, ...TUI_RESUME[cli]],
        restart: { mode: "resume" },
        workdir: dirs.cwd,
        env,
      });
      const turn = async (text: string) => {
        const before = api.requests.filter(isModelCall).length;
        const waitsBefore = waits;
        expect(c.sendInput(id, text)).toBe(true);
        await until(
          `the model call of "${text}"`,
          () =>
            api.requests
              .filter(isModelCall)
              .slice(before)
              .find((r) => r.body?.includes(text)),
          120_000,
        );
        await until(`the composer after "${text}"`, () => (waits > waitsBefore ? true : undefined), 120_000);
        return api.requests
          .filter(isModelCall)
          .slice(before)
          .filter((r) => r.body?.includes(text));
      };
      try {
        await until("the first composer wait", () => (waits > 0 ? true : undefined), 120_000);
        await turn(`Remember the code word ${CODE_WORD}; reply with one short sentence.`);
        const waitsBefore = waits;
        await c.restartSession(id, "resume_test");
        await until("the resumed TUI's composer", () => (waits > waitsBefore ? true : undefined), 120_000);
        const calls = await turn("Which code word did I give you? One short sentence.");
        expect(
          calls.some((r) => r.body?.includes(CODE_WORD)),
          `${cli}: the second turn's call lacks the first`,
        ).toBe(true);
        const spawns = spawnLines(logsDir, id);
        expect(spawns.map((s) => s.mode)).toEqual(["fresh", "resume"]);
        expect(spawns[1]!.argv?.slice(1)).toEqual(TUI_RESUME[cli]);
      } finally {
        await live.close(c, marker);
      }
    },
    600_000,
  );
});
