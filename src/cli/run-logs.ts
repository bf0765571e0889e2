/**
 * A run's logs directory: the one given, else a folder of its own, `.conductor-logs/run-<time>`
 * (`conductor run` and `run --detach` alike). And the other runs beside such a default one (`.conductor-logs/run-<time>`): each `conductor
 * run` gets a folder of its own, so the next run in a project never looked where a killed earlier
 * run recorded what it left running (src/survivors.ts), and its survivors lived on (a field review:
 * codex's app-server pair after its conductor, watchdog and spawn helper were SIGKILLed together).
 */
import { readdirSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

const LOGS_ROOT = ".conductor-logs";

/** `given` (the flag's, else the config's), or a new `.conductor-logs/run-<time>` under the working directory. */
export function runLogsDir(given: string | undefined): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  return resolve(given ?? join(LOGS_ROOT, `run-${stamp}`));
}

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
