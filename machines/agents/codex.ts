/**
 * codex-cli (0.171): `ERROR: …` on stderr and exit 1; retries 429/401 itself (`Reconnecting...
 * 1/5`) before giving up; refuses a folder outside a git repo unless its bypass flag or `--skip-git-repo-check` is given; a TUI with an idle composer `›`
 * and an `[ ! ] Action Required` window title. See docs/agents.md.
 */
import { warmInk } from "./row-ink.js";
import type { AgentProfile } from "./types.js";

/**
 * codex 0.171's root options that take a value (`codex --help`): they may come before the
 * subcommand (`codex -m o3 exec …`, `codex -c model=o3 exec …` run exec), so their values are no
 * subcommand. `-i` takes one or more: `codex -i a.png exec` is the TUI with an image named exec.
 */
const VALUED = new Set([
  ...["-c", "--config", "-m", "--model", "-p", "--profile", "-s", "--sandbox", "-a", "--ask-for-approval"],
  ...["-C", "--cd", "--add-dir", "--enable", "--disable", "--remote", "--remote-auth-token-env", "--local-provider"],
]);
/** The word that names codex when a wrapper starts it: `npx codex`, `npx @openai/codex`, `node …/codex.js`. */
const CODEX_WORD = /(?:^|\/)codex(?:\.[cm]?js)?$/;

/** The subcommand in codex's arguments, read as codex reads them: after its root options. */
function subcommandAfterOptions(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === "--") return undefined; // a prompt follows: the TUI's
    if (a === "-i" || a === "--image") {
      while (i + 1 < args.length && !(args[i + 1] as string).startsWith("-")) i++;
    } else if (VALUED.has(a)) i++;
    else if (!a.startsWith("-")) return a;
  }
  return undefined;
}

/**
 * codex's subcommand (`exec`, `e`, `resume`…, or the TUI's prompt) in `args` (the argv after
 * `argv0`). Started by a wrapper (`npx codex …`, `pnpm exec codex …`, `env X=1 codex …`,
 * `npx -p @openai/codex codex …`; a `command` session judged as codex), codex's own arguments are
 * those after the last word naming it before them: the wrapper's own `exec` is not codex's.
 */
export function codexSubcommand(args: readonly string[], argv0 = "codex"): string | undefined {
  let from = 0;
  if (!CODEX_WORD.test(argv0)) {
    const named = args.findIndex((a) => CODEX_WORD.test(a));
    if (named < 0) return subcommandAfterOptions(args); // a script of its own name, as a preset's `bin`
    from = named + 1;
    while (from < args.length && CODEX_WORD.test(args[from] as string)) from++;
  }
  return subcommandAfterOptions(args.slice(from));
}

/** A server error's words: its status and message, without a url or an HTML page after them. */
const SERVER_ERROR_WORDS =
  /(?:unexpected status 5\d\d|stream disconnected before completion)[^<]*?(?=[:,]?\s*(?:url:|for url\b|<)|$)/;

export const codex: AgentProfile = {
  name: "codex",
  exitCodes: {},
  failures: [
    {
      class: "trust",
      pattern: /Not inside a trusted directory and --skip-git-repo-check was not specified/i,
      live: true,
    },
    { class: "auth", pattern: /unexpected status 401\b|Incorrect API key provided|invalid_api_key/i, live: true },
    // Refused for good after its retries (`Reconnecting... 5/5 (unexpected status 403 Forbidden: Country,
    // region, or territory not supported…)`, then the same without the notice): no rerun changes where
    // the account is. A field review saw it restarted 3 times as exit_nonzero.
    {
      class: "auth",
      pattern:
        /unexpected status 403\b|unsupported_country_region_territory|Country, region, or territory not supported/i,
      live: true,
      // Its last reconnect's notice (`Reconnecting... 5/5 (…)`) is judged too: its words, not the notice's.
      says: /unexpected status 403[^)]*/i,
    },
    // A 429 `insufficient_quota`: the account's credits are spent. codex says `Quota exceeded. Check your
    // plan and billing details.` and does not retry; a wait does not help (a field review: taken for a
    // rate limit, waited for and rerun 3 times, dead as rate_limited). Terminal, with what to do.
    {
      class: "auth",
      pattern: /Quota exceeded\. Check your plan and billing details|insufficient_quota/i,
      live: true,
      hint: "the API account's credits or spend limit are used up: add credits or raise the limit in its billing settings, or use another account; a rerun or a wait will not help",
    },
    { class: "auth", pattern: /\bcodex login\b|not logged in/i },
    // A ChatGPT login whose refresh token was used already (another codex refreshed it) or expired: no
    // rerun signs in again. The TUI exits 1 on `Error: account/read failed: account/read failed: Your
    // access token could not be refreshed because your refresh token was already used. Please log out
    // and sign in again. (code -32603)` and a Rust backtrace; `codex exec --json` says it in its
    // `error`/`turn.failed` events (a field review: the TUI was restarted 3 times as exit_nonzero).
    {
      class: "auth",
      pattern: /access token could not be refreshed|refresh token (?:was already used|has expired|is invalid)/i,
      says: /Your (?:access|refresh) token\b[^(]*[^\s(]/,
    },
    // A model the API does not have: its TUI's `■` error cell, then its composer (a field review, 0.171:
    // `■ The model \`gpt-fake\` does not exist or you do not have access to it.`; it sat at input_wait,
    // lastError null). Live only as its own cell.
    { class: "config", pattern: /^■\s*The model\b.*\bdoes not exist or you do not have access to it\b/, live: true },
    {
      class: "config",
      pattern: /Error loading config|unknown variant|model_not_found|does not exist or you do not have access/i,
    },
    {
      class: "context",
      pattern: /ran out of room in the model['’]s context window|context_length_exceeded/i,
      live: true,
    },
    { class: "rate_limit", pattern: /You['’]ve hit your usage limit/i, live: true },
    { class: "rate_limit", pattern: /exceeded retry limit, last status: 429|usage_limit_reached/i, live: true },
    // The bare status is also what an answer says about someone else's API (a field review: "the server
    // replied 429 Too Many Requests, so I added a backoff" restarted a healthy run): at the exit only.
    { class: "rate_limit", pattern: /429 Too Many Requests/i },
    // Offline, codex waits for the network forever instead of failing. Logged out (recorded: nokey),
    // it says the same: only the launcher's login check tells the two apart.
    {
      class: "network",
      pattern: /Reconnecting\.\.\.\s*waiting for network/i,
      live: true,
      whenLoggedOut: {
        class: "auth",
        hint: "codex has no login here: no OPENAI_API_KEY or CODEX_API_KEY, no auth.json in CODEX_HOME; run `codex login`",
      },
    },
    // Its TUI after its own retries (`• Reconnecting... 5/5 …` with the error under it, recorded
    // codex/tui-overloaded): the turn ends on a `■` error cell and the composer waits. Live, or an idle
    // TUI would wait for an answer; not the `└` detail under a reconnect, which is still retrying.
    { class: "network", pattern: /^■\s*We['’]re currently experiencing high demand/, live: true },
    // The same cell for a server's own error or a cut connection (recorded tui-status-503: `■ unexpected
    // status 503 Service Unavailable: …, url:…`): a field review saw it read as a question at the
    // composer, then dead `input_wait_timeout` with no lastError. Its words without the url.
    {
      class: "network",
      pattern: /^■\s*(?:unexpected status 5\d\d\b|stream disconnected before completion)/,
      live: true,
      says: SERVER_ERROR_WORDS,
    },
    // Its TUI lost its app-server (the shared `codex app-server` daemon ended: a review saw it go with
    // another session's run) and gave up reconnecting after ~2 min (0.171: `■ Automatic reconnect
    // could not restore this session. …`, `• Reconnect failed — check the endpoint, then relaunch`):
    // it never answers again, and it sat `healthy`. A new codex starts a new one.
    {
      class: "network",
      pattern: /^■\s*Automatic reconnect (?:could not restore this session|timed out while connecting to the server)/,
      live: true,
    },
    { class: "network", pattern: /stream disconnected before completion|error sending request/i },
    // `codex exec`'s `ERROR: unexpected status 502 Bad Gateway: <html>…` (recorded status-502): a
    // gateway's page is no lastError (a field review: exit_nonzero, the whole HTML as its error).
    { class: "network", pattern: /unexpected status 5\d\d\b/, says: SERVER_ERROR_WORDS },
    { class: "network", pattern: /experiencing high demand|server_is_overloaded|slow_down/i },
  ],
  // `codex exec --json`: {"type":"error"|"turn.failed", …} with a message, sometimes a code.
  streamErrorCodes: {
    usage_limit_reached: "rate_limit",
    usage_limit_exceeded: "rate_limit",
    rate_limit_exceeded: "rate_limit",
    context_length_exceeded: "context",
    invalid_api_key: "auth",
  },
  // Blinks between `[ . ]` and `[ ! ]` while the approval waits: both mean the same.
  // A braille spinner in front of the title while a turn runs: working, even when the screen stops
  // (a stream that stopped: minutes without a byte, its composer taking the next message meanwhile).
  titles: [
    { pattern: /\[\s*[!.]\s*\]\s*Action Required/i, means: "action_required" },
    { pattern: /^\s*[\u2800-\u28ff]/, means: "working" },
  ],
  busy: [/\b(?:esc|ctrl\+c) to interrupt\b/i],
  composer: [/^\s*›(?:\s|$)/],
  // 0.171 draws the composer at once but takes input ~8 s later, when it sets its title (the folder's
  // name, or the last prompt; a spinner glyph in front while it works) and draws its status line
  // under the composer (`gpt-5 default · ~/repo`): either says it is ready, so a title turned off
  // (its /title command) still leaves the status line. test/agents/input.live.ts types into the
  // composer the moment the session reports it.
  composerReady: (title, below) =>
    (title !== null && title.trim() !== "" && !/^\s*[\u2800-\u28ff]/.test(title)) ||
    below.some((l) => /\S \u00b7 \S/.test(l) && !/for shortcuts/.test(l)),
  // Its own errors are red (0.171 recorded: `exec`'s `ERROR:` in bold red, the TUI's `■` cell all red,
  // its warnings yellow); the model's words are in the default foreground (`exec`'s text, the TUI's
  // message under a dim `•`): an answer saying "You've hit your usage limit" is no failure of codex's
  // (a field review: a healthy `exec` was rerun three times and ended dead). `--json` events are read whole.
  ownInk: warmInk,
  questions: [],
  // `codex exec` (alias `e`) prints its header at once, then nothing during a generation (42 s recorded).
  oneShot: (args, argv0) => {
    const sub = codexSubcommand(args, argv0);
    return sub === "exec" || sub === "e";
  },
  // Its TUI's own retries: `• Reconnecting... 2/5 (7s • esc to interrupt)` (the time is how long the
  // turn has run, not a wait), what failed on the `└` row under it (retry-notice.ts). `codex exec`
  // prints `ERROR: Reconnecting... 1/5` alone (what failed unsaid): after a stream that stopped for
  // its 300 s idle timeout, five of them take 25 minutes (recorded hang).
  // A 429 it retries shows as `• Server is busy, reconnecting 1/5 (0s • esc to interrupt)` over
  // `└ Exceeded retry limit, last status: 429 Too Many Requests` (0.171, seen in a field review).
  retryNotice:
    /^\s*(?:•\s*(?:Server is busy, )?|ERROR:\s*(?=(?<error>Reconnecting)))[Rr]econnecting(?:\.\.\.)?\s*(?<attempt>\d+)\/(?<of>\d+)/,
  // `5/5` is a sixth request still to come (recorded rate-429: six 429s behind five notices): the
  // `└ Exceeded retry limit, last status: 429` under it is the fifth's, not the turn's end (a field
  // review: a TUI killed 30 ms before that sixth call, which the API had answered 200).
  noticeBeforeRetry: true,
  // Its composer takes an Enter less than 0.5 s after the text for part of a paste, and drops it
  // (field facts; test/agents/input.live.ts types through sendInput). 0.8 s leaves a margin for load.
  submitDelayMs: 800,
  // 0.171's TUI runs its app-server as a daemon every codex on that CODEX_HOME shares
  // (`codex app-server --listen unix://…`, `codex app-server daemon pid-update-loop`).
  sharedHelpers: [/\bcodex app-server\b/],
  // Its start-up warning in a CODEX_HOME under /tmp (a field review: a run OOM-killed later had it as lastError).
  chatter: [/^WARNING: proceeding, even though we could not create PATH aliases\b/],
};
