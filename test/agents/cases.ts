/**
 * Every recorded case: which CLI, how it is started, which fake-API scenario it meets, what the CLI
 * is expected to print (checked against the recording), and what the conductor should make of it
 * (the target of issue 10; the live suite prints it beside what the conductor does today).
 */
import { type Cli, FAKE_KEYS } from "./agent-env.js";
import type { Step } from "./record-run.js";

export const PROMPT = "Reply with one short sentence.";

/** What the conductor should conclude (issue 10, "Done when"). */
export interface ConductorExpectation {
  state: "completed" | "dead" | "input_wait" | "rate_limited_wait";
  failureMode?: "auth" | "trust" | "config" | "context" | "rate_limit" | "network" | "crash";
  /** At most this many runs (restarts + 1) before the final state. */
  maxRuns: number;
  /** The CLI's own line the conductor reports as `lastError` (secrets redacted, at most 300 characters). */
  lastError?: string;
  /** A dialog's question as the `inputWait` event carries it. */
  question?: string;
  /** The wait before the next run, when the CLI named a relative delay (`retry-after`, "retry after 39s"). */
  retryAfterMs?: number;
}

export interface AgentCase {
  cli: Cli;
  name: string;
  why: string;
  /** Fake API scenario segment (scenario.ts). */
  scenario: string;
  withKey: boolean;
  trustCwd: boolean;
  onboarded: boolean;
  /** codex: make the working folder a git repository (codex exec refuses other folders). */
  gitRepo?: boolean;
  maxRetries?: number;
  extraEnv?: Record<string, string>;
  /** argv after the binary. */
  args: string[];
  steps?: Step[];
  stopAfterSteps?: boolean;
  stopSignal?: "SIGTERM" | "SIGHUP" | "SIGINT";
  maxMs: number;
  /** The line the CLI prints for this failure (or the answer, for successes). */
  expectLine?: RegExp;
  /** Interactive dialogs: the question on screen. */
  question?: RegExp;
  /** Limits: what the CLI shows about when to retry. */
  limitText?: RegExp;
  conductor: ConductorExpectation;
}

const claudeP = (...extra: string[]) => ["-p", ...extra, PROMPT];
const claudeStream = ["--output-format", "stream-json", "--verbose", "--include-partial-messages"];
const codexExec = (...extra: string[]) => ["exec", ...extra, PROMPT];
const geminiP = (...extra: string[]) => ["-p", PROMPT, ...extra];
const geminiStream = ["--output-format", "stream-json"];

const dead = (failureMode: ConductorExpectation["failureMode"]): ConductorExpectation => ({
  state: "dead",
  failureMode,
  maxRuns: 1,
});
const ok: ConductorExpectation = { state: "completed", maxRuns: 1 };
const limited: ConductorExpectation = { state: "rate_limited_wait", failureMode: "rate_limit", maxRuns: 1 };
const asks: ConductorExpectation = { state: "input_wait", maxRuns: 1 };

type Base = Omit<AgentCase, "cli" | "name" | "why" | "args" | "conductor" | "scenario"> & { scenario?: string };
const oneShot: Base = { withKey: true, trustCwd: true, onboarded: true, gitRepo: true, maxMs: 120_000 };
const tui: Base = { ...oneShot, stopAfterSteps: true, maxMs: 90_000 };

function c(
  cli: Cli,
  name: string,
  why: string,
  base: Base,
  rest: Partial<AgentCase> & Pick<AgentCase, "args" | "conductor">,
): AgentCase {
  return { cli, name, why, scenario: "ok", ...base, ...rest } as AgentCase;
}

export const CASES: AgentCase[] = [
  // --- auth: no key / not logged in, and a key the API refuses
  c(
    "claude",
    "nokey",
    "no ANTHROPIC_API_KEY and no login",
    { ...oneShot, withKey: false },
    {
      args: claudeP(),
      expectLine: /Not logged in/,
      conductor: dead("auth"),
    },
  ),
  c(
    "claude",
    "auth-401",
    "401 authentication_error; CLAUDE_CODE_MAX_RETRIES=0 keeps it short",
    { ...oneShot, maxRetries: 0 },
    {
      scenario: "auth",
      args: claudeP(),
      expectLine: /Invalid API key|401/,
      conductor: dead("auth"),
    },
  ),
  c(
    "claude",
    "auth-401-default-retries",
    "401 with claude's default retries (silent for minutes)",
    { ...oneShot, maxMs: 300_000 },
    {
      scenario: "auth",
      args: claudeP(),
      expectLine: /Invalid API key|401/,
      conductor: dead("auth"),
    },
  ),
  c(
    "codex",
    "nokey",
    "stock OpenAI provider, no auth.json, no OPENAI_API_KEY (offline: no network in the namespace)",
    { ...oneShot, withKey: false, maxMs: 240_000 },
    {
      args: codexExec(),
      conductor: dead("auth"),
    },
  ),
  c("codex", "auth-401", "401 invalid_api_key from the fake provider", oneShot, {
    scenario: "auth",
    args: codexExec(),
    expectLine: /401 Unauthorized/,
    conductor: dead("auth"),
  }),
  c(
    "gemini",
    "nokey",
    "no auth method in settings and no GEMINI_API_KEY",
    { ...oneShot, withKey: false },
    {
      args: geminiP(),
      expectLine: /Please set an Auth method/,
      conductor: dead("auth"),
    },
  ),
  c("gemini", "auth-401", "400 INVALID_ARGUMENT / API_KEY_INVALID (Google's bad-key answer)", oneShot, {
    scenario: "auth",
    args: geminiP(),
    expectLine: /API key not valid/,
    conductor: dead("auth"),
  }),
  // --- rate limits and usage limits
  c(
    "claude",
    "rate-429",
    "429 rate_limit_error with retry-after 39; CLAUDE_CODE_MAX_RETRIES=0",
    { ...oneShot, maxRetries: 0 },
    {
      scenario: "rate-39",
      args: claudeP(),
      expectLine: /429|rate limit/i,
      conductor: limited,
    },
  ),
  c(
    "claude",
    "usage-limit",
    "429 with unified subscription headers: five_hour rejected, reset in an hour",
    { ...oneShot, maxRetries: 0 },
    {
      scenario: "usage",
      args: claudeP(),
      expectLine: /limit/i,
      limitText: /resets?\s[^\n]*/i,
      conductor: limited,
    },
  ),
  c(
    "claude",
    "usage-limit-oauth",
    "the same 429 for a subscription login (CLAUDE_CODE_OAUTH_TOKEN, no API key)",
    { ...oneShot, withKey: false, maxRetries: 0 },
    {
      scenario: "usage",
      args: claudeP(),
      extraEnv: { CLAUDE_CODE_OAUTH_TOKEN: FAKE_KEYS.claudeOauth },
      expectLine: /limit/i,
      limitText: /resets?\s[^\n]*/i,
      conductor: limited,
    },
  ),
  c(
    "codex",
    "rate-429",
    "429 rate_limit_exceeded, retry-after 5 (codex retries by itself)",
    { ...oneShot, maxMs: 180_000 },
    {
      scenario: "rate-5",
      args: codexExec(),
      expectLine: /429|rate limit/i,
      conductor: limited,
    },
  ),
  c("codex", "usage-limit", "429 usage_limit_reached, plan plus, resets_at in an hour", oneShot, {
    scenario: "usage",
    args: codexExec(),
    expectLine: /usage limit/i,
    limitText: /try again at [^\n.]*/i,
    conductor: limited,
  }),
  c(
    "gemini",
    "rate-429",
    "429 RESOURCE_EXHAUSTED per-minute quota, RetryInfo 5s (gemini retries by itself)",
    { ...oneShot, maxMs: 240_000 },
    {
      scenario: "rate-5",
      args: geminiP(),
      expectLine: /quota|429/i,
      limitText: /Suggested retry after \S+/,
      conductor: limited,
    },
  ),
  c("gemini", "usage-limit", "429 RESOURCE_EXHAUSTED per-day quota (terminal for gemini)", oneShot, {
    scenario: "usage",
    args: geminiP(),
    expectLine: /quota/i,
    conductor: limited,
  }),
  // --- trust
  c(
    "codex",
    "untrusted-no-git",
    "codex exec outside a git repository, no --skip-git-repo-check",
    { ...oneShot, gitRepo: false, trustCwd: false },
    {
      args: codexExec(),
      expectLine: /Not inside a trusted directory/,
      conductor: dead("trust"),
    },
  ),
  c(
    "gemini",
    "untrusted-headless",
    "gemini -p in a folder not in trustedFolders.json",
    { ...oneShot, trustCwd: false },
    {
      args: geminiP(),
      expectLine: /trust/i,
      conductor: dead("trust"),
    },
  ),
  // --- context too long
  c(
    "claude",
    "context",
    "400 invalid_request_error: prompt is too long",
    { ...oneShot, maxRetries: 0 },
    {
      scenario: "context",
      args: claudeP(),
      expectLine: /too long/i,
      conductor: dead("context"),
    },
  ),
  c("codex", "context", "response.failed with context_length_exceeded", oneShot, {
    scenario: "context",
    args: codexExec(),
    expectLine: /context window/i,
    conductor: dead("context"),
  }),
  c("gemini", "context", "400 INVALID_ARGUMENT: input token count exceeds the maximum", oneShot, {
    scenario: "context",
    args: geminiP(),
    expectLine: /token count|exceeds/i,
    conductor: dead("context"),
  }),
  // --- overloaded / server errors
  c(
    "claude",
    "overloaded",
    "529 overloaded_error; CLAUDE_CODE_MAX_RETRIES=0",
    { ...oneShot, maxRetries: 0 },
    {
      scenario: "overloaded",
      args: claudeP(),
      expectLine: /overloaded|529/i,
      conductor: { state: "dead", failureMode: "network", maxRuns: 4 },
    },
  ),
  c(
    "codex",
    "overloaded",
    "500 server_error (codex retries by itself)",
    { ...oneShot, maxMs: 180_000 },
    {
      scenario: "overloaded",
      args: codexExec(),
      expectLine: /high demand|500/i,
      conductor: { state: "dead", failureMode: "network", maxRuns: 4 },
    },
  ),
  c(
    "gemini",
    "overloaded",
    "503 UNAVAILABLE (gemini retries by itself)",
    { ...oneShot, maxMs: 240_000 },
    {
      scenario: "overloaded",
      args: geminiP(),
      expectLine: /overloaded|503/i,
      conductor: { state: "dead", failureMode: "network", maxRuns: 4 },
    },
  ),
  // --- success, and a one-shot longer than a 30 s start-up timeout, in text and stream modes
  c("claude", "ok", "a short answer", oneShot, { args: claudeP(), expectLine: /FAKE-API-OK/, conductor: ok }),
  c("codex", "ok", "a short answer", oneShot, { args: codexExec(), expectLine: /FAKE-API-OK/, conductor: ok }),
  c("gemini", "ok", "a short answer", oneShot, { args: geminiP(), expectLine: /FAKE-API-OK/, conductor: ok }),
  c("claude", "slow-text", "the answer streams for 40 s; text mode prints nothing until the end", oneShot, {
    scenario: "slow-40",
    args: claudeP(),
    expectLine: /FAKE-API-SLOW-DONE/,
    conductor: ok,
  }),
  c("claude", "slow-stream", "the same in stream-json with partial messages", oneShot, {
    scenario: "slow-40",
    args: claudeP(...claudeStream),
    expectLine: /FAKE-API-SLOW-DONE/,
    conductor: ok,
  }),
  c("codex", "slow-text", "the answer streams for 40 s", oneShot, {
    scenario: "slow-40",
    args: codexExec(),
    expectLine: /FAKE-API-SLOW-DONE/,
    conductor: ok,
  }),
  c("codex", "slow-stream", "the same with --json", oneShot, {
    scenario: "slow-40",
    args: codexExec("--json"),
    expectLine: /FAKE-API-SLOW-DONE/,
    conductor: ok,
  }),
  c("gemini", "slow-text", "the answer streams for 40 s", oneShot, {
    scenario: "slow-40",
    args: geminiP(),
    expectLine: /FAKE-API-SLOW-DONE/,
    conductor: ok,
  }),
  c("gemini", "slow-stream", "the same with --output-format stream-json", oneShot, {
    scenario: "slow-40",
    args: geminiP(...geminiStream),
    expectLine: /FAKE-API-SLOW-DONE/,
    conductor: ok,
  }),
  // --- interactive TUIs: questions and idle composers
  c(
    "claude",
    "tui-trust",
    "fresh folder, no -p: the folder-trust dialog",
    { ...tui, trustCwd: false },
    {
      args: [],
      steps: [{ waitFor: /trust/i }],
      question: /trust/i,
      conductor: asks,
    },
  ),
  c(
    "gemini",
    "tui-trust",
    "fresh folder: the boxed 'Do you trust the files in this folder?'",
    { ...tui, trustCwd: false },
    {
      args: [],
      steps: [{ waitFor: /Do you trust/i }],
      question: /Do you trust/i,
      conductor: asks,
    },
  ),
  c("codex", "tui-idle", "trusted git folder: the idle composer after start", tui, {
    args: [],
    steps: [{ waitFor: /›/, settleMs: 3000 }],
    question: /›/,
    conductor: asks,
  }),
  // claude 2.1 starts in "auto mode" (a classifier approves commands): only "manual" asks.
  c("claude", "tui-approval", "a Bash tool call (rm -rf) under --permission-mode manual: the permission prompt", tui, {
    scenario: "tool",
    args: ["--permission-mode", "manual", PROMPT],
    steps: [{ waitFor: /Do you want to proceed|proceed\?/i }],
    question: /proceed/i,
    conductor: asks,
  }),
  c("codex", "tui-approval", "the fake API asks for a shell call needing escalation: codex's approval prompt", tui, {
    scenario: "tool",
    args: [PROMPT],
    steps: [{ waitFor: /Would you like to run/ }],
    question: /Would you like to run/,
    conductor: asks,
  }),
  c("gemini", "tui-approval", "the fake API asks for run_shell_command: gemini's confirmation box", tui, {
    scenario: "tool",
    args: ["-i", PROMPT],
    steps: [{ waitFor: /Allow execution/ }],
    question: /Allow execution/,
    conductor: asks,
  }),
  c(
    "gemini",
    "tui-rate-429",
    "a 429 retried behind the 'Thinking… (esc to cancel, Ns)' spinner",
    { ...tui, maxMs: 120_000 },
    {
      scenario: "rate-39",
      args: ["-i", PROMPT],
      steps: [
        { waitFor: /esc to cancel, [1-9]\d*s/, settleMs: 0 },
        { waitFor: /esc to cancel, 2\ds/, settleMs: 0 },
      ],
      limitText: /Suggested retry after \S+/,
      conductor: limited,
    },
  ),
  c("codex", "tui-turn-hup", "a TUI turn answered, then the terminal closes (SIGHUP): is an app-server left?", tui, {
    args: [PROMPT],
    steps: [{ waitFor: /FAKE-API-OK/, settleMs: 2000 }],
    stopSignal: "SIGHUP",
    expectLine: /FAKE-API-OK/,
    conductor: asks,
  }),
];

export const caseId = (k: AgentCase) => `${k.cli}/${k.name}`;
