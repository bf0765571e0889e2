/**
 * claude-code (2.1) as it behaves in the field: exit 1 for every failure with the error on
 * stdout; a TUI that shows auth and API errors and keeps running; a folder-trust menu; a busy
 * line `✻ Thinking… (12s · esc to interrupt)`. See docs/agents.md.
 */
import { warmInk } from "./row-ink.js";
import { claudeToolRows } from "./tool-rows.js";
import type { AgentProfile } from "./types.js";

export const claude: AgentProfile = {
  name: "claude",
  exitCodes: {},
  failures: [
    { class: "auth", pattern: /Not logged in\s*·\s*Please run \/login/i, live: true },
    { class: "auth", pattern: /Invalid API key\s*·\s*(?:Fix external API key|Please run \/login)/i, live: true },
    { class: "auth", pattern: /API Error:\s*40[13]\b.*(?:authentication|permission|invalid.*key)/i, live: true },
    { class: "auth", pattern: /OAuth token (?:has )?expired|authentication_error|Invalid API key/i },
    { class: "auth", pattern: /Credit balance is too low/i, live: true },
    { class: "config", pattern: /cannot be used with root\/sudo privileges/i },
    // Its trust dialog answered "No, exit" (the highlighted choice: a bare Enter): it exits 1 and asks
    // the same again on every rerun (live, test/agents/answers.live.ts: restarted into the question).
    { class: "trust", pattern: /Claude Code didn['’]t start because this folder isn['’]t trusted/i },
    // A model the API does not have, mid-session (a field review, 2.1.332: `● There's an issue with the
    // selected model (claude-opus-5-5). It may not exist…`, then it waits at its composer): live, at the
    // start of its row only; it had stalled and been restarted, the conversation lost, lastError null.
    { class: "config", pattern: /^\W{0,4}There's an issue with the selected model\b/i, live: true },
    { class: "config", pattern: /There's an issue with the selected model|model: .* (?:not found|does not exist)/i },
    // Live only as claude says it, at the start of its line ("Prompt is too long · the request is ~215843
    // tokens", after a `⎿`/`●` mark): an answer that mentions it ("claude returns 'Prompt is too long'
    // when…") ended a healthy TUI run as context (a field review). Anywhere in the line at the exit.
    { class: "context", pattern: /^\W{0,4}Prompt is too long\b/i, live: true },
    { class: "context", pattern: /Prompt is too long/i },
    // Its auto-compact could not make room (a field review, 2.1.332: `✻ Compacting conversation…`, then
    // `⎿  Context limit reached · /compact or /clear to continue` and its composer): live, as claude
    // says it at the start of its row; it had stalled and been restarted as stall_timeout.
    {
      class: "context",
      pattern: /^\W{0,4}Context limit reached\s*·\s*\/compact or \/clear to continue\b/i,
      live: true,
    },
    { class: "context", pattern: /context (?:window|length) (?:exceeded|exhausted)/i },
    { class: "rate_limit", pattern: /API Error:\s*Request rejected \(429\)/i, live: true },
    // The TUI retries a plan's limit 10 times (~3 min) on its busy line, with the reset in brackets:
    // `✻ 5-hour limit reached · retrying in 1s (2:18pm) · attempt 1/10`. Retries cannot outlast a reset
    // an hour away, and their last words name no reset (`API Error: Request rejected (429)`): judged
    // here, the wait is until the reset, not a default after which each rerun spent 3 minutes again.
    {
      class: "rate_limit",
      pattern: /\blimit reached\s*·\s*retrying in\b/i,
      live: true,
      onRetryNotice: true,
      resetAt: /\((\d{1,2}(?::\d{2})?\s*[ap]m)\)/i,
    },
    { class: "rate_limit", pattern: /You['’]ve hit your (?:[\w-]+ )?limit/i, live: true },
    { class: "rate_limit", pattern: /API Error:\s*429\b/i, live: true },
    // The API's error type alone is what a tool's output shows too (an agent testing its own API client),
    // which for a failed tool may be in claude's error colour (not recorded): at the exit only.
    { class: "rate_limit", pattern: /rate_limit_error/i },
    // The TUI's own words once its retries are spent (10 over ~3 min; it then waits at "Resend your
    // message to try again"): live, or the idle TUI would be restarted as a stall, its error unsaid.
    {
      class: "network",
      pattern: /^[^\w{"]{0,3}API Error:\s*(?:5\d\d|Overloaded)\b.*\bserver-side issue\b/i,
      live: true,
    },
    // The same once its retries of an unreachable API are spent (recorded tui-refused: `● API Error:
    // Connection refused — a firewall or proxy may be blocking it (ECONNREFUSED)`, then it waits).
    {
      class: "network",
      pattern:
        /^[^\w{"]{0,3}API Error:\s*(?:Connection (?:error|refused)|Unable to connect|Request timed out|Stream idle timeout)\b/i,
      live: true,
    },
    // Its stream watchdog's last word after its retries (`- partial response received`, `- no chunks received`).
    {
      class: "network",
      pattern: /API Error:\s*(?:Connection error|Request timed out|Stream idle timeout)|Unable to connect to API/i,
    },
    { class: "network", pattern: /API Error:\s*(?:5\d\d|Overloaded)\b|overloaded_error/i },
    // A first run (no onboarding in its config) checks api.anthropic.com itself, whatever
    // ANTHROPIC_BASE_URL says, and exits 1 when it cannot reach it (behind a gateway, offline;
    // recorded tui-first-run: `Failed to connect to api.anthropic.com: EAI_AGAIN`).
    { class: "network", pattern: /Failed to connect to api\.anthropic\.com\b|Unable to connect to Anthropic services/ },
  ],
  // stream-json: an assistant message of a failed call carries `"error": "<code>"`.
  streamErrorCodes: {
    authentication_failed: "auth",
    billing_error: "auth",
    rate_limit: "rate_limit",
    invalid_request: "config",
    server_error: "network",
  },
  titles: [],
  busy: [/\b(?:esc|ctrl\+c) to interrupt\b/i],
  // The tool call's bullet blinks under "Do you want to proceed?" (live claude/tui-approval, 2.1.332).
  blinking: [/^●(?=\s)/],
  // Its spinner line: a glyph, a verb with an ellipsis, then the clock in brackets (2.1.332 recorded).
  ticking: [/^\s*[·✢✳✶✻✽*]\s+\S[^(]*…\s*\(\d/],
  // "? for shortcuts" is shown under an empty composer while claude is idle; 2.1.332 in auto mode
  // shows the footer "⏵⏵ auto mode on (shift+tab to cycle)" instead, and its empty prompt line `❯`
  // between two rules is what says it waits (a menu's `❯` has a choice after it).
  // After a failed turn its empty composer shows a dim placeholder, the cursor on its first letter:
  // `❯ Once fixed, resend your message` (recorded tui-context, tui-auth-401; a field review's c-model,
  // c-ctx): it waits for the next message all the same.
  composer: [/^\s*\?\s+for shortcuts\b/, /^\s*❯\s*$/, /^\s*❯\s+Once fixed, resend your message\s*$/],
  questions: [],
  // Its own errors are in its theme's error and warning colours (2.1.332 recorded: `⎿  Invalid API key`
  // #ff6b80, `● API Error: …` #ffc107, the busy line's retry #ff6b80); the model's answer is in the
  // default foreground after a white `●`, a tool's output grey: an answer that quotes claude's error
  // (`● API Error: Request rejected (429)`) is not claude failing (test/claude-own-ink.test.ts).
  ownInk: warmInk,
  // With `--verbose` a failed tool call's output is redrawn in that same error colour, under
  // `⎿  Error: Exit code 1` (a field probe, 2.1.332): a tool call's rows are not claude's words.
  toolRows: claudeToolRows,
  // Its own retries as text: `Authentication failed · retrying in 38s · attempt 7 of 10` (`-p`) and
  // `✻ 529 Overloaded · retrying in 17s · attempt 6/10` (the TUI's busy line; a plan's limit also
  // brackets its reset: `… retrying in 1s (2:18pm) · attempt 1/10`). Not a stream's JSON line. A
  // stream that stopped (no event for ~1 min) shows a countdown to its watchdog's retry, no count:
  // `✻ Waiting for API response · will retry in 4m 2s · check your network` (recorded tui-hang); a
  // retry under way, no wait: `✻ API error · retrying… · attempt 1/10` (tui-mute, for 5 minutes).
  retryNotice:
    /^\s*(?:[✻✶✳✢✽·*]\s*)?(?<error>[^\s{·][^·{}]{0,79}?)\s*·\s*(?:(?:retrying|will retry) in (?<delay>\d+(?:\.\d+)?\s*[hms](?:\s+\d+(?:\.\d+)?\s*[hms]){0,2})\b(?:\s*\([^)]*\))?|retrying…)(?:\s*·\s*attempt (?<attempt>\d+)(?:\s*(?:\/|of)\s*(?<of>\d+))?)?/i,
  // `-p` text mode prints nothing until the answer is complete (58 s of silence recorded in slow-text).
  oneShot: (args) => args.includes("-p") || args.includes("--print"),
  // 2.1.332 takes a write of 63 characters or more for a paste, and an Enter in the same write stays in
  // the pasted text: a long prompt sat unsent in its composer, the session went stalled and was
  // restarted (a soak; test/agents/input.live.ts types a long one). Enter on its own write, later.
  submitDelayMs: 800,
};
