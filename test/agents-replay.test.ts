/**
 * The recordings of the real agent CLIs (test/fixtures/agents, made by `npm run test:agents:record`)
 * are well-formed, free of machine paths and keys, and replay byte-exact through a real pty; what
 * the CLI showed (its error line, a dialog's question) is on the rendered screen. No network, no CLIs.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pty from "node-pty";
import { describe, expect, test } from "vitest";
import { ScreenTail } from "../actors/screen-tail.js";
import { type Cast, outputOf, parseCast, windowTitles } from "./agents/cast.js";
import type { ExpectFile } from "./agents/record-case.js";
import { findSecrets } from "./agents/scrub.js";

const FIXTURES = fileURLToPath(new URL("./fixtures/agents/", import.meta.url));
const REPLAY = fileURLToPath(new URL("./fixtures/replay-cast.mjs", import.meta.url));

const casts = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) =>
    readdirSync(join(FIXTURES, d.name))
      .filter((f) => f.endsWith(".cast"))
      .map((f) => `${d.name}/${f.replace(/\.cast$/, "")}`),
  )
  .sort();

function load(id: string): { cast: Cast; castText: string; expected: ExpectFile; expectText: string } {
  const castText = readFileSync(join(FIXTURES, `${id}.cast`), "utf8");
  const expectText = readFileSync(join(FIXTURES, `${id}.expect.json`), "utf8");
  return { cast: parseCast(castText, id), castText, expected: JSON.parse(expectText) as ExpectFile, expectText };
}

async function render(data: string, cols: number, rows: number): Promise<string[]> {
  const screen = new ScreenTail({ cols, rows });
  await screen.write(Buffer.from(data, "utf8"));
  const lines = screen.lastLines(rows);
  screen.dispose();
  return lines;
}

/**
 * Runs the replayer in a pty; resolves with every byte it wrote and how it exited. With --hold the
 * replayer exits only after we answer, once every expected byte has arrived: no exit/data race.
 */
function replayInPty(id: string, expectedLength: number) {
  return new Promise<{ bytes: Buffer; exitCode: number; signal: number | undefined }>((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let exit: { exitCode: number; signal?: number } | undefined;
    const term = pty.spawn(
      process.execPath,
      [REPLAY, join(FIXTURES, `${id}.cast`), "--speed", "1000", "--max-gap", "0.02", "--hold"],
      {
        cols: 120,
        rows: 40,
        cwd: FIXTURES,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", TERM: "xterm-256color" },
        encoding: null,
      },
    );
    // node-pty may report exit before the last data (microsoft/node-pty#72): wait for both.
    let answered = false;
    const maybeDone = () => {
      if (exit) resolve({ bytes: Buffer.concat(chunks), ...exit, signal: exit.signal });
    };
    term.onData((d) => {
      const b = d as unknown as Buffer;
      chunks.push(b);
      length += b.length;
      if (length >= expectedLength && !answered) {
        answered = true;
        term.write("\r");
      }
    });
    term.onExit((e) => {
      exit = e;
      maybeDone();
    });
  });
}

const SIGNUM: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

describe("agent CLI recordings", () => {
  test("there are recordings for claude, codex and gemini", () => {
    for (const cli of ["claude", "codex", "gemini"])
      expect(casts.filter((c) => c.startsWith(`${cli}/`))).not.toEqual([]);
  });

  describe.each(casts)("%s", (id) => {
    test("is a well-formed asciinema v2 cast with its expect file, scrubbed and small", () => {
      const { cast, castText, expected, expectText } = load(id);
      expect(cast.header).toMatchObject({ version: 2, width: 120, height: 40 });
      expect(cast.events.some((e) => e[1] === "o")).toBe(true);
      expect(`${expected.cli}/${expected.case}`).toBe(id);
      expect(expected.cliVersion).toMatch(/^\d+\.\d+\.\d+/);
      expect(expected.argv[0]).toBe(expected.cli);
      expect(expected.durationMs).toBeGreaterThan(0);
      expect(expected.exitCode !== null || expected.signal !== null).toBe(true);
      expect(statSync(join(FIXTURES, `${id}.cast`)).size).toBeLessThan(200 * 1024);
      for (const text of [castText, expectText]) {
        expect(text).not.toMatch(/\/(work|root)\/|\/tmp\/(?!,)/);
        expect(findSecrets(text)).toEqual([]);
      }
      expect(windowTitles(outputOf(cast))).toEqual(expected.windowTitles);
    });

    // Each replay is a node process in a pty: generous under a loaded machine, never a time gate.
    test("replays byte-exact through a pty, exits as recorded, and shows what the CLI showed", {
      timeout: 240_000,
    }, async () => {
      const { cast, expected } = load(id);
      const output = outputOf(cast);
      const want = Buffer.from(output, "utf8");
      const got = await replayInPty(id, want.length);
      expect(got.bytes.equals(want)).toBe(true);
      if (expected.signal) expect(got.signal).toBe(SIGNUM[expected.signal]);
      else expect(got.exitCode).toBe(expected.exitCode);

      const screen = await render(got.bytes.toString("utf8"), cast.header.width, cast.header.height);
      expect(screen).toEqual(expected.finalScreen);
      if (expected.errorLineSource === "screen") expect(screen.map((l) => l.trim())).toContain(expected.errorLine);
      if (expected.question) {
        const upTo = cast.events.filter((e) => e[1] === "o" && e[0] <= expected.question!.atSeconds);
        const asked = await render(upTo.map((e) => e[2]).join(""), cast.header.width, cast.header.height);
        expect(asked.join("\n")).toContain(expected.question.text);
      }
    });
  });
});
