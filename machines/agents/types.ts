/**
 * What the conductor knows about an agent CLI, as data: how it fails (exit codes, screen text,
 * structured stream events), what its window title means, how it asks questions and how it
 * looks while busy. Pure types: no Node imports (machines/ stays portable).
 */

/**
 * Why a run failed, as far as the CLI's own words tell. Terminal classes cannot be fixed by
 * running the same command again (a missing login, an untrusted folder, a bad config, a prompt
 * that does not fit): the session ends after one run. The others are waited out or backed off.
 */
export type FailureClass = "auth" | "trust" | "config" | "context" | "rate_limit" | "network" | "crash";

export const TERMINAL_CLASSES: ReadonlySet<FailureClass> = new Set<FailureClass>([
  "auth",
  "trust",
  "config",
  "context",
]);

export interface FailureRule {
  readonly class: FailureClass;
  /** Tested against each ANSI-free line (screen lines, recent output lines, stream error messages). */
  readonly pattern: RegExp;
  /**
   * Also judged while the CLI still runs: a TUI that shows this and waits (claude's "Invalid API
   * key", gemini's quota text above its spinner) is failed without waiting for an exit. Only for
   * the CLI's own UI wording: an agent quoting "401 Unauthorized" from a test log must not count.
   */
  readonly live?: boolean;
  /**
   * A live rule judged on the CLI's own retry notice too (judgeScreen skips notices with retries left):
   * claude's plan limit, whose 10 retries cannot outlast a reset an hour away.
   */
  readonly onRetryNotice?: boolean;
  /**
   * The class when the launcher found no login for the CLI (`ChildSpec.loggedOut`), with what to
   * do: codex offline and logged out waits "for network" for ever, and no network will let it in.
   */
  readonly whenLoggedOut?: { readonly class: FailureClass; readonly hint: string };
  /**
   * When the CLI names no reset for this limit, when it is known to reset, in words the retry-hint
   * reader understands ("resets at 12am (America/Los_Angeles)"). A reset the CLI printed wins.
   */
  readonly resetHint?: string;
  /**
   * Where this rule's own line names the limit's reset (group 1, a clock time: claude's TUI
   * `5-hour limit reached · retrying in 1s (2:18pm)`). The line's other numbers are then no reset
   * (its `retrying in 1s` is the CLI's next try): without a match the rule gives no wait of its own.
   */
  readonly resetAt?: RegExp;
  /**
   * The words of the matched line that say it (its match), when the line wraps them in more (codex's
   * `Error: account/read failed: account/read failed: Your access token could not be refreshed… (code
   * -32603)`): `lastError` is that sentence. Unset: the line's message (judge.ts `messageIn`).
   */
  readonly says?: RegExp;
  /** What to do about it, put after the CLI's words in `lastError` when they do not say (a billing error). */
  readonly hint?: string;
}

/** What a window title (OSC 0/2) says about the TUI. */
export type TitleMeaning = "ready" | "working" | "action_required";

export interface TitleRule {
  readonly pattern: RegExp;
  readonly means: TitleMeaning;
}

export interface AgentProfile {
  /** `claude`, `codex`, `gemini`, `command`. */
  readonly name: string;
  /** Exit codes that say the class by themselves (gemini: 41 auth, 55 untrusted folder). */
  readonly exitCodes: Readonly<Record<number, FailureClass>>;
  /** Screen/output/stream text, most specific first: the first rule that matches a line wins. */
  readonly failures: readonly FailureRule[];
  /** Structured error codes in the CLI's stream-json events (`"error": "rate_limit"`) → class. */
  readonly streamErrorCodes: Readonly<Record<string, FailureClass>>;
  readonly titles: readonly TitleRule[];
  /**
   * A busy spinner line (`✻ Thinking… (12s · esc to interrupt)`). While one is on screen the
   * agent is working, not asking; it counts as progress only while its text (counter) advances.
   */
  readonly busy: readonly RegExp[];
  /**
   * Marks the TUI blinks while it waits (claude's `●` before a tool call that asks for permission,
   * on and off every ~0.6 s): each match counts as blank in the progress key, so a blink is no
   * progress and the question under it settles.
   */
  readonly blinking?: readonly RegExp[];
  /**
   * Spinner lines that are not `busy` lines but carry the turn's clock (claude's `✻ Synthesizing…
   * (28s · ↓ 5 tokens)`; its busy mark is the footer's `esc to interrupt`): their glyph and counter
   * are left out of the content key, as a busy line's are (the busy stall, `busyStallMs`).
   */
  readonly ticking?: readonly RegExp[];
  /** The idle composer (codex's `›` line): the agent waits for the next instruction. */
  readonly composer: readonly RegExp[];
  /**
   * Whether a composer on screen takes input yet, by the window title and the lines under the
   * composer. codex draws its composer ~0.4 s after start and takes input only ~8 s later, when it
   * sets its title and adds its status line (measured): what is typed before is lost. Unset: a
   * composer on screen is ready.
   */
  readonly composerReady?: (title: string | null, below: readonly string[]) => boolean;
  /**
   * Whether a TUI row drawn in this ink (agents/row-ink.ts) can be the CLI's own words: its live
   * failure rules read only those (judgeScreen). Unset, or a screen without inks: every row.
   */
  readonly ownInk?: (ink: number) => boolean;
  /**
   * The rows with those of a tool call and its output blanked (kept as "", row for row): the model's
   * command and the tool's words, which its live failure rules do not read (agents/tool-rows.ts).
   */
  readonly toolRows?: (rows: readonly string[]) => readonly string[];
  /**
   * The prompt the argv (without argv[0]) gives the TUI to run as its first turn (gemini `-i <prompt>`),
   * else null: its ready composer is no wait until that turn has begun (session.judgement.ts).
   */
  readonly firstTurnPrompt?: (args: readonly string[]) => string | null;
  /** Extra prompt-line patterns for the bottom of the screen, on top of the built-in ones. */
  readonly questions: readonly { readonly name: string; readonly regex: RegExp }[];
  /**
   * The argv (without argv[0]) is a headless one-shot run (`claude -p`, `codex exec`, `gemini -p`):
   * it may print nothing until it is done, so no start-up timeout applies (maxRunMs bounds it).
   */
  readonly oneShot: (args: readonly string[], argv0?: string) => boolean;
  /**
   * Typed input (`sendInput`) is the text, then Enter this long after it: a TUI that takes a fast
   * burst for a paste drops an Enter that comes with the text (codex: under 0.5 s; gemini; claude: a
   * write of 63 characters or more). Unset: at once.
   */
  readonly submitDelayMs?: number;
  /**
   * A retry the CLI announces as text on its screen (retry-notice.ts), a line that says "retrying in"
   * or "Reconnecting...", with named groups `error` (else the `└` row under it),
   * `attempt` and optionally `delay` (seconds) and `of`. Unset: its retries are not read from the screen.
   */
  readonly retryNotice?: RegExp;
  /**
   * Its notice `N/M` announces the retry it is about to make, so `M/M` still has a call to come and
   * only what it prints after that call is its verdict (codex: `Reconnecting... 1/5` … `5/5` are six
   * requests to the API, recorded rate-429). Unset: `M/M` is its last try, and what it says is judged.
   */
  readonly noticeBeforeRetry?: boolean;
  /**
   * A CLI whose retry notice takes two lines (gemini 0.61: `Attempt 1 failed: <error>` and then
   * `Suggested retry after 5s.. Retrying after 5739ms...`): `retryNotice` is also read on a line
   * joined with the next, and a line matching this head that is the last one read yet is no word of
   * the CLI's until its second line says whether it retries (a pty may hand the two over apart).
   */
  readonly retryNoticeHead?: RegExp;
  /**
   * An API error in the CLI's telemetry (judge.ts `judgeReportedError`) that the CLI retries by
   * itself (gemini: a 429 whose quota it waits out, up to its own bound): no verdict, a retry of its
   * own; a failure once it says it gave up. Unset: judged by the live rules.
   */
  readonly retriesReported?: (report: { status: number | null; message: string }) => boolean;
  /**
   * The most failed calls of one turn the CLI may retry by itself (`retriesReported`) before the run
   * counts as limited: as many as its one-shot tries before it gives up. gemini 0.61's TUI never
   * gives up on a 429 that does not end (recorded: 43 calls in 10 minutes), so without a bound its
   * spinner alone ticks until the busy stall, and a stall does not cool a pool's account. Unset: no bound.
   */
  readonly reportedRetryLimit?: number;
  /**
   * Failed calls its telemetry reports that end the run once the same turn failed a call before
   * (`judgeReportedError`): the first may be one the run goes on without (gemini's router, a model of
   * its own choosing), not a second. Judged with the class and words of the rule that matches.
   */
  readonly failsWhenRepeated?: readonly FailureRule[];
  /**
   * The most failed calls of one turn, of any kind, its telemetry may report before the run counts as
   * failed (the class of the rule its words match, else network): a CLI that calls again at once
   * without end (a field review: gemini's TUI, 41k calls in 4 minutes) is no healthy run. Above what
   * its own retries take. Unset: no bound but `reportedRetryLimit`.
   */
  readonly reportedErrorLimit?: number;
  /**
   * Lines the CLI prints on its way that never say why a run ended (codex's `WARNING: proceeding, even
   * though we could not create PATH aliases…` at its start): no `lastError` of a run killed later.
   */
  readonly chatter?: readonly RegExp[];
  /**
   * Processes the CLI starts to serve all its instances on one home, matched on their command line
   * (codex's `codex app-server` daemon): never ended with the run that started them, which would take
   * every other session of that CLI down with it; the conductor's end ends them.
   */
  sharedHelpers?: readonly RegExp[];
}

/** A failure the profile recognised, with the CLI's own line (secrets not yet redacted). */
export interface FailureVerdict {
  class: FailureClass;
  /** The CLI's line that gave the verdict. */
  line: string;
  /** Where it was seen. */
  source: "exit_code" | "screen" | "output" | "stream" | "title" | "telemetry";
  /** Milliseconds until the limit resets (rate_limit only), when the CLI said. */
  retryAfterMs: number | null;
}

/** What kind of answer the agent waits for. */
export type QuestionKind = "trust" | "approval" | "menu" | "prompt" | "composer";

export interface Question {
  kind: QuestionKind;
  /** The question's text as shown ("Do you trust the files in this folder?"). */
  text: string;
  /** The menu's choices as shown ("1. Yes, proceed"), top to bottom; empty when free text. */
  choices: string[];
  /** The highlighted choice (its index in `choices`), when the menu marks one. */
  selected?: number;
  /** Which detector saw it (`menu`, `title:action_required`, `yes_no`, `custom:<regex>`…). */
  pattern: string;
}
