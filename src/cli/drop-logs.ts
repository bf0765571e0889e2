/**
 * What a refused `conductor run` made for its logs goes again: a config being fixed by trial left a
 * `.conductor-logs/run-<time>/` per attempt (a field review). Only what is its own: its logs
 * directory (new, and named for this run), then the directories above it that it made
 * (`.conductor-logs`), each only while empty. A run started beside it may keep its logs there by
 * now: removing the whole of `.conductor-logs` took another run's logs directory from under it
 * (ENOENT as it made it, under load).
 */
import { rmdirSync, rmSync } from "node:fs";
import { dirname } from "node:path";

/** `made`: the topmost directory of `logsDir` that did not exist when the run began (null: none). */
export function dropMadeLogs(logsDir: string, made: string | null): void {
  if (made === null) return;
  try {
    rmSync(logsDir, { recursive: true, force: true });
  } catch {
    // Under a file (`--logs-dir a-file/logs`: ENOTDIR) it was never made: nothing to drop. A
    // throw here turned the refusal being reported into exit 70 and a stack trace.
  }
  for (let d = dirname(logsDir); made !== logsDir && d.startsWith(made); d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty (or gone): what is left is someone else's
    }
  }
}
