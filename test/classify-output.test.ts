import { describe, expect, it } from "vitest";
import {
  DEFAULT_INPUT_WAIT_PATTERNS,
  classifyFailure,
  compileInputWaitPatterns,
  matchInputWait,
} from "../machines/classify-output.js";

describe("classifyFailure", () => {
  // Regression for the seed defect: a bare 429 anywhere counted as a rate limit.
  it.each([
    "TypeError: x is undefined\n    at foo (/app/src/foo.js:429:12)",
    "    at main (file:///opt/agent/src/index.js:429:5)",
    "listening on http://localhost:4290",
    "connecting to localhost:429",
    "proxy at 10.0.0.1:429 refused the connection",
    "job id 429 finished with errors",
    "processed 4291 records, 429 skipped",
    "commit 429af31 broke the build",
    "Error: tests failed: 429 of 1000",
    "response time 429ms, exit 1",
    "status 4290",
    "Error: ENOENT: no such file or directory, open '/tmp/429.json'",
  ])("does not flag a bare 429: %s", (text) => {
    expect(classifyFailure(text)).toBeNull();
  });

  it.each([
    ["HTTP/1.1 429", "HTTP/1.1 429"],
    ["< HTTP/2 429 \n< retry-after: 30", "HTTP/2 429"],
    ["request failed with status 429", "status 429"],
    ["upstream status: 429", "status: 429"],
    ['{"statusCode":429,"message":"slow down"}', 'statusCode":429'],
    ["error code 429", "code 429"],
    ["Error 429 from upstream.", "Error 429"],
    ["API Error (429) while streaming", "Error (429)"],
    ["Request failed (429)", "Request failed (429)"],
    ["server said: HTTP error 429: retry later", "error 429"],
  ])("flags an HTTP 429 status: %s", (text, match) => {
    expect(classifyFailure(text)).toEqual({ mode: "rate_limited", match });
  });

  it.each([
    ["429 Too Many Requests", "Too Many Requests"],
    ["You have hit your usage limit for today", "usage limit"],
    ["Rate limit reached for gpt-5", "Rate limit"],
    ["RateLimitError: slow down", "RateLimit"],
    ["Quota exceeded for quota metric 'Generate Content'", "Quota"],
    ["requests are being throttled", "throttl"],
  ])("keeps the spec's generic wording: %s", (text, match) => {
    expect(classifyFailure(text)).toEqual({ mode: "rate_limited", match });
  });

  it("classifies the demo rate-limited agent's output and not the crasher's", () => {
    expect(
      classifyFailure(
        "[ratelimited] sending request 1/3\nError: 429 Too Many Requests — rate limit reached for this account.",
      )?.mode,
    ).toBe("rate_limited");
    expect(classifyFailure("TypeError: boom\n    at main (file:///opt/agent/src/index.js:429:5)")).toBeNull();
  });

  it("ignores colour codes around the status", () => {
    expect(classifyFailure("\x1b[31mHTTP/1.1 429\x1b[0m")?.match).toBe("HTTP/1.1 429");
  });
});

describe("matchInputWait", () => {
  it.each([
    ["Apply the database migration? (y/n)", "yes_no"],
    ["Overwrite existing file [Y/n]", "yes_no"],
    ["Delete branch (yes/no)", "yes_no"],
    ["Do you want to proceed?", "confirm_prompt"],
    ["Confirm deletion:", "confirm_prompt"],
    ["Approve these changes (y/n)", "confirm_prompt"],
    ["Select an option:", "choose_prompt"],
    ["Choose a model: [1]", "choose_prompt"],
    ["Pick one of the branches above:", "choose_prompt"],
    ["Enter your name:", "enter_prompt"],
    ["Type the verification code: (6 digits)", "enter_prompt"],
    ["Port [8080]:", "bracket_colon"],
    ["What should the release be called?", "question_mark"],
    ["> ", "prompt_arrow"],
    ["codex>", "prompt_arrow"],
    // defect: a pause for the operator was judged a stall and killed after stallTimeoutMs (a field review).
    ["Press Enter to continue...", "press_key"],
    ["Press any key to continue", "press_key"],
    ["press RETURN when ready", "press_key"],
  ])("detects %j as %s", (line, pattern) => {
    expect(matchInputWait(["working…", line])).toEqual({ pattern, line: line.trimEnd() });
  });

  // The spec's trap: confirm/approve/proceed anywhere is not a prompt.
  it.each([
    "Approved by reviewer",
    "proceeding with build",
    "Proceeding with build...",
    "confirmation email sent",
    "The approver will confirm later.",
    "Waiting for approval from CI",
  ])("does not treat %j as waiting for input", (line) => {
    expect(matchInputWait(["compiling", line])).toBeNull();
  });

  it.each([
    "x => x + 1",
    "a -> b",
    "<div>",
    "Array<string>",
    "build finished",
    "Type: string",
    "If the build hangs, press Enter twice and wait for the next message from the server",
  ])("does not flag ordinary output %j", (line) => {
    expect(matchInputWait([line])).toBeNull();
  });

  it("only looks at the last 5 non-empty lines and reports the newest match", () => {
    const old = ["Continue? (y/n)", "1", "2", "3", "4", "5"];
    expect(matchInputWait(old)).toBeNull();
    expect(matchInputWait(["Continue? (y/n)", "", "  ", "1", "2", "3", "4"])?.pattern).toBe("yes_no");
    expect(matchInputWait(["Name:", "Enter your name:", ""])?.line).toBe("Enter your name:");
  });

  it("splits multi-line chunks and strips colour codes", () => {
    expect(matchInputWait(["done\nOverwrite? \x1b[1m[y/N]\x1b[0m  "])?.pattern).toBe("yes_no");
  });

  it("accepts user patterns as strings or compiled, replacing the defaults", () => {
    expect(matchInputWait(["Press Enter to continue"], ["press enter"])).toEqual({
      pattern: "custom:press enter",
      line: "Press Enter to continue",
    });
    expect(matchInputWait(["Continue? (y/n)"], ["press enter"])).toBeNull();
    const both = [...DEFAULT_INPUT_WAIT_PATTERNS, ...compileInputWaitPatterns(["^waiting for token$"])];
    expect(matchInputWait(["waiting for token"], both)?.pattern).toBe("custom:^waiting for token$");
    expect(matchInputWait(["ok?"], both)?.pattern).toBe("question_mark");
  });

  it("defect: the question our last input answered, its echo after it, is no question, nor anything above it", () => {
    const screen = ["Overwrite? [y/N] n", "Continue? [y/N] y", "got:y"];
    expect(matchInputWait(screen)).toEqual({ pattern: "yes_no", line: "Continue? [y/N] y" }); // as the seed read it
    expect(matchInputWait(screen, DEFAULT_INPUT_WAIT_PATTERNS, "Continue? [y/N]")).toBeNull();
    // A new prompt below the answered one is open; the same question asked again (no echo yet) too.
    const again = [...screen, "Continue? [y/N] "];
    expect(matchInputWait(again, DEFAULT_INPUT_WAIT_PATTERNS, "Continue? [y/N]")?.line).toBe("Continue? [y/N]");
  });

  it("pattern names are unique and stable", () => {
    const names = DEFAULT_INPUT_WAIT_PATTERNS.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual([
      "confirm_prompt",
      "yes_no",
      "choose_prompt",
      "enter_prompt",
      "bracket_colon",
      "press_key",
      "question_mark",
      "prompt_arrow",
    ]);
  });
});
