/**
 * The other runs beside a run's default logs directory (`.conductor-logs/run-<time>`): each `conductor
 * run` gets a folder of its own, so the next run in a project never looked where a killed earlier
 * run recorded what it left running (src/survivors.ts), and its survivors lived on (a field review:
 * codex's app-server pair after its conductor, watchdog and spawn helper were SIGKILLed together).
 */
import { readdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export const LOGS_ROOT = ".conductor-logs";

/** Every `run-*` folder beside `logsDir` when it is one of them; none for a logs directory of the user's choosing. */
export function otherRuns(logsDir: string): string[] {
  const parent = dirname(logsDir);
  if (basename(parent) !== LOGS_ROOT || !basename(logsDir).startsWith("run-")) return [];
  try {
    return readdirSync(parent, { withFileTypes: true })
      .filter((d) => d.isDirectory() && d.name.startsWith("run-") && d.name !== basename(logsDir))
      .map((d) => join(parent, d.name));
  } catch {
    return []; // not made yet: no earlier run
  }
}
