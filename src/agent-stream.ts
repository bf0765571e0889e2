/**
 * Reads the JSON-lines stream a one-shot agent run prints (`output: "stream"`) and keeps what the
 * conductor needs from it: the agent's own session id (for `--resume <id>`), the last error it
 * reported, and the final result. Pure: bytes in, state out. Lines that are not JSON objects (a
 * CLI's warnings share the pty with its stream) are skipped; ANSI escapes before a line are dropped.
 *
 * Event shapes relied on (seen from the CLIs, versions in parentheses; recorded lines in
 * test/fixtures/agent-streams/):
 * - claude (claude-code 2.1.197, `-p --output-format stream-json --verbose`):
 *   `{"type":"system","subtype":"init","session_id":S,…}` first; then `assistant`/`user`/`stream_event`
 *   (partial messages) lines; last `{"type":"result","subtype":"success"|"error_…","is_error":B,
 *   "result":TEXT,"session_id":S,"duration_ms":N,"num_turns":N,"total_cost_usd":N,…}`. An API error
 *   is `is_error: true` with the message in `result` (and exit code 1).
 * - codex (codex-cli 0.171.0, `exec --json`): `{"type":"thread.started","thread_id":S}`,
 *   `{"type":"turn.started"}`, `{"type":"item.completed","item":{"type":"agent_message","text":T,…}}`
 *   (items of other types: reasoning, command_execution, error…), then `{"type":"turn.completed",
 *   "usage":{…}}` or `{"type":"turn.failed","error":{"message":M}}`; `{"type":"error","message":M}` for
 *   errors it may still recover from ("Reconnecting... 2/5 …").
 * - gemini (gemini-cli 0.61.0, `--output-format stream-json`): `{"type":"init","session_id":S,"model":M}`,
 *   `{"type":"message","role":"user"|"assistant","content":T,"delta":true}` (the answer arrives as
 *   assistant deltas), `tool_use`, `tool_result`, `{"type":"error","severity":"warning"|"error",
 *   "message":M}`, last `{"type":"result","status":"success"|"error","error":{"type":T,"message":M},
 *   "stats":{…}}`.
 */
import type { StreamFormat } from "./presets/types.js";

export interface AgentResult {
  /** The run reported success. */
  ok: boolean;
  /** The agent's final answer (claude `result`, codex's last agent message, gemini's last assistant text). */
  text: string;
  /** The CLI's own error message when `ok` is false. */
  error: string | null;
  /** The agent's conversation id, when the stream named it. */
  sessionId: string | null;
  durationMs?: number;
  numTurns?: number;
  costUsd?: number;
}

/**
 * A call the CLI retries by itself, as its stream announces it: claude's `api_retry` event (its 10
 * retries of a 529 take ~3 minutes, recorded in claude/overloaded-stream), codex's "Reconnecting... 2/5".
 */
export interface AgentRetry {
  /** Which retry this is (1 = the first one after the failed call). */
  attempt: number;
  /** How many the CLI will make, when it says. */
  of: number | null;
  /** How long it waits before this retry, when it says. */
  delayMs: number | null;
  /** The HTTP status that failed, when it says. */
  status: number | null;
  /** What failed, in the CLI's words (`overloaded`, `stream disconnected before completion: …`). */
  error: string;
}

export interface AgentStreamState {
  format: StreamFormat;
  /** JSON events parsed so far. */
  events: number;
  sessionId: string | null;
  /** The last error or warning the stream reported (may be recovered from). */
  lastError: string | null;
  /** The last retry the stream announced, and how many it announced in all. */
  retry: AgentRetry | null;
  retries: number;
  result: AgentResult | null;
}

/** One line longer than this is dropped (a runaway line must not hold the conductor's memory). */
const MAX_LINE = 16 * 1024 * 1024;
// CSI/OSC escapes a terminal-aware CLI may print before a line (`\x1b[0m{"type":…}`).
const LEADING_ESCAPES = /^(?:\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|[\r\s])+/;

export class AgentStreamParser {
  private partial = "";
  private dropping = false;
  /** codex: the last `agent_message`; gemini: assistant text since the last tool call, and before it. */
  private text = "";
  private textBeforeTool = "";
  readonly state: AgentStreamState;

  /** `onRetry`: called for each retry the stream announces, as its line is read. */
  constructor(
    format: StreamFormat,
    private readonly onRetry?: (retry: AgentRetry) => void,
  ) {
    this.state = { format, events: 0, sessionId: null, lastError: null, retry: null, retries: 0, result: null };
  }

  /** Feeds raw output (UTF-8 text; pty line ends `\r\n` are fine). */
  /** The agent's own conversation id, as soon as the stream named it (claude's init, codex's thread). */
  get sessionId(): string | null {
    return this.state.sessionId;
  }

  push(chunk: string): void {
    let start = 0;
    for (let nl = chunk.indexOf("\n"); nl !== -1; nl = chunk.indexOf("\n", start)) {
      const piece = chunk.slice(start, nl);
      start = nl + 1;
      if (!this.dropping) this.line(this.partial + piece);
      this.partial = "";
      this.dropping = false;
    }
    if (this.dropping) return;
    this.partial += chunk.slice(start);
    if (this.partial.length > MAX_LINE) {
      this.partial = "";
      this.dropping = true;
    }
  }

  /** The output ended: a last line without a newline still counts. */
  end(): AgentStreamState {
    if (this.partial && !this.dropping) this.line(this.partial);
    this.partial = "";
    return this.state;
  }

  private line(raw: string): void {
    const text = raw.replace(LEADING_ESCAPES, "").trimEnd();
    if (!text.startsWith("{")) return;
    let event: unknown;
    try {
      event = JSON.parse(text);
    } catch {
      return;
    }
    if (event === null || typeof event !== "object" || Array.isArray(event)) return;
    this.state.events++;
    const e = event as Record<string, unknown>;
    if (this.state.format === "claude-stream-json") this.claude(e);
    else if (this.state.format === "codex-exec-json") this.codex(e);
    else this.gemini(e);
  }

  private claude(e: Record<string, unknown>): void {
    if (typeof e.session_id === "string") this.state.sessionId = e.session_id;
    if (e.type === "system" && e.subtype === "api_retry") {
      const attempt = count(e.attempt);
      const error = str(e.error) ?? "error";
      if (attempt !== null)
        this.retried({
          attempt,
          of: count(e.max_retries),
          delayMs: count(e.retry_delay_ms),
          status: count(e.error_status),
          error,
        });
      return;
    }
    if (e.type !== "result") return;
    const isError = e.is_error === true || (typeof e.subtype === "string" && e.subtype !== "success");
    const text = str(e.result) ?? "";
    const error = isError ? text || str(e.subtype) || "error" : null;
    if (error) this.state.lastError = error;
    this.state.result = {
      ok: !isError,
      text,
      error,
      sessionId: this.state.sessionId,
      ...num("durationMs", e.duration_ms),
      ...num("numTurns", e.num_turns),
      ...num("costUsd", e.total_cost_usd),
    };
  }

  private retried(retry: AgentRetry): void {
    this.state.retry = retry;
    this.state.retries++;
    this.onRetry?.(retry);
  }

  private codex(e: Record<string, unknown>): void {
    const item = obj(e.item);
    switch (e.type) {
      case "thread.started":
        this.state.sessionId = str(e.thread_id) ?? this.state.sessionId;
        return;
      case "item.completed":
        if (item?.type === "agent_message") this.text = str(item.text) ?? this.text;
        else if (item?.type === "error") this.state.lastError = str(item.message) ?? this.state.lastError;
        return;
      case "error": {
        const message = str(e.message);
        this.state.lastError = message ?? this.state.lastError;
        // "Reconnecting... 2/5 (stream disconnected before completion: …)": codex retries by itself.
        const m = RECONNECTING.exec(message ?? "");
        if (m)
          this.retried({ attempt: Number(m[1]), of: Number(m[2]), delayMs: null, status: null, error: m[3] ?? "" });
        return;
      }
      case "turn.completed":
        this.state.result = { ok: true, text: this.text, error: null, sessionId: this.state.sessionId };
        return;
      case "turn.failed": {
        const error = str(obj(e.error)?.message) ?? this.state.lastError ?? "turn failed";
        this.state.lastError = error;
        this.state.result = { ok: false, text: this.text, error, sessionId: this.state.sessionId };
        return;
      }
    }
  }

  private gemini(e: Record<string, unknown>): void {
    switch (e.type) {
      case "init":
        this.state.sessionId = str(e.session_id) ?? this.state.sessionId;
        return;
      case "message":
        if (e.role !== "assistant") return;
        this.text = e.delta === true ? this.text + (str(e.content) ?? "") : (str(e.content) ?? "");
        return;
      case "tool_use":
        // As gemini's own JSON output does: the answer is the text after the last tool call.
        if (this.text) this.textBeforeTool = this.text;
        this.text = "";
        return;
      case "error":
        this.state.lastError = str(e.message) ?? this.state.lastError;
        return;
      case "result": {
        const ok = e.status === "success";
        const error = ok ? null : (str(obj(e.error)?.message) ?? this.state.lastError ?? "error");
        if (error) this.state.lastError = error;
        const stats = obj(e.stats);
        this.state.result = {
          ok,
          text: this.text || this.textBeforeTool,
          error,
          sessionId: this.state.sessionId,
          ...num("durationMs", stats?.duration_ms),
        };
        return;
      }
    }
  }
}

const RECONNECTING = /^Reconnecting\.\.\.\s*(\d+)\/(\d+)(?:\s*\((.*)\))?/;

/** A whole number ≥ 0, else null. */
function count(v: unknown): number | null {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : null;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function num<K extends string>(key: K, v: unknown): Partial<Record<K, number>> {
  return typeof v === "number" && Number.isFinite(v) ? ({ [key]: v } as Record<K, number>) : {};
}
