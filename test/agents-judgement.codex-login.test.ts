/**
 * codex on a ChatGPT login whose refresh token another codex used already (a field review with the
 * real codex 0.171 against the fake ChatGPT backend): the TUI exits 1 with the error and a Rust
 * backtrace; `codex exec --json` says it in its stream. No rerun signs in again: dead, auth.
 */
import { describe, expect, it } from "vitest";
import { lastMeaningfulLine } from "../machines/agents/index.js";
import { resolvePolicy } from "../machines/session.policy.js";
import { judgeRunExit } from "../machines/session.judgement.js";

const SENTENCE =
  "Your access token could not be refreshed because your refresh token was already used. Please log out and sign in again.";
const WARNING =
  'WARNING: proceeding, even though we could not create PATH aliases: Refusing to create helper binaries under temporary dir "/tmp" (codex_home: AbsolutePathBuf("/tmp/run/home/.codex"))';
/** The TUI's last words as recorded (ANSI-free), after it left its alternate screen. */
const TUI_END = [
  `Error: account/read failed: account/read failed: ${SENTENCE} (code -32603)`,
  "",
  "Stack backtrace:",
  ...[0, 1, 2, 3, 4, 5].map((n) => `   ${n}: <unknown>`),
];
const ctx = (argv: string[]) => ({
  agent: "codex",
  policy: resolvePolicy({}),
  leaseStatus: "none" as const,
  account: null,
  spec: { argv },
});
const exit = (recentOutput: string, screen: string[]) => ({
  type: "CHILD.EXIT" as const,
  generation: 1,
  exitCode: 1,
  signal: null,
  recentOutput,
  screen,
  at: Date.now(),
});

describe("codex's ChatGPT login that cannot be refreshed", () => {
  it("defect: the TUI's exit is auth with the sentence (was: exit_nonzero, restarted 3 times, lastError `5: <unknown>`)", () => {
    const out = [WARNING, ...TUI_END].join("\r\n");
    expect(judgeRunExit(ctx(["codex", "--no-daemon"]), exit(out, [WARNING, ...TUI_END]))).toEqual({
      failureMode: "auth",
      lastError: SENTENCE,
      retryAfterMs: null,
    });
  });

  it("defect: `codex exec --json` says it in its stream: that sentence, not a log line (was: `… ERROR codex_login::auth::manager: Failed to refresh token …`)", () => {
    const out = [
      WARNING,
      "2026-12-05T06:19:25.219001Z ERROR codex_login::auth::manager: Failed to refresh token status=401 Unauthorized",
      "2026-12-05T06:19:29.859135Z ERROR codex_models_manager::manager: failed to refresh available models: request timed out",
      '{"type":"thread.started","thread_id":"01a244db-7dd7-7950-bfc7-6b0ad57912f8"}',
      '{"type":"turn.started"}',
      JSON.stringify({ type: "error", message: SENTENCE }),
      JSON.stringify({ type: "turn.failed", error: { message: SENTENCE } }),
    ].join("\r\n");
    expect(judgeRunExit(ctx(["codex", "exec", "--json", "Reply"]), exit(out, []))).toMatchObject({
      failureMode: "auth",
      lastError: SENTENCE,
    });
  });

  it("defect: a Rust backtrace is no last word (was: `5: <unknown>`): the line before it is", () => {
    const panic = [
      "thread 'main' panicked at src/main.rs:4:5:",
      "something odd happened",
      "Stack backtrace:",
      "   0: <unknown>",
      "  12: std::rt::lang_start_internal",
      "             at /rustc/90b35a6239c3d8bdabc530a6a0816f7ff89a0aaf/library/std/src/rt.rs:175:5",
      "  13: main",
    ];
    expect(lastMeaningfulLine({ recentOutput: panic.join("\n"), screen: [] })).toBe("something odd happened");
  });
});
