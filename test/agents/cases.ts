/**
 * Every recorded case: which CLI, how it is started, which fake-API scenario it meets, what the CLI
 * is expected to print (checked against the recording), and what the conductor should make of it
 * (the target of issue 10; the live suite prints it beside what the conductor does today).
 */
import { type CaseSetup, type Cli, FAKE_KEYS } from "./agent-env.js";
import type { Step } from "./record-run.js";

export const PROMPT = "Reply with one short sentence.";

/** What the conductor should conclude (issue 10, "Done when"). */
export interface ConductorExpectation {
  /**
   * `stalled`: the CLI still waited on the API when the recording stopped (its own timeouts take
   * longer than a recording should): the session must show the stall once the last byte is in.
   */
  state: "completed" | "dead" | "input_wait" | "rate_limited_wait" | "stalled";
  failureMode?: "auth" | "trust" | "config" | "context" | "rate_limit" | "network" | "crash";
  /** At most this many runs (restarts + 1) before the final state. */
  maxRuns: number;
  /** The CLI's own line the conductor reports as `lastError` (secrets redacted, at most 300 characters). */
  lastError?: string;
  /** A dialog's question as the `inputWait` event carries it. */
  question?: string;
  /** The wait before the next run, when the CLI named a relative delay (`retry-after`, "retry after 39s"). */
  retryAfterMs?: number;
  /**
   * What failed, as the CLI's own retries announced it (`agentRetry`'s `error`), in order, a run of
   * the same error once (a replay squeezes two notices minutes apart into one screen reading).
   */
  retried?: string[];
}

/** A case: its run's setup (key, trust, onboarding, git folder, retries: `CaseSetup`) and what follows. */
export interface AgentCase extends CaseSetup {
  name: string;
  why: string;
  /** Fake API scenario segment (scenario.ts). */
  scenario: string;
  /** argv after the binary. */
  args: string[];
  steps?: Step[];
  stopAfterSteps?: boolean;
  stopSignal?: "SIGTERM" | "SIGHUP" | "SIGINT";
  /**
   * The replay keeps bursts the CLI printed apart at least this far apart (seconds), when the verdict
   * depends on what one screen reading held: gemini's "Max attempts reached" scrolls off in its burst.
   */
  replayBurstGapS?: number;
  /** The recorder's bound on one run. */
  maxMs: number;
  /** The live suite's bound on the whole case, when its default (one-shots 200 s, TUIs 90 s) cannot fit. */
  liveBoundMs?: number;
  /**
   * Live: the session's `busyStallMs`, below the bound (the default, 15 min, is past it): a TUI whose
   * busy clock ticks on a hung turn must still be seen to stall.
   */
  liveBusyStallMs?: number;
  /** The line the CLI prints for this failure (or the answer, for successes). */
  expectLine?: RegExp;
  /** Interactive dialogs: the question on screen. */
  question?: RegExp;
  /** Limits: what the CLI shows about when to retry. */
  limitText?: RegExp;
  conductor: ConductorExpectation;
}

const claudeStream = ["--output-format", "stream-json", "--verbose", "--include-partial-messages"];
const geminiStream = ["--output-format", "stream-json"];
/** Each CLI's headless one-shot argv (after the binary), with extra flags. */
const ONE_SHOT: Record<Cli, (...extra: string[]) => string[]> = {
  claude: (...extra) => ["-p", ...extra, PROMPT],
  codex: (...extra) => ["exec", ...extra, PROMPT],
  gemini: (...extra) => ["-p", PROMPT, ...extra],
};

const dead = (failureMode: ConductorExpectation["failureMode"], maxRuns = 1): ConductorExpectation => ({
  state: "dead",
  failureMode,
  maxRuns,
});
const ok: ConductorExpectation = { state: "completed", maxRuns: 1 };
const limited: ConductorExpectation = { state: "rate_limited_wait", failureMode: "rate_limit", maxRuns: 1 };
const asks: ConductorExpectation = { state: "input_wait", maxRuns: 1 };
/** Live, these wait for the CLI's own timeouts (claude: 5-6 min) or a start-up and a stall. */
const LIVE_HANG_MS = 480_000;
/** Live, a TUI whose clock ticks on (codex's `Working (…)`, gemini's `(esc to cancel, …)`): its busy stall. */
const LIVE_BUSY_STALL_MS = 120_000;
/** gemini's telemetry record of each failed call to an API that never answers (its `api_error`). */
const FETCH_FAILED = "exception TypeError: fetch failed sending request";
/** The Gemini API's per-minute quota message (fake-api/gemini.ts), as gemini's retries announce it. */
const GEMINI_QUOTA =
  "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.";
const stalls = (retried?: string[]): ConductorExpectation => ({
  state: "stalled",
  maxRuns: 1,
  ...(retried ? { retried } : {}),
});

/** What a row may set beyond its id, expectation and why (defaults: a trusted git folder, a key, onboarded). */
type Extra = Partial<Omit<AgentCase, "cli" | "name" | "why" | "conductor">>;
const NO_RETRIES: Extra = { maxRetries: 0 };
const NO_KEY: Extra = { withKey: false };

function row(id: string, conductor: ConductorExpectation, why: string, extra: Extra): AgentCase {
  const [cli, name] = id.split("/") as [Cli, string];
  return {
    cli,
    name,
    why,
    conductor,
    scenario: "ok",
    withKey: true,
    trustCwd: true,
    onboarded: true,
    gitRepo: true,
    maxMs: 120_000,
    args: ONE_SHOT[cli](),
    ...extra,
  };
}

/** A headless one-shot run (`-p`, `exec`) and the line its CLI prints for the failure (or its answer). */
/** 4 runs of gemini's own retries of a 503 (~270 s each: its router's 5 attempts, its model's 10). */
const GEMINI_503_BOUND_MS = 1_500_000;

const one = (id: string, conductor: ConductorExpectation, line: RegExp | null, why: string, extra: Extra = {}) =>
  row(id, conductor, why, { ...(line ? { expectLine: line } : {}), ...extra });

/** A prompt typed into each CLI's TUI (gemini takes it with `-i`). */
const TUI_PROMPT: Record<Cli, string[]> = { claude: [PROMPT], codex: [PROMPT], gemini: ["-i", PROMPT] };

/** A prompt in the TUI whose error `line` the CLI shows, then waits at its composer: stopped 3 s after. */
const tuiError = (id: string, conductor: ConductorExpectation, line: RegExp, why: string, extra: Extra = {}) =>
  row(id, conductor, why, {
    args: TUI_PROMPT[id.split("/")[0] as Cli],
    steps: [{ waitFor: line, settleMs: 3000 }],
    stopAfterSteps: true,
    expectLine: line,
    ...extra,
  });

/** An interactive TUI, stopped once its steps are done; `question` is what it must ask. */
const tui = (id: string, why: string, question: RegExp, extra: Extra) =>
  row(id, asks, why, { args: [], stopAfterSteps: true, maxMs: 90_000, question, ...extra });

/** The second prompt of a session whose first turn was answered. */
export const NEXT_PROMPT = "Reply with one more short sentence.";
/**
 * A TUI session whose first turn is answered and whose next one fails (scenario `ok<N>then<…>`): the
 * second prompt typed, its Enter on a write of its own (codex and gemini drop an Enter that comes with
 * the text), then the CLI's error `line`; stopped 3 s after.
 */
const turnFails = (id: string, conductor: ConductorExpectation, line: RegExp, why: string, extra: Extra) =>
  row(id, conductor, why, {
    args: TUI_PROMPT[id.split("/")[0] as Cli],
    steps: [
      { waitFor: /FAKE-API-OK/, settleMs: 2000, send: NEXT_PROMPT },
      { waitFor: /one more short sentence/, settleMs: 1000, send: "\r" },
      { waitFor: line, settleMs: 3000 },
    ],
    stopAfterSteps: true,
    expectLine: line,
    ...extra,
  });

export const CASES: AgentCase[] = [
  // --- auth: no key / not logged in, and a key the API refuses
  one("claude/nokey", dead("auth"), /Not logged in/, "no ANTHROPIC_API_KEY and no login", NO_KEY),
  one("claude/auth-401", dead("auth"), /Invalid API key|401/, "401 authentication_error; no retries keeps it short", {
    scenario: "auth",
    ...NO_RETRIES,
  }),
  one("claude/auth-401-default-retries", dead("auth"), /Invalid API key|401/, "401, claude's default retries", {
    scenario: "auth",
    maxMs: 300_000,
  }),
  one("codex/nokey", dead("auth"), null, "stock OpenAI provider, no auth.json, no key (offline namespace)", {
    ...NO_KEY,
    maxMs: 240_000,
  }),
  one("codex/auth-401", dead("auth"), /401 Unauthorized/, "401 invalid_api_key from the fake provider", {
    scenario: "auth",
  }),
  one(
    "gemini/nokey",
    dead("auth"),
    /Please set an Auth method/,
    "no auth method in settings, no GEMINI_API_KEY",
    NO_KEY,
  ),
  one("gemini/auth-401", dead("auth"), /API key not valid/, "400 INVALID_ARGUMENT / API_KEY_INVALID", {
    scenario: "auth",
  }),
  // The same keys refused in the TUI, a prompt typed: each CLI shows the error and waits at its
  // composer. Unattended, that composer is no question to wait on: the run is dead (auth).
  tuiError("claude/tui-auth-401", dead("auth"), /Invalid API key|401/, "a 401 in the TUI (no retries)", {
    scenario: "auth",
    ...NO_RETRIES,
  }),
  tuiError("codex/tui-auth-401", dead("auth"), /401 Unauthorized/, "a 401 in the TUI: its reconnects, then the error", {
    scenario: "auth",
    maxMs: 240_000,
  }),
  tuiError("gemini/tui-auth-401", dead("auth"), /API key not valid/, "API_KEY_INVALID in the TUI", {
    scenario: "auth",
  }),
  // The same with NO_COLOR=1 inherited: claude and codex then draw their errors in the default ink,
  // like the model's words (a field probe: claude sat at its composer, its key refused, once the
  // conductor read its errors by their colour alone).
  tuiError("claude/tui-auth-401-no-color", dead("auth"), /Invalid API key|401/, "a 401 in a TUI told NO_COLOR", {
    scenario: "auth",
    ...NO_RETRIES,
    extraEnv: { NO_COLOR: "1" },
  }),
  tuiError("codex/tui-auth-401-no-color", dead("auth"), /401 Unauthorized/, "a 401 in a TUI told NO_COLOR", {
    scenario: "auth",
    maxMs: 240_000,
    extraEnv: { NO_COLOR: "1" },
  }),
  // --- rate limits and usage limits
  one("claude/rate-429", limited, /429|rate limit/i, "429 rate_limit_error, retry-after 39; no retries", {
    scenario: "rate-39",
    ...NO_RETRIES,
  }),
  one("claude/usage-limit", limited, /limit/i, "429 with subscription headers: five_hour rejected, reset in an hour", {
    scenario: "usage",
    limitText: /resets?\s[^\n]*/i,
    ...NO_RETRIES,
  }),
  one("claude/usage-limit-oauth", limited, /limit/i, "the same 429 for a subscription login (OAuth token, no key)", {
    scenario: "usage",
    limitText: /resets?\s[^\n]*/i,
    extraEnv: { CLAUDE_CODE_OAUTH_TOKEN: FAKE_KEYS.claudeOauth },
    ...NO_KEY,
    ...NO_RETRIES,
  }),
  one("codex/rate-429", limited, /429|rate limit/i, "429 rate_limit_exceeded, retry-after 5 (codex retries)", {
    scenario: "rate-5",
    maxMs: 180_000,
  }),
  one("codex/usage-limit", limited, /usage limit/i, "429 usage_limit_reached, plan plus, resets_at in an hour", {
    scenario: "usage",
    limitText: /try again at [^\n.]*/i,
  }),
  one("gemini/rate-429", limited, /quota|429/i, "429 RESOURCE_EXHAUSTED per minute, RetryInfo 5s (gemini retries)", {
    scenario: "rate-5",
    limitText: /Suggested retry after \S+/,
    maxMs: 240_000,
  }),
  // A per-minute throttle that passes: the first model calls get a 429 with a 5 s RetryInfo, then the
  // API answers. gemini retries by itself (`Attempt 1 failed: You exceeded your current quota…
  // Suggested retry after 5s.. Retrying after 5739ms...`) and answers: its own retries, no restart.
  one(
    "gemini/flaky-429",
    { ...ok, retried: [GEMINI_QUOTA] },
    /FAKE-API-OK/,
    "the first 4 calls a per-minute 429 (RetryInfo 5s), then answers",
    {
      scenario: "flaky-4",
      maxMs: 180_000,
      // Each notice in a reading of its own: replayed at once, the last screen holds none of them.
      replayBurstGapS: 0.3,
    },
  ),
  one("gemini/usage-limit", limited, /quota/i, "429 RESOURCE_EXHAUSTED per-day quota (terminal for gemini)", {
    scenario: "usage",
  }),
  // --- trust
  one(
    "codex/untrusted-no-git",
    dead("trust"),
    /Not inside a trusted directory/,
    "codex exec outside a git repository, without --dangerously-bypass-approvals-and-sandbox (with it, codex runs there)",
    {
      gitRepo: false,
      trustCwd: false,
    },
  ),
  // The preset's default (`approvals: "bypass"`) in the same folder: codex 0.171 runs there anyway.
  one("codex/no-git-bypass", ok, /FAKE-API-OK/, "codex exec outside a git repository with its bypass flag", {
    gitRepo: false,
    trustCwd: false,
    args: ONE_SHOT.codex("--dangerously-bypass-approvals-and-sandbox"),
  }),
  one("gemini/untrusted-headless", dead("trust"), /trust/i, "gemini -p in a folder not in trustedFolders.json", {
    trustCwd: false,
  }),
  // --- context too long, headless and in the TUI (the error shown, the composer back). Rerunning the
  // same prompt cannot fit either: dead (context), not a question to wait on.
  ...(
    [
      ["claude", /too long/i, "400 invalid_request_error: prompt is too long", NO_RETRIES],
      ["codex", /context window/i, "response.failed, context_length_exceeded", {}],
      ["gemini", /token count|exceeds/i, "400 INVALID_ARGUMENT: input token count exceeds", {}],
    ] as const
  ).flatMap(([cli, line, why, extra]) => [
    one(`${cli}/context`, dead("context"), line, why, { scenario: "context", ...extra }),
    tuiError(`${cli}/tui-context`, dead("context"), line, `${why}, in the TUI`, { scenario: "context", ...extra }),
  ]),
  // --- a model that does not exist (a typo in --model): no run of the same argv can work
  one("claude/model-404", dead("config"), /model/i, "404 not_found_error for the model asked for; no retries", {
    scenario: "model",
    ...NO_RETRIES,
  }),
  one("codex/model-404", dead("config"), /does not exist/i, "404 model_not_found from the fake provider", {
    scenario: "model",
    maxMs: 180_000,
  }),
  one("gemini/model-404", dead("config"), /not found/i, "404 NOT_FOUND: models/<m> is not found for API version", {
    scenario: "model",
    maxMs: 240_000,
  }),
  // --- overloaded / server errors
  one("claude/overloaded", dead("network", 4), /overloaded|529/i, "529 overloaded_error; no retries", {
    scenario: "overloaded",
    ...NO_RETRIES,
  }),
  one(
    "claude/overloaded-stream",
    dead("network", 4),
    /overloaded|529/i,
    "529 overloaded_error with claude's default retries, in its stream: what it prints while it retries",
    { scenario: "overloaded", args: ONE_SHOT.claude(...claudeStream), maxMs: 300_000, liveBoundMs: 900_000 },
  ),
  one("codex/overloaded", dead("network", 4), /high demand|500/i, "500 server_error (codex retries by itself)", {
    scenario: "overloaded",
    maxMs: 180_000,
  }),
  one(
    "codex/overloaded-stream",
    dead("network", 4),
    /high demand|500|Reconnecting/i,
    "500 server_error in codex's --json stream: what it prints while it retries",
    { scenario: "overloaded", args: ONE_SHOT.codex("--json"), maxMs: 180_000, liveBoundMs: 300_000 },
  ),
  one(
    "gemini/overloaded-stream",
    dead("network", 4),
    /overloaded|503/i,
    "503 UNAVAILABLE in gemini's stream-json: what it prints while it retries",
    {
      scenario: "overloaded",
      args: ONE_SHOT.gemini(...geminiStream),
      maxMs: 240_000,
      liveBoundMs: GEMINI_503_BOUND_MS,
      replayBurstGapS: 0.15,
    },
  ),
  // gemini retries a 503 itself: its router 5 times (~85 s, "Max attempts reached", no failure: it goes
  // on without it), then its model 10 times, then exit 1 (measured 268 s a run). A transient 503 is
  // cheaper to let it retry than to restart it, so 4 runs take about 18 minutes.
  one("gemini/overloaded", dead("network", 4), /overloaded|503/i, "503 UNAVAILABLE (gemini retries by itself)", {
    scenario: "overloaded",
    maxMs: 240_000,
    replayBurstGapS: 0.15,
    liveBoundMs: GEMINI_503_BOUND_MS,
  }),
  // A gateway's 502 (an HTML page) and a stream cut mid-answer: a field review saw both judged
  // exit_nonzero (no backoff), with the HTML page or a stack's `[cause]:` line as lastError.
  one(
    "codex/status-502",
    { ...dead("network", 4), lastError: "unexpected status 502 Bad Gateway" },
    /unexpected status 502/i,
    "502 Bad Gateway, an nginx HTML page",
    {
      scenario: "status-502",
      maxMs: 180_000,
    },
  ),
  one(
    "gemini/drop",
    {
      ...dead("network", 4),
      lastError: "SocketError: other side closed (its connection to the API closed in the middle of the answer)",
    },
    /terminated|other side closed/i,
    "the answer's stream cut after one word",
    {
      scenario: "drop",
      maxMs: 180_000,
    },
  ),
  // --- an API that stops answering. hang: the answer's stream starts (one word), then no byte more;
  // mute: no status, no header. Each CLI waits minutes before its own retry (claude's stream watchdog
  // 5 min, codex's and gemini's idle timeouts 300 s; codex without headers and claude's retries of a
  // mute API for ever): recorded for 11 minutes, and where the CLI still waits then, the session must
  // show the stall once its last byte is in, with each retry the CLI announced.
  one("claude/hang", ok, /FAKE-API-OK/, "its stream watchdog retries after 5 min, without streaming: answered", {
    scenario: "hang",
    maxMs: 660_000,
    liveBoundMs: LIVE_HANG_MS,
  }),
  row("claude/tui-hang", { ...asks, retried: ["Waiting for API response"] }, "the TUI's countdown to that retry", {
    scenario: "hang",
    args: [PROMPT],
    steps: [{ waitFor: /FAKE-API-OK/, settleMs: 3000 }],
    stopAfterSteps: true,
    maxMs: 420_000,
    liveBoundMs: LIVE_HANG_MS,
  }),
  one("claude/mute", stalls(["API error"]), /retrying in/, "no headers: 6 min silent, one notice, then silent again", {
    scenario: "mute",
    maxMs: 660_000,
    liveBoundMs: LIVE_HANG_MS,
  }),
  row("claude/tui-mute", stalls(["API error"]), "the same in the TUI", {
    scenario: "mute",
    args: [PROMPT],
    maxMs: 660_000,
    liveBoundMs: LIVE_HANG_MS,
  }),
  // Live, the stall comes long before codex's first reconnect (300 s): no line is asked of it.
  one("codex/hang", stalls(["Reconnecting"]), null, "300 s idle, then `Reconnecting... 1/5`, 2/5 at 600 s", {
    scenario: "hang",
    maxMs: 660_000,
    liveBoundMs: LIVE_HANG_MS,
  }),
  row("codex/tui-hang", stalls(), "the TUI: its spinner (in the window title) stops for minutes", {
    scenario: "hang",
    args: [PROMPT],
    maxMs: 660_000,
    liveBoundMs: LIVE_HANG_MS,
  }),
  one("codex/mute", stalls(), null, "no headers: codex has no timeout of its own and waits for ever", {
    scenario: "mute",
    maxMs: 660_000,
    liveBoundMs: LIVE_HANG_MS,
  }),
  row("codex/tui-mute", stalls(), "the same in the TUI", {
    scenario: "mute",
    args: [PROMPT],
    maxMs: 660_000,
    liveBoundMs: LIVE_HANG_MS,
    liveBusyStallMs: LIVE_BUSY_STALL_MS,
  }),
  one(
    "gemini/hang",
    stalls(["terminated"]),
    /FAKE-API-HANG-START/,
    "each retry after 300 s prints the first word again",
    {
      scenario: "hang",
      maxMs: 660_000,
      liveBoundMs: LIVE_HANG_MS,
    },
  ),
  row("gemini/tui-hang", stalls(["terminated"]), "the TUI: its spinner's counter frozen", {
    scenario: "hang",
    args: ["-i", PROMPT],
    maxMs: 660_000,
    liveBoundMs: LIVE_HANG_MS,
    liveBusyStallMs: LIVE_BUSY_STALL_MS,
  }),
  one("gemini/mute", stalls([FETCH_FAILED]), null, "no headers: its router, then the model, retried behind no output", {
    scenario: "mute",
    maxMs: 660_000,
    liveBoundMs: LIVE_HANG_MS,
  }),
  row("gemini/tui-mute", stalls([FETCH_FAILED]), "the same in the TUI", {
    scenario: "mute",
    args: ["-i", PROMPT],
    maxMs: 660_000,
    liveBoundMs: LIVE_HANG_MS,
    liveBusyStallMs: LIVE_BUSY_STALL_MS,
  }),
  // --- nothing listens at the API's address (a proxy or gateway down): each connection refused.
  // claude retries 10 times (~3 min: `API error · retrying in 35s · attempt 7 of 10`), gemini ~5 min
  // (its router first), codex says it waits for the network, for ever: 4 runs take up to 20 minutes live.
  ...(["claude", "codex", "gemini"] as const).flatMap((cli) => [
    one(`${cli}/refused`, dead("network", 4), null, "every connection to the API refused", {
      scenario: "refused",
      maxMs: 300_000,
      liveBoundMs: 1_200_000,
    }),
    row(`${cli}/tui-refused`, dead("network", 4), "the same in the TUI", {
      scenario: "refused",
      args: cli === "gemini" ? ["-i", PROMPT] : [PROMPT],
      maxMs: 400_000,
      // claude's and gemini's TUIs give up after ~3 and ~5 minutes a run, show the error and wait:
      // the recording ends there (what a TUI prints when the recorder stops it is not part of it).
      ...(cli === "codex"
        ? {}
        : {
            liveBoundMs: 1_200_000,
            steps: [{ waitFor: cli === "claude" ? /Resend your message/ : /✕ \[API Error/, settleMs: 3000 }],
            stopAfterSteps: true,
          }),
    }),
  ]),
  // --- success, and a one-shot longer than a 30 s start-up timeout, in text and stream modes
  one("claude/ok", ok, /FAKE-API-OK/, "a short answer"),
  one("codex/ok", ok, /FAKE-API-OK/, "a short answer"),
  one("gemini/ok", ok, /FAKE-API-OK/, "a short answer"),
  ...(["claude", "codex", "gemini"] as const).flatMap((cli) => [
    one(
      `${cli}/slow-text`,
      ok,
      /FAKE-API-SLOW-DONE/,
      "the answer streams for 40 s (claude's text mode: silent till the end)",
      {
        scenario: "slow-40",
      },
    ),
    one(`${cli}/slow-stream`, ok, /FAKE-API-SLOW-DONE/, "the same in the CLI's machine-readable stream", {
      scenario: "slow-40",
      args: ONE_SHOT[cli](...{ claude: claudeStream, codex: ["--json"], gemini: geminiStream }[cli]),
    }),
  ]),
  // --- interactive TUIs: questions and idle composers
  tui("claude/tui-trust", "fresh folder, no -p: the folder-trust dialog", /trust/i, {
    trustCwd: false,
    steps: [{ waitFor: /trust/i }],
  }),
  // A fresh config (no onboarding done): before any dialog, claude checks api.anthropic.com itself,
  // whatever ANTHROPIC_BASE_URL says; offline (or behind a gateway) it says so and exits 1.
  row("claude/tui-first-run", dead("network", 4), "a fresh config dir: its first-run check of api.anthropic.com", {
    onboarded: false,
    args: [],
    expectLine: /Failed to connect to api\.anthropic\.com/,
  }),
  // A key in the environment that the user never answered for (a home made for an account has no
  // answers: src/credential-overrides.ts keeps the key from a leased session; this is the question itself).
  tui(
    "claude/tui-api-key",
    "onboarded, ANTHROPIC_API_KEY never approved: claude asks whether to use it",
    /use this API key/,
    {
      keyApproved: false,
      steps: [{ waitFor: /use this API key/ }],
    },
  ),
  tui("gemini/tui-trust", "fresh folder: the boxed 'Do you trust the files in this folder?'", /Do you trust/i, {
    trustCwd: false,
    steps: [{ waitFor: /Do you trust/i }],
  }),
  // codex draws its composer at once but takes input only seconds later, with its title and the model
  // in its footer (typed input before that is lost): the case waits for the footer.
  tui("codex/tui-idle", "trusted git folder: the idle composer once codex takes input", /›/, {
    steps: [{ waitFor: /gpt-fake/, settleMs: 3000 }],
  }),
  // Each CLI idle at its composer, no prompt given: an embedder answers this with sendInput
  // (test/agents/input.live.ts). claude 2.1.332 in auto mode draws no "? for shortcuts".
  tui("claude/tui-idle", "trusted folder, no prompt: the idle composer", /❯/, {
    steps: [{ waitFor: /for agents|for shortcuts/, settleMs: 3000 }],
  }),
  tui("gemini/tui-idle", "trusted folder, no prompt: the idle composer", /Type your message/, {
    steps: [{ waitFor: /Type your message/, settleMs: 3000 }],
  }),
  // claude 2.1 starts in "auto mode" (a classifier approves commands): only "manual" asks.
  tui("claude/tui-approval", "a Bash tool call (rm -rf) under --permission-mode manual", /proceed/i, {
    scenario: "tool",
    args: ["--permission-mode", "manual", PROMPT],
    steps: [{ waitFor: /Do you want to proceed|proceed\?/i }],
  }),
  tui("codex/tui-approval", "a shell call needing escalation: codex's approval prompt", /Would you like to run/, {
    scenario: "tool",
    args: [PROMPT],
    steps: [{ waitFor: /Would you like to run/ }],
  }),
  tui("gemini/tui-approval", "the fake API asks for run_shell_command: the confirmation box", /Allow execution/, {
    scenario: "tool",
    args: ["-i", PROMPT],
    steps: [{ waitFor: /Allow execution/ }],
  }),
  // gemini waits out the API's 39 s and tries again, for ever in its TUI, each failed call in its
  // telemetry: its own retries, left to it up to the tenth of the turn (tui-rate-429-long). The
  // recording stops after the first; live, its busy clock alone ticks, so the busy stall (120 s) ends
  // the wait before that tenth call (~6 minutes against a 39 s wait).
  row(
    "gemini/tui-rate-429",
    stalls([GEMINI_QUOTA]),
    "a 429 retried behind the 'Thinking… (esc to cancel, Ns)' spinner",
    {
      scenario: "rate-39",
      liveBoundMs: LIVE_HANG_MS,
      liveBusyStallMs: LIVE_BUSY_STALL_MS,
      args: ["-i", PROMPT],
      steps: [
        { waitFor: /esc to cancel, [1-9]\d*s/, settleMs: 0 },
        { waitFor: /esc to cancel, 2\ds/, settleMs: 0 },
      ],
      limitText: /Suggested retry after \S+/,
      stopAfterSteps: true,
    },
  ),
  // The same throttle in the TUI, retried behind its spinner: each failed call is in its telemetry
  // (an agentRetry), then it answers and waits at its composer.
  row(
    "gemini/tui-flaky-429",
    { ...asks, retried: [GEMINI_QUOTA] },
    "a TUI prompt whose first 2 calls get a per-minute 429",
    {
      scenario: "flaky-2",
      args: ["-i", PROMPT],
      steps: [{ waitFor: /FAKE-API-OK/, settleMs: 3000 }],
      stopAfterSteps: true,
      maxMs: 180_000,
      expectLine: /FAKE-API-OK/,
    },
  ),
  // A per-minute 429 that never ends, in the TUI (recorded: 43 calls in 10 minutes, `Thinking… (9m
  // 58s)` and nothing else on screen; its telemetry records each): gemini does not give up. Each
  // failed call is an agentRetry, and its tenth of the turn a rate limit (as many as `-p` makes before
  // `Max attempts reached`; at ~144 s here, so the busy stall is set past it).
  row(
    "gemini/tui-rate-429-long",
    { ...limited, retried: [GEMINI_QUOTA] },
    "a TUI prompt against a 429 that never ends (5 s RetryInfo)",
    {
      scenario: "rate-5",
      args: ["-i", PROMPT],
      steps: [{ waitFor: /quota|429|Max attempts/i, settleMs: 5000 }],
      stopAfterSteps: true,
      maxMs: 600_000,
      liveBoundMs: LIVE_HANG_MS,
      liveBusyStallMs: 2 * LIVE_BUSY_STALL_MS,
    },
  ),
  // A usage limit hit in a TUI session (a long interactive run meets its plan's limit): the CLI shows
  // the limit and waits at its composer; the session must wait for the reset, not for an answer.
  row("claude/tui-usage-limit", limited, "a prompt in the TUI against the five-hour limit (reset in an hour)", {
    scenario: "usage",
    args: [PROMPT],
    // Its TUI first retries (`✻ 5-hour limit reached · retrying in 1s (2:18pm) · attempt 1/10`): the
    // recording goes on to what it shows once it gives up.
    steps: [{ waitFor: /limit(?![^\n]*retrying)/i, settleMs: 3000 }],
    stopAfterSteps: true,
    maxMs: 240_000,
    expectLine: /limit/i,
  }),
  row("codex/tui-usage-limit", limited, "a prompt in the TUI against usage_limit_reached (resets in an hour)", {
    scenario: "usage",
    args: [PROMPT],
    steps: [{ waitFor: /usage limit/i, settleMs: 3000 }],
    stopAfterSteps: true,
    expectLine: /usage limit/i,
    limitText: /try again at [^\n.]*/i,
  }),
  row("gemini/tui-usage-limit", limited, "a prompt in the TUI against the per-day quota (terminal for gemini)", {
    scenario: "usage",
    args: ["-i", PROMPT],
    steps: [{ waitFor: /Usage limit reached/i, settleMs: 3000 }],
    stopAfterSteps: true,
    expectLine: /Usage limit reached/i,
  }),
  row(
    "claude/tui-overloaded",
    dead("network", 4),
    "a prompt in the TUI against a 529 overloaded API: claude's own retries, then its error",
    {
      scenario: "overloaded",
      args: [PROMPT],
      steps: [{ waitFor: /API Error/, settleMs: 3000 }],
      stopAfterSteps: true,
      maxMs: 300_000,
      liveBoundMs: 900_000,
      expectLine: /overloaded|529/i,
    },
  ),
  row(
    "codex/tui-overloaded",
    dead("network", 4),
    "a prompt in the TUI against a 500-overloaded API: codex's own retries, then its error",
    {
      scenario: "overloaded",
      args: [PROMPT],
      // Its own retries show as `• Reconnecting... 1/5 (5s • esc to interrupt)`: the end is its `■` error.
      steps: [{ waitFor: /■/, settleMs: 3000 }],
      stopAfterSteps: true,
      maxMs: 240_000,
      liveBoundMs: 600_000,
      expectLine: /high demand|500/i,
    },
  ),
  // A field review: after its retries codex shows `■ unexpected status 503 …` and waits at its composer,
  // which read as a question (input_wait, then dead input_wait_timeout with no lastError).
  row(
    "codex/tui-status-503",
    {
      ...dead("network", 4),
      lastError: "unexpected status 503 Service Unavailable: The server had an error processing your request.",
    },
    "a prompt in the TUI against a 503 (a generic server error): codex's own retries, then its error",
    {
      scenario: "status-503",
      args: [PROMPT],
      steps: [{ waitFor: /■/, settleMs: 3000 }],
      stopAfterSteps: true,
      maxMs: 240_000,
      liveBoundMs: 600_000,
      expectLine: /unexpected status 503/i,
    },
  ),
  // Mid-session failures (a field review): each TUI showed the error of a later turn and waited at its
  // composer, while the session stalled and was restarted (claude, its conversation lost) or sat at
  // input_wait (codex), lastError null.
  turnFails(
    "claude/tui-context-turn",
    { ...dead("context"), lastError: "Context limit reached · /compact or /clear to continue" },
    /Context limit reached|Prompt is too long/,
    "a turn answered, then the next too long: claude compacts, then gives up",
    { scenario: "ok1thencontext" },
  ),
  turnFails(
    "claude/tui-model-turn",
    dead("config"),
    /issue with the selected model/,
    "a turn answered, then the model is gone (404)",
    { scenario: "ok1thenmodel" },
  ),
  turnFails(
    "codex/tui-model-turn",
    { ...dead("config"), lastError: "The model `gpt-fake` does not exist or you do not have access to it." },
    /■.*does not exist/,
    "a turn answered, then the model is gone (404)",
    { scenario: "ok2thenmodel" },
  ),
  // A shell tool call that fails (exit 1) printing some CLI's error words on stdout and stderr (fake API
  // `toolfail-K`, fake-api/tool-calls.ts TOOL_FAIL_TEXTS): an agent running another CLI or an API client
  // as a tool. The agent is healthy and answers "Done: the command failed.", then waits at its composer.
  // A field probe: claude's TUI with --verbose redraws a failed tool's output in its error colour
  // (#ff6b80, `⎿  Error: Exit code 1` above it) and was judged dead (auth) / rate-limited on those rows;
  // gemini's TUI shows the output in its tool box (default ink) and was judged on its words.
  ...(
    [
      ["claude/tui-toolfail-auth-verbose", 0, "Invalid API key · Fix external API key"],
      ["claude/tui-toolfail-429-verbose", 1, "API Error: Request rejected (429)"],
      ["gemini/tui-toolfail-quota", 7, "[API Error: You exceeded your current quota, …]"],
      ["gemini/tui-toolfail-auth-json", 8, 'Error: {"error":{…"message":"API key not valid…"}}'],
    ] as const
  ).map(([id, k, words]) =>
    row(id, asks, `a shell tool call fails printing \`${words}\`, then the model answers`, {
      scenario: `toolfail-${k}`,
      args: id.startsWith("claude/")
        ? [
            "--dangerously-skip-permissions",
            "--settings",
            '{"skipDangerousModePermissionPrompt":true}',
            "--verbose",
            "Run the staging API client once and tell me how it went.",
          ]
        : ["--approval-mode", "yolo", "-i", "Run the staging API client once and tell me how it went."],
      steps: [{ waitFor: /Done: the command failed\./, settleMs: 3000 }],
      stopAfterSteps: true,
      maxMs: 120_000,
      expectLine: /Done: the command failed\./,
    }),
  ),
  row("codex/tui-turn-hup", asks, "a TUI turn answered, then SIGHUP (the terminal closes): is an app-server left?", {
    args: [PROMPT],
    steps: [{ waitFor: /FAKE-API-OK/, settleMs: 2000 }],
    stopAfterSteps: true,
    stopSignal: "SIGHUP",
    maxMs: 90_000,
    expectLine: /FAKE-API-OK/,
  }),
];

export const caseId = (k: AgentCase) => `${k.cli}/${k.name}`;

/** `AGENTS_LIVE` / `AGENTS_RECORD` selections: comma-separated case ids, `*` for any characters. */
export function inSelection(selection: string, k: AgentCase): boolean {
  return selection.split(",").some((p) => {
    const re = new RegExp(
      `^${p
        .trim()
        .replace(/[.+?^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")}$`,
    );
    return re.test(caseId(k));
  });
}
