/**
 * Account errors no rerun fixes, as the real CLIs printed them against the fake API in a field review
 * (gemini-cli 0.61 `-p --output-format stream-json`, codex 0.171 `exec --json`): each is terminal
 * (dead after one run) with the API's words as lastError. claude's equivalents already were.
 */
import { describe, expect, it } from "vitest";
import { agentProfile as agentProfileOf, gemini, judgeReportedError, judgeScreen } from "../machines/agents/index.js";
import { resolvePolicy } from "../machines/session.policy.js";
import { judgeRunExit } from "../machines/session.judgement.js";
import { cannotRecover } from "../machines/session.recovery.js";

const ctx = (agent: string, argv: string[]) => ({
  agent,
  policy: resolvePolicy({}),
  leaseStatus: "none" as const,
  account: null,
  spec: { argv },
});
const exit = (lines: string[]) => ({
  type: "CHILD.EXIT" as const,
  generation: 1,
  exitCode: 1,
  signal: null,
  recentOutput: lines.join("\r\n"),
  screen: [],
  at: Date.now(),
});
const terminal = (c: ReturnType<typeof ctx>, j: ReturnType<typeof judgeRunExit>) =>
  cannotRecover({ ...c, failureMode: j.failureMode, retryAfterMs: j.retryAfterMs });

/** gemini -p --output-format stream-json against an API error it does not retry (recorded lines). */
function geminiRun(code: number, status: string, message: string): string[] {
  const api = JSON.stringify({ error: { code, status, message } });
  return [
    '{"type":"init","timestamp":"2026-12-05T06:15:07.739Z","session_id":"9e86fa22","model":"auto"}',
    `Error generating content via API. Full report available at: /tmp/gemini-client-error-generateJson-api.json _ApiError: ${api}`,
    `  status: ${code}`,
    "}",
    `[Routing] NumericalClassifierStrategy failed: Error: Failed to generate content: ${api}`,
    `Error when talking to Gemini API Full report available at: /tmp/gemini-client-error-Turn.run.json _ApiError: ${api}`,
    `  status: ${code}`,
    "}",
    JSON.stringify({
      type: "result",
      status: "error",
      error: { type: "unknown", message: `[API Error: ${api}]` },
      stats: { total_tokens: 0, input_tokens: 0, output_tokens: 0 },
    }),
  ];
}

describe("account errors no rerun fixes", () => {
  const gArgv = ["gemini", "-p", "Reply", "--output-format", "stream-json"];
  const cArgv = ["codex", "exec", "--json", "Reply"];

  it("defect: gemini's 403 PERMISSION_DENIED (a leaked key) is auth after one run (was: exit_nonzero, restarted 3 times)", () => {
    const leaked = "Your API key was reported as leaked. Please use another API key.";
    const j = judgeRunExit(ctx("gemini", gArgv), exit(geminiRun(403, "PERMISSION_DENIED", leaked)));
    expect(j).toMatchObject({ failureMode: "auth", lastError: leaked });
    expect(terminal(ctx("gemini", gArgv), j)).toBe(true);
    // Its TUI shows it and waits at its composer; its telemetry records it: both end the run.
    const api = JSON.stringify({ error: { code: 403, status: "PERMISSION_DENIED", message: leaked } });
    expect(judgeScreen(gemini, [`✕ [API Error: ${api}]`], null)).toMatchObject({ class: "auth", line: leaked });
    // Live, in -p: its line wrapped at 120 columns, a row ending "…reported as leaked." inside the JSON's
    // string (was: lastError "Your API key was reported as leaked.", its second sentence lost).
    const said = `Error generating content via API. Full report available at: /tmp/gemini-client-error-generateJson-api-2026-12-05T06-15-07-829Z.json _ApiError: ${api}`;
    const rows = said.match(/.{1,120}/g) ?? [];
    expect(rows[1]).toMatch(/leaked\.$/);
    expect(judgeScreen(gemini, [...rows, "  status: 403", "}"], null, { cols: 120 })).toMatchObject({
      class: "auth",
      line: leaked,
    });
    expect(judgeReportedError(gemini, { status: 403, message: api })).toMatchObject({ class: "auth", line: leaked });
  });

  it("defect: gemini's 401 UNAUTHENTICATED is auth after one run (was: exit_nonzero, lastError a slice of its result event)", () => {
    const msg =
      "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.";
    const j = judgeRunExit(ctx("gemini", gArgv), exit(geminiRun(401, "UNAUTHENTICATED", msg)));
    expect(j).toMatchObject({ failureMode: "auth", lastError: msg });
  });

  it("defect: codex's 403 unsupported_country_region_territory is auth after its own retries (was: exit_nonzero, restarted)", () => {
    const said =
      "unexpected status 403 Forbidden: Country, region, or territory not supported, url: http://127.0.0.1:44299/v1/responses";
    const lines = [
      '{"type":"turn.started"}',
      ...[1, 2, 3, 4, 5].map((n) => JSON.stringify({ type: "error", message: `Reconnecting... ${n}/5 (${said})` })),
      JSON.stringify({ type: "error", message: said }),
      JSON.stringify({ type: "turn.failed", error: { message: said } }),
    ];
    const j = judgeRunExit(ctx("codex", cArgv), exit(lines));
    expect(j).toMatchObject({ failureMode: "auth", lastError: said });
    expect(terminal(ctx("codex", cArgv), j)).toBe(true);
    // Its last reconnect's notice announces a sixth call (codex's `5/5`): not judged yet; the exit
    // that follows that call's error is (above).
    expect(judgeScreen(agentProfileOf("codex"), [`ERROR: Reconnecting... 5/5 (${said})`], null)).toBeNull();
    // While codex retries it, it is not judged: its notices have retries left.
    expect(judgeScreen(agentProfileOf("codex"), [`ERROR: Reconnecting... 2/5 (${said})`], null)).toBeNull();
  });

  it("defect: codex's 429 insufficient_quota is a billing problem, terminal, and says what to do (was: rate_limited, waited for and rerun)", () => {
    const said = "Quota exceeded. Check your plan and billing details.";
    const lines = [
      'WARNING: proceeding, even though we could not create PATH aliases: Refusing to create helper binaries under temporary dir "/tmp"',
      '{"type":"thread.started","thread_id":"01a244d7-7335-7f22-a1d0-7a63e7d5d313"}',
      '{"type":"turn.started"}',
      JSON.stringify({ type: "error", message: said }),
      JSON.stringify({ type: "turn.failed", error: { message: said } }),
    ];
    const j = judgeRunExit(ctx("codex", cArgv), exit(lines));
    expect(j.failureMode).toBe("auth");
    expect(j.lastError).toMatch(/^Quota exceeded\. Check your plan and billing details\. \(.*add credits.*\)$/);
    expect(terminal(ctx("codex", cArgv), j)).toBe(true);
    // Its text mode and its TUI say the same words.
    const text = judgeRunExit(ctx("codex", ["codex", "exec", "Reply"]), exit([`ERROR: ${said}`]));
    expect(text.failureMode).toBe("auth");
  });
});
