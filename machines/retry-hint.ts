/**
 * Rate-limit retry hints: "how long until this account may try again", read from an agent's output.
 *
 *   parseRetryHint(text, now?)  → milliseconds, or null when the text holds no hint
 *   findRetryHint(text, now?)   → { ms, match } (the matched words, for the event log), or null
 *
 * Understood (case-insensitive): "try again in 5 minutes", "retry after 30s", "Please retry in 39.5s",
 * "in 1h 30m" / "in 4 days 3 hours" after a trigger word, "Please wait 45 seconds", `Retry-After: 120`
 * (seconds, or an HTTP date), `retry_after_ms: 1500`, `"retryDelay": "39s"`, and wall-clock resets:
 * "resets at 14:00", "resets 2am", "try again at 3:05 PM", "reset at 5pm (America/New_York)", "… UTC"; the
 * field forms of issue 10: claude "resets 3pm", codex "try again at 2:21 AM.", gemini "Suggested retry
 * after 39s". A reset that is not today comes with its date before the clock: codex "try again at Dec
 * 6th, 2026 2:31 AM.", claude "resets Dec 10, 11:33am (UTC)".
 *
 * A number alone never counts: it needs a trigger word (try again, retry, wait, reset, available…)
 * and a time unit, so "retry 3 times", "wait for 2 workers" or "finished in 5 minutes" are not hints.
 * Wall-clock and HTTP-date hints need `now` (epoch ms): without it they are skipped, so this stays
 * pure. When the text holds several hints the last one wins: it is the agent's latest word.
 */

export interface RetryHint {
  ms: number;
  /** The words that gave the hint. */
  match: string;
}

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  msec: 1,
  msecs: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1_000,
  sec: 1_000,
  secs: 1_000,
  second: 1_000,
  seconds: 1_000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
};

// Longest alternatives first so "minutes" is not read as "m" + "inutes".
const UNIT = "(?:milliseconds?|msecs?|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d)";
const NUMBER = String.raw`\d+(?:\.\d+)?`;
/** One "<n> <unit>" part; the unit must end the word ("5 minutes", "30s", not "3 times"). */
const PART = String.raw`${NUMBER}\s*${UNIT}(?![a-z])`;
/** "1h 30m", "1h30m", "1 hour and 30 minutes", "2 minutes, 10 seconds". */
const DURATION = String.raw`${PART}(?:\s*(?:,|and)?\s*${PART})*`;
const FILLER = String.raw`(?:about|approximately|approx\.?|roughly|around|~|at least)\s*`;

/** Phrases that announce a wait; the connector word ("in", "after") is part of the trigger. */
const DURATION_TRIGGERS = [
  String.raw`try(?:ing)?\s+again\s+(?:in|after)`,
  String.raw`retry(?:ing)?\s+(?:again\s+)?(?:in|after)`,
  String.raw`wait(?:ing)?(?:\s+for)?`,
  String.raw`resets?\s+(?:in|after)`,
  String.raw`(?:available|back|usable|lifted|unblocked)(?:\s+again)?\s+in`,
  String.raw`cool(?:ing)?[- ]?down(?:\s+(?:of|for|ends\s+in))?`,
  // gemini's TerminalQuotaError for a login's plan: "Your quota will reset after 2h52m39s."
  String.raw`(?:limit|quota)\s+(?:will\s+)?(?:reset|refresh|renew)s?\s+(?:in|after)`,
];

const DURATION_RE = new RegExp(
  String.raw`\b(?:${DURATION_TRIGGERS.join("|")})\s*[:=]?\s*(?:${FILLER})?(${DURATION})`,
  "gi",
);

/** `Retry-After: 120`, `retry_after: 30`, `"retry-after-ms": 1500` (header or JSON field; seconds by default). */
const HEADER_SECONDS_RE = new RegExp(
  String.raw`\bretry[-_ ]?after(?<ms>[-_ ]?ms)?"?\s*[:=]\s*"?(?<n>${NUMBER})(?![\d.])(?:\s*(?<unit>${UNIT})(?![a-z]))?`,
  "gi",
);
/** `Retry-After: Wed, 21 Oct 2015 07:28:00 GMT`. */
const HEADER_DATE_RE =
  /\bretry[-_ ]?after\s*:\s*((?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,\s*\d{1,2}\s+[a-z]{3}\s+\d{4}\s+\d{2}:\d{2}:\d{2}\s+gmt)/gi;
/** Gemini's `"retryDelay": "39s"` / `retry_delay: 2.5s`. */
const RETRY_DELAY_RE = /\bretry[-_ ]?delay"?\s*[:=]\s*"?(\d+(?:\.\d+)?)\s*(ms|s)\b/gi;

const CLOCK = String.raw`(?<h>\d{1,2})(?::(?<min>\d{2}))?(?::(?<sec>\d{2}))?\s*(?<mer>am|pm|a\.m\.|p\.m\.)?`;
const ZONE = String.raw`(?:\s*\(?\s*(?<zone>utc|gmt|z|[A-Za-z]+\/[A-Za-z_]+(?:\/[A-Za-z_]+)?)\b\s*\)?)?`;
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const MONTH = String.raw`(?<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?`;
/** A reset not today names its day before the clock: codex "Dec 6th, 2026 ", claude "Dec 10, ". */
const DATE = String.raw`${MONTH}\s+(?<day>\d{1,2})(?:st|nd|rd|th)?(?![\d:])(?:(?:\s*,\s*|\s+)(?<year>\d{4})(?!\d))?(?:\s*,\s*|\s+)(?:at\s+)?`;
const CLOCK_TRIGGERS = [
  String.raw`resets?(?:\s+at)?`,
  String.raw`will\s+reset(?:\s+at)?`,
  String.raw`try(?:ing)?\s+again\s+at`,
  String.raw`retry\s+at`,
  String.raw`(?:available|back)(?:\s+again)?\s+at`,
];
const CLOCK_RE = new RegExp(
  String.raw`\b(?:${CLOCK_TRIGGERS.join("|")})\s+(?:${FILLER})?(?:${DATE})?${CLOCK}${ZONE}(?![\d:])`,
  "gi",
);

/** Milliseconds of a duration phrase like "1h 30m" or "2 minutes and 10 seconds". */
export function durationMs(text: string): number {
  const part = new RegExp(String.raw`(${NUMBER})\s*(${UNIT})(?![a-z])`, "gi");
  let total = 0;
  for (const m of text.matchAll(part)) total += Number(m[1]) * (UNIT_MS[(m[2] as string).toLowerCase()] ?? 0);
  return Math.round(total);
}

const DAY_MS = 86_400_000;

const mod = (a: number, b: number) => ((a % b) + b) % b;

/** How far `zone`'s wall clock is ahead of UTC at `t` (local time when undefined). */
function zoneOffsetMs(t: number, zone: string | undefined): number {
  if (zone === undefined) return -new Date(t).getTimezoneOffset() * 60_000;
  if (/^(utc|gmt|z)$/i.test(zone)) return 0;
  try {
    const parts = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    }).formatToParts(t);
    const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
    const wall = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
    return wall - (t - mod(t, 1000));
  } catch {
    return zoneOffsetMs(t, undefined); // unknown zone name: local time is the best guess
  }
}

type ResetGroups = Partial<Record<"h" | "min" | "sec" | "mer" | "zone" | "mon" | "day" | "year", string>>;

/** Milliseconds after midnight of the matched clock, or null when it is not a time ("resets 5", "13pm"). */
function timeOfDayMs(g: ResetGroups): number | null {
  let hour = Number(g.h);
  const minute = g.min === undefined ? 0 : Number(g.min);
  const second = g.sec === undefined ? 0 : Number(g.sec);
  const meridiem = g.mer?.toLowerCase().replace(/\./g, "");
  // "resets 5" (no minutes, no am/pm) is too vague to be a time.
  if (g.min === undefined && meridiem === undefined) return null;
  if (meridiem !== undefined) {
    if (hour < 1 || hour > 12) return null;
    hour = (hour % 12) + (meridiem === "pm" ? 12 : 0);
  }
  if (hour > 23 || minute > 59 || second > 59) return null;
  return ((hour * 60 + minute) * 60 + second) * 1000;
}

/**
 * The instant of a wall-clock date and time in `zone`, or NaN for a day the month lacks. The offset is
 * read again at the first guess, so a DST change between now and then is counted.
 */
function instantOf(year: number, month: number, day: number, tod: number, zone: string | undefined): number {
  if (day < 1 || day > new Date(Date.UTC(year, month + 1, 0)).getUTCDate()) return Number.NaN;
  const wall = Date.UTC(year, month, day) + tod;
  return wall - zoneOffsetMs(wall - zoneOffsetMs(wall, zone), zone);
}

/**
 * Milliseconds until the matched reset. A clock alone means its next occurrence (DST shifts on that
 * day are ignored: at most an hour off). A date without a year is taken in the year that puts it
 * nearest to now: "Jan 2" read on Dec 30 is next year's, while a stale "Dec 30" read on Jan 2 has
 * passed and must not become a wait of a year. A date passed means "now", as a passed HTTP date does.
 */
function untilReset(g: ResetGroups, now: number, defaultZone: string | undefined): number | null {
  const tod = timeOfDayMs(g);
  if (tod === null) return null;
  const zone = g.zone ?? defaultZone;
  if (g.mon === undefined) return mod(tod - mod(now + zoneOffsetMs(now, zone), DAY_MS), DAY_MS);
  const month = MONTHS.indexOf(g.mon.slice(0, 3).toLowerCase());
  const day = Number(g.day);
  let at: number;
  if (g.year !== undefined) at = instantOf(Number(g.year), month, day, tod, zone);
  else {
    const year = new Date(now + zoneOffsetMs(now, zone)).getUTCFullYear();
    const near = [year - 1, year, year + 1]
      .map((y) => instantOf(y, month, day, tod, zone))
      .filter((t) => Number.isFinite(t))
      .sort((a, b) => Math.abs(a - now) - Math.abs(b - now));
    at = near[0] ?? Number.NaN;
  }
  return Number.isFinite(at) ? Math.max(0, at - now) : null;
}

/** Every hint in `text`, with its position; the caller picks. */
function allHints(text: string, now: number | undefined, zone: string | undefined): { at: number; hint: RetryHint }[] {
  const out: { at: number; hint: RetryHint }[] = [];
  const add = (m: RegExpMatchArray, ms: number | null) => {
    if (ms !== null && Number.isFinite(ms) && ms >= 0)
      out.push({ at: m.index ?? 0, hint: { ms: Math.round(ms), match: m[0].trim() } });
  };
  for (const m of text.matchAll(DURATION_RE)) add(m, durationMs(m[1] as string));
  for (const m of text.matchAll(HEADER_SECONDS_RE)) {
    const unit = m.groups?.unit ? UNIT_MS[m.groups.unit.toLowerCase()] : m.groups?.ms ? 1 : 1000;
    add(m, Number(m.groups?.n) * (unit ?? 1000));
  }
  for (const m of text.matchAll(RETRY_DELAY_RE))
    add(m, Number(m[1]) * ((m[2] as string).toLowerCase() === "ms" ? 1 : 1000));
  if (now !== undefined) {
    for (const m of text.matchAll(HEADER_DATE_RE)) add(m, Math.max(0, Date.parse(m[1] as string) - now));
    for (const m of text.matchAll(CLOCK_RE)) add(m, untilReset(m.groups ?? {}, now, zone));
  }
  return out;
}

export interface RetryHintOptions {
  /**
   * IANA zone of a clock time that names none ("resets 3pm"): the zone the CLI printed in, i.e.
   * the conductor's. Undefined/null: the process's local zone. With `now` and a zone the result
   * is deterministic.
   */
  timeZone?: string | null | undefined;
}

/** The last retry hint in `text`, with the words that gave it. */
export function findRetryHint(text: string, now?: number | Date, opts: RetryHintOptions = {}): RetryHint | null {
  const t = now instanceof Date ? now.getTime() : now;
  // Typographic apostrophes ("You’ve") and NBSPs must not break a trigger phrase.
  const hints = allHints(text.replace(/[\u2018\u2019]/g, "'").replace(/\u00a0/g, " "), t, opts.timeZone ?? undefined);
  if (hints.length === 0) return null;
  hints.sort((a, b) => a.at - b.at);
  return (hints[hints.length - 1] as { hint: RetryHint }).hint;
}

/** Milliseconds to wait according to the last retry hint in `text`, or null. */
export function parseRetryHint(text: string, now?: number | Date, opts: RetryHintOptions = {}): number | null {
  return findRetryHint(text, now, opts)?.ms ?? null;
}
