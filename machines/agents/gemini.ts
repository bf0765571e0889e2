/**
 * gemini-cli (0.61): exit 41 for auth, 55 for an untrusted folder in headless mode, 1 for API
 * errors; retries 429s by itself behind `⠋ Thinking… (esc to cancel, 25s)`; a boxed folder-trust
 * question; window titles `◇  Ready`, `✦  Working…`, `✋  Action Required`. See docs/agents.md.
 */
import { geminiToolRows } from "./tool-rows.js";
import type { AgentProfile } from "./types.js";

/** gemini 0.61 gives a 429 up at once, unretried, when its wait is longer than this (MAX_RETRYABLE_DELAY_SECONDS). */
const MAX_RETRIED_DELAY_S = 300;

/**
 * Whether gemini 0.61 retries a 429 its telemetry recorded (its classifyGoogleError, by the API's error
 * details): not a per-day quota, a `limit: 0`, a quota, capacity or credits reason, nor a wait past
 * 300 s (TerminalQuotaError: it gives up at once and says so); any other 429 it waits out and tries
 * again, up to 10 attempts (its router 5 first). A field review saw it get past a per-minute 429 alone
 * while the conductor killed and restarted it, losing the TUI's conversation.
 */
function retries429(report: { status: number | null; message: string }): boolean {
  if (report.status !== 429) return false;
  const m = report.message;
  const terminal =
    /PerDay|Daily|limit:\s*0(?![\d.])|QUOTA_EXHAUSTED|MODEL_CAPACITY_EX|INSUFFICIENT_G1_CREDITS|exhausted your (?:daily quota|capacity)|capacity exceeded/i;
  if (terminal.test(m)) return false;
  const delay =
    /"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"/.exec(m)?.[1] ?? /Please retry in (\d+(?:\.\d+)?)s\b/.exec(m)?.[1];
  return delay === undefined || Number(delay) <= MAX_RETRIED_DELAY_S;
}

export const gemini: AgentProfile = {
  name: "gemini",
  // packages/core FatalError codes: 41 auth, 42 input, 44 sandbox, 52 config; 55 untrusted folder.
  exitCodes: { 41: "auth", 42: "config", 44: "config", 52: "config", 55: "trust" },
  failures: [
    { class: "auth", pattern: /Please set an Auth method/i, live: true },
    // Live only in gemini's own forms: the API's JSON (`[API Error: {…"message":"API key not valid…`,
    // `_ApiError: {…}`, its `"reason":"API_KEY_INVALID"`); at the exit anywhere. The model's answer
    // saying the words (`✦ API key not valid…`, a `-p` answer's line) ended a healthy run (a field review).
    {
      class: "auth",
      pattern: /"message":\s*"API key not valid\. Please pass a valid API key|"API_KEY_INVALID"/,
      live: true,
    },
    { class: "auth", pattern: /API key not valid\. Please pass a valid API key|API_KEY_INVALID/i },
    { class: "auth", pattern: /you must specify the GEMINI_API_KEY/i, live: true },
    // A key or login the API refuses for good, which gemini 0.61 does not retry: 403 PERMISSION_DENIED
    // ("Your API key was reported as leaked. Please use another API key."), 401 UNAUTHENTICATED. In its
    // own error forms (`[API Error: {…}]`, `_ApiError: {…}`, its telemetry's `{"error":{…}}`): live;
    // a field review saw both restarted 3 times as exit_nonzero. lastError: the API's message.
    {
      class: "auth",
      pattern: /(?:\[API Error:|_ApiError:|^\s*\{"error":)\s*\{.*"status":\s*"(?:PERMISSION_DENIED|UNAUTHENTICATED)"/,
      live: true,
    },
    { class: "auth", pattern: /API key was reported as leaked|Request had invalid authentication credentials/i },
    {
      class: "trust",
      pattern: /not (?:running )?in a trusted (?:directory|folder)|untrusted (?:directory|folder|workspace)/i,
    },
    { class: "context", pattern: /input token count.*exceeds/i, live: true },
    // A model that does not exist (a typo in --model): 404 NOT_FOUND, which gemini 0.61 does not retry
    // and prints as `Error when talking to Gemini API … ModelNotFoundError: models/<m> is not found…`
    // (recorded). Not its router's failure (`[Routing] … failed`, `Error generating content via API …
    // ModelNotFoundError`, same cast): without the router's model a run goes on with the main one.
    { class: "config", pattern: /Error when talking to Gemini API\b.*\bModelNotFoundError\b/, live: true },
    // A per-day quota: gemini 0.61 calls it terminal (TerminalQuotaError, `retryDelayMs: undefined`) and
    // prints no reset; Google resets requests-per-day quotas at midnight Pacific time.
    {
      class: "rate_limit",
      pattern: /exhausted your daily quota/i,
      live: true,
      resetHint: "resets at 12am (America/Los_Angeles)",
    },
    // Live only as gemini says it: after an attempt's `failed:`, as the API's JSON `"message"`, after
    // its `[API Error:` or its `✕` cell; its dialog's `Usage limit reached for <model>` at the start of a
    // row (recorded tui-usage-limit); at the exit anywhere. The model's answer saying it (`✦ You exceeded
    // your current quota`) restarted a healthy run (a field review).
    {
      class: "rate_limit",
      pattern:
        /(?:failed:\s*|"message":\s*"|\[API Error:\s*|✕\s*)You exceeded your current quota|^\W{0,3}Usage limit reached for\b/i,
      live: true,
    },
    { class: "rate_limit", pattern: /You exceeded your current quota|Usage limit reached for/i },
    { class: "rate_limit", pattern: /Quota exceeded for quota metric/i, live: true },
    // The bare status comes with a 429 gemini retries by itself (with backoff, no retry delay given):
    // judged at the exit only, once its retries are spent (a field review: live, it restarted runs
    // gemini got past alone).
    { class: "rate_limit", pattern: /RESOURCE_EXHAUSTED/ },
    // Its own retries spent (`Attempt 10 failed: The service is currently unavailable.. Max attempts
    // reached`, then `Error when talking to Gemini API` and exit 1: measured, 268 s against a steady
    // 503). Judged at the exit, not live: the same words end its router's 5 attempts first (`Attempt
    // 5 failed: … Max attempts reached`, then `[Routing] NumericalClassifierStrategy failed`), after
    // which gemini goes on with its main model and its 10 attempts (a field review: live, the run was
    // killed there and restarted, where gemini would have got past a short outage by itself).
    { class: "network", pattern: /Attempt \d+ failed\b.*Max attempts reached/i },
    // Its TUI once its retries of an unreachable API are spent (recorded tui-refused, after 5 minutes):
    // `✕ [API Error: exception TypeError: fetch failed sending request]`, then it waits at its composer.
    {
      class: "network",
      pattern: /^\s*✕\s*\[API Error:\s*(?:[^\]]*\bfetch failed|terminated\]|[^\]]*\bUND_ERR_(?:HEADERS|BODY)_TIMEOUT)/,
      live: true,
    },
    // A stream cut mid-answer (recorded drop): `Error when talking to Gemini API Full report available
    // at: <path> TypeError: terminated`, then the cause's `SocketError: other side closed` and exit 1
    // (a field review: exit_nonzero, restarted at once, the `[cause]:` line as lastError).
    {
      class: "network",
      pattern: /Error when talking to Gemini API\b.*\bTypeError: terminated\b|\bSocketError: other side closed\b/,
      says: /Error when talking to Gemini API|SocketError: other side closed/,
      hint: "its connection to the API closed in the middle of the answer",
    },
    // undici's own timeouts (60 s for headers, 300 s between chunks) once its retries are spent.
    {
      class: "network",
      pattern:
        /fetch failed|ECONNREFUSED|ENOTFOUND|ETIMEDOUT|UND_ERR_(?:HEADERS|BODY)_TIMEOUT|\[API Error: terminated\]/i,
    },
    // Not a dumped error object's `  status: 503` row on its own (no words in it): the `Attempt 8 failed
    // with status 503 … "message":"The model is overloaded…"` line above it says what happened.
    {
      class: "network",
      pattern:
        /^(?!\s*status:\s*50\d,?\s*$).*(?:\bstatus:?\s*50[0-9]\b|"code":\s*50[0-9]|\bUNAVAILABLE\b|model is overloaded)/i,
    },
    // ... and that row when it is all there is.
    { class: "network", pattern: /^\s*status:\s*50\d,?\s*$/ },
  ],
  streamErrorCodes: {
    FatalAuthenticationError: "auth",
    FatalConfigError: "config",
    FatalInputError: "config",
    RESOURCE_EXHAUSTED: "rate_limit",
  },
  titles: [
    { pattern: /✋\s*Action Required/i, means: "action_required" },
    { pattern: /✦\s*Working/i, means: "working" },
    { pattern: /◇\s*Ready/i, means: "ready" },
  ],
  busy: [/\(esc to cancel,\s*\d+\s*[smh]/i],
  composer: [/^\s*[│┃]?\s*>\s+Type your message/i],
  // A tool's output is drawn in its tool box, in the default ink like gemini's own words (a field
  // probe, 0.61: a failed shell call printing `[API Error: You exceeded your current quota…]`).
  toolRows: geminiToolRows,
  // With `-i <prompt>` gemini 0.61 draws its ready screen (`◇  Ready` title, composer) ~1.2 s before it
  // starts that prompt (recorded tui-toolfail-*: Ready at 4.56 s, Working at 5.79 s): read as a wait,
  // an embedder typed its next message into a TUI about to begin its first turn (a field probe).
  firstTurnPrompt: (args) => {
    const at = args.findIndex((a) => a === "-i" || a === "--prompt-interactive");
    if (at >= 0 && at + 1 < args.length) return args[at + 1] as string;
    return args.find((a) => a.startsWith("--prompt-interactive="))?.slice("--prompt-interactive=".length) ?? null;
  },
  // Its composer took text and Enter written together for a paste and kept the text (live, 0.61):
  // the Enter goes after a pause, as for codex.
  submitDelayMs: 800,
  questions: [],
  // Its own retries of a quota it waits out, in two lines (`-p`; its TUI shows nothing, its telemetry
  // records each failed call): `Attempt 1 failed: You exceeded your current quota… rate-limits.`, then
  // `Suggested retry after 5s.. Retrying after 5739ms...`. Once spent, the second line ends `Max
  // attempts reached` instead: no notice, the quota rule judges the first line (its router gives up
  // after 5 attempts, the model call after 10). Not its 503 form (`Attempt 1 failed with status 503.
  // Retrying with backoff...`), left to its own retries as before.
  retryNotice:
    /^\s*Attempt (?<attempt>\d+) failed: (?<error>.+?)\s*(?:Suggested retry after \S+?\s*)?Retrying after (?<delay>\d+\s*ms)\b/,
  // (A 503's spent retries fit on one line: `Attempt 5 failed: … Max attempts reached`.)
  retryNoticeHead: /^\s*Attempt \d+ failed: (?!.*\bMax attempts reached)/,
  retriesReported: retries429,
  // Its TUI retries a 429 that never ends for ever (recorded tui-rate-429-long: 43 calls in 10 minutes,
  // in rounds of 5, nothing but its spinner on screen); `-p` gives its model call up after 10 attempts
  // (`Max attempts reached`): the TUI's tenth failed call of one turn is that limit.
  reportedRetryLimit: 10,
  // A model the API does not have, as its telemetry records it (`models/<m> is not found for API
  // version v1beta…`, 404 NOT_FOUND): config, as the one-shot's exit. Not at the turn's first failed
  // call, which may be its router's (`-p` goes on with its main model without it); its TUI calls that
  // model again at once, without end (a field review: 41k calls in 4 minutes, the session healthy).
  failsWhenRepeated: [{ class: "config", pattern: /\bmodels\/[^\s"]+ is not found for API version\b/ }],
  // Its own retries of one turn stay under this: 15 failed calls recorded in refused and tui-refused
  // (its router's, then 10 of its model's, over 5 minutes); the hot loop above passed it in 0.2 s.
  reportedErrorLimit: 30,
  // Its start-up notes (0.61), printed before every run: never why one ended.
  // Its optional local Gemma router (settings `experimental.gemmaModelRouter`, autoStartServer): the
  // TUI starts LiteRT's `lit.<platform> serve --port=9379` detached, and every gemini that finds the
  // port answering uses it (0.61.0's bundle; a review saw one session's kill end it under another).
  sharedHelpers: [/\blit\.(?:linux|macos|windows)_\w+(?:\.exe)? serve\b/],
  chatter: [
    /^YOLO mode is enabled\b/,
    /^The 'metricReader' option is deprecated\b/,
    /^Ripgrep is not available\b/,
    /^\[STARTUP\]/,
    /^shutdown may only be called once per \w+Provider$/,
  ],
  // Headless only when `-p`/`--prompt` is its own word; its start-up alone took 20-50 s when recorded.
  oneShot: (args) => args.includes("-p") || args.includes("--prompt"),
};
