/**
 * The result of one-shot runs, read from the agent's own event stream as its bytes arrive (the
 * pty actor's `tap`), so it is complete when the run's EXIT arrives: `result` in the session
 * snapshot, `resultFile` written before `completed` is emitted, and the agent's session id kept for
 * a resume. The text goes to the file and the snapshot only, never to the event log.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { type AgentResult, type AgentRetry, AgentStreamParser } from "./agent-stream.js";
import type { StreamFormat } from "./presets/types.js";

export interface CaptureTarget {
  format: StreamFormat;
  /** Written with the result's text when a run succeeds (unless the agent writes it itself). */
  resultFile?: string;
}

interface Entry {
  target: CaptureTarget;
  generation: number;
  parser: AgentStreamParser | null;
  decoder: StringDecoder;
  /** The run's output bytes so far, as its CHILD.OUTPUT events count them. */
  bytes: number;
  result: AgentResult | null;
  agentSessionId: string | null;
}

/**
 * `onRetry`: the run's stream announced that the CLI retries a failed call by itself, in the read
 * that took the run's output to `outputBytes`.
 */
export function createResultCapture(
  log: (event: string, data: Record<string, unknown>) => void,
  onRetry?: (sessionId: string, generation: number, retry: AgentRetry, outputBytes: number) => void,
) {
  const entries = new Map<string, Entry>();

  function runOf(sessionId: string, entry: Entry, generation: number): AgentStreamParser {
    if (entry.parser === null || entry.generation !== generation) {
      entry.generation = generation;
      entry.parser = new AgentStreamParser(
        entry.target.format,
        onRetry && ((r) => onRetry(sessionId, generation, r, entry.bytes)),
      );
      entry.decoder = new StringDecoder("utf8");
      entry.bytes = 0;
    }
    return entry.parser;
  }

  return {
    register(sessionId: string, target: CaptureTarget): void {
      entries.set(sessionId, {
        target,
        generation: 0,
        parser: null,
        decoder: new StringDecoder("utf8"),
        bytes: 0,
        result: null,
        agentSessionId: null,
      });
    },

    /** For the pty actor: every output byte of every run. */
    tap(sessionId: string, generation: number, chunk: Buffer): void {
      const entry = entries.get(sessionId);
      if (!entry) return;
      const parser = runOf(sessionId, entry, generation);
      entry.bytes += chunk.length;
      parser.push(entry.decoder.write(chunk));
      // Known from the stream's first event on, not at the exit: a run restarted mid-answer is
      // resumed by this id (live: claude's restarted run went on with --continue, resume.live.ts).
      if (parser.sessionId !== null) entry.agentSessionId = parser.sessionId;
    },

    /** A run exited (all its bytes were tapped): keep its result, write the result file. */
    finish(sessionId: string, generation: number): AgentResult | null {
      const entry = entries.get(sessionId);
      // Already read (a verdict ended the session before the exit arrived, see `settle`).
      if (!entry || (entry.parser === null && entry.generation === generation)) return entry?.result ?? null;
      const parser = runOf(sessionId, entry, generation);
      parser.push(entry.decoder.end());
      const state = parser.end();
      entry.parser = null;
      entry.result = state.result;
      entry.agentSessionId = state.sessionId ?? entry.agentSessionId;
      const file = entry.target.resultFile;
      const written =
        file !== undefined && state.result?.ok === true && writeResult(sessionId, file, state.result.text, log);
      log("session.result", {
        session: sessionId,
        attempt: generation,
        events: state.events,
        found: state.result !== null,
        ok: state.result?.ok ?? null,
        length: state.result?.text.length ?? 0,
        ...(written ? { file } : {}),
      });
      return state.result;
    },

    /** The session is final: read what its current run printed so far (its exit may never be reported). */
    settle(sessionId: string): void {
      const entry = entries.get(sessionId);
      if (entry?.parser) this.finish(sessionId, entry.generation);
    },

    resultOf: (sessionId: string): AgentResult | null => entries.get(sessionId)?.result ?? null,
    /** The session was removed: release its parser and result. */
    forget: (sessionId: string): boolean => entries.delete(sessionId),
    /** The agent's own conversation id from the last run that named one. */
    agentSessionIdOf: (sessionId: string): string | null => entries.get(sessionId)?.agentSessionId ?? null,
  };
}

export type ResultCapture = ReturnType<typeof createResultCapture>;

function writeResult(
  sessionId: string,
  file: string,
  text: string,
  log: (event: string, data: Record<string, unknown>) => void,
) {
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text.endsWith("\n") ? text : `${text}\n`);
    return true;
  } catch (err) {
    log("session.result_file_error", { session: sessionId, file, error: String((err as Error)?.message ?? err) });
    return false;
  }
}
