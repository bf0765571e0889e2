/**
 * `buildReport(path)`: a run's post-mortem from its event log (a logs directory or the JSONL file),
 * streamed: any size, flat memory, a torn last line tolerated.
 */
import fs from "node:fs";
import { join } from "node:path";
import { createReportBuilder, type RunReport } from "./model.js";
import { readLogFacts } from "./read-log.js";

export { renderReportHtml } from "./html.js";
export { renderReportText } from "./text.js";
export type { Marker, MarkerKind, RunReport, SessionReport, Span } from "./model.js";
export { readLogFacts, toFact, type LogFact, type ReadStats } from "./read-log.js";

export const EVENT_LOG_NAME = "conductor-events.jsonl";

/** A logs directory → its `conductor-events.jsonl`; a file → itself. Says what was expected otherwise. */
export function resolveEventLog(path: string): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch (err) {
    throw new Error(
      `${path}: cannot read it (${(err as NodeJS.ErrnoException).code}); give a logs directory or its ${EVENT_LOG_NAME}`,
    );
  }
  if (!st.isDirectory()) return path;
  const file = join(path, EVENT_LOG_NAME);
  if (!fs.existsSync(file)) throw new Error(`${path} has no ${EVENT_LOG_NAME}: is it a conductor's logsDir?`);
  return file;
}

export async function buildReport(path: string): Promise<RunReport> {
  const file = resolveEventLog(path);
  const builder = createReportBuilder(file);
  const stats = await readLogFacts(file, builder.add);
  return builder.finish(stats);
}
export { writeSyntheticLog, type SyntheticLogOptions } from "./synthetic-log.js";
