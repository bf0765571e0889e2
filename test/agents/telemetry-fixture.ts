/**
 * gemini's telemetry in the recordings: a gemini case is recorded with the telemetry the conductor
 * turns on for it (src/presets/gemini-telemetry.ts), and the API errors it recorded are kept beside
 * the cast as `<case>.telemetry.jsonl`, one `{ at, event, status, message }` a line (`at`: seconds
 * into the cast). test/fixtures/replay-cast.mjs writes them back, in the exporter's format, into the
 * file the conductor names in GEMINI_TELEMETRY_OUTFILE, where they fall in the cast's timeline.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { apiErrorOf, splitRecords } from "../../actors/telemetry-records.js";
import { geminiTelemetry } from "../../src/presets/gemini-telemetry.js";
import type { Cli, RunDirs } from "./agent-env.js";

/** The file a recording's gemini writes its telemetry to (removed with the run's home). */
export const telemetryFileOf = (dirs: RunDirs) => join(dirs.home, "telemetry.json");

/** The environment that turns gemini's telemetry on for a recording, as the conductor would. */
export function recordingTelemetryEnv(cli: Cli, env: Record<string, string>, dirs: RunDirs): Record<string, string> {
  return geminiTelemetry(cli, env, telemetryFileOf(dirs), dirs.cwd)?.env ?? {};
}

export interface TelemetryLine {
  at: number;
  event: string;
  status: number | null;
  message: string;
}

/** The API errors of a recording's telemetry file, timed from `startedAt` (epoch ms), scrubbed. */
export function telemetryLines(file: string, startedAt: number, scrub: (s: string) => string): TelemetryLine[] {
  if (!existsSync(file)) return [];
  return splitRecords(readFileSync(file, "utf8")).records.flatMap((r) => {
    const error = apiErrorOf(r);
    const hr = (r as { hrTime?: [number, number] }).hrTime;
    if (!error || !hr) return [];
    const at = Math.max(0, Math.round(hr[0] * 1000 + hr[1] / 1e6 - startedAt)) / 1000;
    return [{ at, event: error.event, status: error.status, message: scrub(error.message) }];
  });
}

/** Writes `<case>.telemetry.jsonl` beside the cast when the run recorded any API error. */
export function writeTelemetryFixture(dir: string, name: string, lines: TelemetryLine[]): void {
  if (lines.length === 0) return;
  writeFileSync(join(dir, `${name}.telemetry.jsonl`), `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`);
}
