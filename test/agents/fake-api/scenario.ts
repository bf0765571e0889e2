/**
 * Scenarios of the fake API, chosen per request by the first path segment of the base URL the CLI
 * was given (`http://127.0.0.1:PORT/<scenario>/v1/messages`), so concurrent runs against one server
 * can each fail their own way. A trailing `-N` is the scenario's number (seconds).
 */
export const SCENARIOS = [
  "ok", // a short text answer
  "slow", // slow-N: the answer streams one word every 2 s for N seconds (default 40)
  "auth", // 401 invalid key, in the vendor's error shape
  "rate", // rate-N: 429 with retry-after N seconds (default 39)
  "usage", // the vendor's usage-limit / quota-exhausted answer, with a reset time
  "context", // 400 prompt / input too long, in the vendor's error shape
  "overloaded", // 529 (anthropic) / 500 (openai) / 503 (gemini)
  "model", // 404: the model the CLI asked for does not exist (a typo in --model), in the vendor's shape
  "tool", // asks for a shell tool call (to trigger an approval prompt), then answers; tool-N: N calls in one answer
  "hang", // the answer's stream starts (one word), then stops: no byte more, the connection held open
  "mute", // every model request is read and never answered: no status, no header, the connection held open
  "refused", // nothing listens where the base URL points: each connection is refused (a proxy or gateway down)
  // flaky-N: the first N model calls (per scenario segment and vendor, over the server's life) get the
  // `rate` scenario's 429 with a 5 s retry hint, the calls after them the `ok` answer: a per-minute
  // throttle the CLI's own retries get past. Cases run side by side must each use their own N.
  "flaky",
  // status-N: every model call gets HTTP N with the vendor's generic server-error body (502: a
  // gateway's HTML page, as nginx sends it): a backend down behind its proxy.
  "status",
  // drop: the answer's stream starts (one word), then the connection is cut (a proxy restart, a NAT
  // timeout): the socket closes without the stream's end.
  "drop",
  // say: the answer is the text the latest prompt's SAY#<n> picks (fake-api/say.ts: words that look like
  // the CLIs' own errors and questions), else the `ok` answer.
  "say",
  // toolfail-K: asks for one shell tool call whose command prints TOOL_FAIL_TEXTS[K] (tool-calls.ts) to
  // stdout and stderr and exits 1 (an agent running another CLI or an API client as a tool, which
  // fails), then, once the tool's result is back, answers TOOL_FAIL_DONE.
  "toolfail",
] as const;
// ok<N>then<scenario> (`ok1thenmodel`): the first N model calls (per segment and vendor, as `flaky`) get
// the `ok` answer, the calls after them the scenario: a session whose later turn fails (a field review's
// mid-session failures: a model gone, a context full after turns that worked).

/** `ok1thenmodel` → { okCalls: 1, after: "model" }; undefined for any other segment. */
export function parseThen(segment: string): { okCalls: number; after: string } | undefined {
  const m = /^ok(\d+)then([a-z]+(?:-\d+)?)$/.exec(segment);
  return m && parseScenario(m[2] as string) ? { okCalls: Number(m[1]), after: m[2] as string } : undefined;
}
export type ScenarioName = (typeof SCENARIOS)[number];

export interface Scenario {
  name: ScenarioName;
  /** slow: seconds of streaming; rate: retry-after seconds; status: the HTTP status. */
  seconds: number;
}

const DEFAULT_SECONDS: Partial<Record<ScenarioName, number>> = { slow: 40, rate: 39, flaky: 4, status: 503 };

/** How long a `drop` scenario's stream runs before its connection is cut (ms). */
export const DROP_AFTER_MS = 800;

/** The 429's retry hint of a `flaky` scenario's throttled calls (seconds). */
export const FLAKY_RETRY_SECONDS = 5;

/** `rate-39` → { name: "rate", seconds: 39 }; undefined when the segment names no scenario. */
export function parseScenario(segment: string): Scenario | undefined {
  const m = /^([a-z]+)(?:-(\d+))?$/.exec(segment);
  if (!m) return undefined;
  const name = m[1] as ScenarioName;
  if (!SCENARIOS.includes(name)) return undefined;
  return { name, seconds: m[2] ? Number(m[2]) : (DEFAULT_SECONDS[name] ?? 0) };
}

/** The answer every "ok" scenario gives, so recordings and tests can look for it on screen. */
export const OK_TEXT = "FAKE-API-OK: hello from the fake model.";

/** The one word the hang scenario streams before it stops. */
export const HANG_TEXT = "FAKE-API-HANG-START ";

/** Words the slow scenario streams, one per tick. */
export function slowWords(seconds: number, tickSeconds = 2): string[] {
  const n = Math.max(1, Math.ceil(seconds / tickSeconds));
  return Array.from({ length: n }, (_, i) => `word${i + 1} `).concat(["FAKE-API-SLOW-DONE."]);
}

/** The fixed "now" of usage-limit answers: one hour from the request, rounded to the minute. */
export function resetEpochSeconds(now = Date.now()): number {
  return Math.ceil((now + 3600_000) / 60_000) * 60;
}
