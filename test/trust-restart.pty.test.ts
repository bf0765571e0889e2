/**
 * gemini's folder-trust dialog, answered, on a real pty with a real conductor
 * (test/fixtures/trust-restart.mjs draws it as gemini 0.61 does): the Enter redraws the same box, which
 * then stays on screen while gemini restarts itself, `restarting to apply the trust changes` under it.
 * The redrawn box was taken for the next question once it came back (a question answered and drawn
 * again after it went is the next one: a composer, a second approval), and reported a second time
 * (answers.live.ts `gemini-trust`, 2026-12-05 and 12-06): an embedder answering each `inputWait`
 * would have typed its answer into the box a second time, or into the composer after it.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, expect, it } from "vitest";
import { type Conductor, createConductor } from "../src/conductor.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/trust-restart.mjs", import.meta.url));
const open: Conductor[] = [];
const conductor = (probeOpts: Record<string, number>) => {
  const c = createConductor({
    logsDir: mkdtempSync(join(tmpdir(), "trust-restart-")),
    handleSignals: false,
    enableMesh: false,
    graceMs: 1_000,
    restart: { backoffInitialMs: 100, failureBackoffInitialMs: 100 },
    probeOpts: { stallMs: 600_000, inputQuietMs: 300, ...probeOpts },
  });
  open.push(c);
  const asked: { kind: string; question: string }[] = [];
  const moves: string[] = [];
  c.on("stateChange", (e: { from: string; to: string; reason: string }) => moves.push(`${e.to}:${e.reason}`));
  c.on("inputWait", (e: { sessionId: string; kind: string; question: string }) => {
    asked.push({ kind: e.kind, question: e.question });
    if (e.kind === "trust") c.sendKeys(e.sessionId, ["Enter"]);
  });
  const done = new Promise<void>((resolve) => c.on("completed", () => resolve()));
  return { c, asked, moves, done };
};
const TRUST = { kind: "trust", question: "Do you trust the files in this folder?" };
const COMPOSER = { kind: "composer", question: expect.stringMatching(/Type your message/) };
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.shutdown("test_end")));
});

it("a trust dialog answered and redrawn while its CLI restarts is asked once, then the composer", async () => {
  const { c, asked, moves, done } = conductor({});
  c.spawnSession({
    id: "t",
    agent: "command",
    judgeAs: "gemini",
    command: [process.execPath, FIXTURE],
    env: { SPLIT_MS: "150", RESTART_MS: "2000", EXIT_MS: "3000" },
  });
  await done;
  expect(asked, moves.join(" ")).toEqual([TRUST, COMPOSER]);
  expect(moves).not.toContain("stalled:no_progress");
}, 60_000);

it("an answer the dialog did not take: the wait on it ends at inputWaitTimeoutMs (no question asked twice)", async () => {
  const { c, asked, moves } = conductor({ inputWaitTimeoutMs: 2_000 });
  const lost = join(mkdtempSync(join(tmpdir(), "trust-lost-")), "lost");
  const dead = new Promise<{ failureMode: string | null }>((resolve) => c.on("dead", resolve));
  c.spawnSession({
    id: "t",
    agent: "command",
    judgeAs: "gemini",
    command: [process.execPath, FIXTURE],
    env: { LOSE_KEYS_ONCE: lost },
  });
  expect(await dead).toMatchObject({ failureMode: "input_wait_timeout" });
  expect(existsSync(lost)).toBe(true);
  expect(asked, moves.join(" ")).toEqual([TRUST]);
}, 60_000);
