/**
 * lastError of a run killed from outside (the OOM killer, a SIGKILL) or of one whose stream said
 * nothing a rule knows: a field review with the real CLIs found JSON in it. The outputs are theirs
 * (test/fixtures/last-words: claude -p stream-json, codex exec --json, gemini -p stream-json, each
 * killed while it answered; paths scrubbed). lastError must never be a piece of JSON.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { lastMeaningfulLine } from "../machines/agents/index.js";
import { resolvePolicy } from "../machines/session.policy.js";
import { judgeRunExit } from "../machines/session.judgement.js";

const out = (name: string) =>
  readFileSync(new URL(`./fixtures/last-words/${name}.out.txt`, import.meta.url), "utf8").replace(/\n/g, "\r\n");
/** The run's screen as a 120-column pty shows the output: each line cut into rows, the last 40 rows. */
const screenOf = (text: string) =>
  text
    .split(/\r?\n/)
    .flatMap((l) => l.match(/.{1,120}/g) ?? [""])
    .slice(-40);
const ctx = (agent: string, argv: string[]) => ({
  agent,
  policy: resolvePolicy({}),
  leaseStatus: "none" as const,
  account: null,
  spec: { argv, cols: 120 },
});
const exit = (text: string, exitCode: number | null, signal: string | null, keep = text.length) => ({
  type: "CHILD.EXIT" as const,
  generation: 1,
  exitCode,
  signal,
  // The output the judgement keeps is a window of the run's last bytes: it may begin in a line.
  recentOutput: text.slice(-keep),
  screen: screenOf(text),
  at: Date.now(),
});
/** What a piece of JSON looks like: an escaped quote, a key and its value, a bracket at an end. */
const JSON_LIKE = /\\"|"\w+"\s*:|^[{[\]}]|[{[]$/;

describe("the last word of a run killed while it answered", () => {
  it("defect: claude -p stream-json SIGKILLed: not a piece of its init event (was a slice of it: lor, focus, reload-plugins…)", () => {
    const text = out("claude-killed");
    for (const keep of [text.length, 4096, 3000]) {
      const j = judgeRunExit(
        ctx("claude", ["claude", "-p", "--output-format", "stream-json", "Reply"]),
        exit(text, null, "SIGKILL", keep),
      );
      expect(j).toMatchObject({ failureMode: "exit_nonzero", lastError: "killed by SIGKILL" });
    }
  });

  it("defect: codex exec --json SIGKILLed: not its start-up WARNING about PATH aliases", () => {
    const j = judgeRunExit(
      ctx("codex", ["codex", "exec", "--json", "Reply"]),
      exit(out("codex-killed"), null, "SIGKILL"),
    );
    expect(j).toMatchObject({ failureMode: "exit_nonzero", lastError: "killed by SIGKILL" });
  });

  it("defect: gemini -p stream-json whose worker was killed: not half its answer (`word2`) nor a dumped object", () => {
    const j = judgeRunExit(
      ctx("gemini", ["gemini", "-p", "Reply", "--output-format", "stream-json"]),
      exit(out("gemini-killed"), 1, null),
    );
    expect(j.failureMode).toBe("exit_nonzero");
    expect(j.lastError ?? "").not.toMatch(/word\d|Required/);
    // Live, its window of output began after the stack trace (a field review: lastError "Required",
    // the message of its router's ZodError as node dumped it): the dump's lines alone are no last word.
    const text = out("gemini-killed");
    const dump = text.slice(text.indexOf("  issues: ["));
    const later = judgeRunExit(
      ctx("gemini", ["gemini", "-p", "Reply", "--output-format", "stream-json"]),
      exit(dump, 1, null),
    );
    expect(later.lastError ?? "").not.toMatch(/Required|Function|Array/);
    // …and, when the frames are in view, not a frame (live: `at get error [as error] (file:///…)`).
    const framed = text.slice(text.indexOf("    at get error"));
    const withFrames = judgeRunExit(
      ctx("gemini", ["gemini", "-p", "Reply", "--output-format", "stream-json"]),
      exit(framed, 1, null),
    );
    expect(withFrames.lastError ?? "").not.toMatch(/^at |Required|Function|Array/);
    // …nor, with the dumped JSON before them in view, one of its lines (live: `"complexity_reasoning"`).
    const zod = judgeRunExit(
      ctx("gemini", ["gemini", "-p", "Reply", "--output-format", "stream-json"]),
      exit(text.slice(text.indexOf("[Routing]")), 1, null),
    );
    if (zod.lastError !== null) expect(zod.lastError).not.toMatch(/complexity_reasoning|^at |Required|\[$/);
    if (j.lastError !== null) expect(j.lastError).not.toMatch(JSON_LIKE);
  });

  it("defect: a stream's error event gives its words, also when its JSON line is wrapped into screen rows that break at a '.'", () => {
    const api = JSON.stringify({
      error: { code: 418, status: "TEAPOT", message: "The model is a teapot. It will not brew coffee." },
    });
    const result = JSON.stringify({
      type: "result",
      status: "error",
      error: { type: "unknown", message: `[API Error: ${api}]` },
      stats: { total_tokens: 0, input_tokens: 0, output_tokens: 0, cached: 0, duration_ms: 0, tool_calls: 0 },
    });
    const j = judgeRunExit(
      ctx("gemini", ["gemini", "-p", "Reply", "--output-format", "stream-json"]),
      exit(`${result}\r\n`, 1, null),
    );
    expect(j.lastError).toBe("The model is a teapot. It will not brew coffee.");
    // Only the screen has it (the output window lost it): its rows are no line of their own.
    const e = { recentOutput: "", screen: screenOf(result) };
    const said = lastMeaningfulLine(e, 120);
    if (said !== null) expect(said).not.toMatch(JSON_LIKE);
  });
});
