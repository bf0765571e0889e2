/** `conductor report <logsDir|events.jsonl> [-o report.html] [--text]`. */
import fs from "node:fs";
import { basename, dirname, join } from "node:path";
import { buildReport, renderReportHtml, renderReportText, resolveEventLog } from "../report/index.js";
import { type Flags, UsageError } from "./args.js";

export async function reportCommand(flags: Flags, positionals: string[], out: NodeJS.WriteStream): Promise<number> {
  const [path, ...extra] = positionals;
  if (!path || extra.length > 0)
    throw new UsageError("report needs one logs directory or event log, e.g. conductor report ./logs -o report.html");
  const file = resolveEventLog(path);
  const report = await buildReport(file);
  // A file with no event-log line at all is the wrong file, not a run without sessions (a field review:
  // `report config.json` printed "0 session(s)", exit 0, and wrote an empty report).
  if (report.stats.lines === 0) {
    const what = report.stats.malformed > 0 || report.stats.torn ? "no line of it is an event-log line" : "it is empty";
    throw new Error(
      `${file} is not a conductor event log (${what}); give a logs directory or its conductor-events.jsonl`,
    );
  }
  if (flags.text) {
    out.write(renderReportText(report, Boolean(out.isTTY) && flags.color !== false));
    return 0;
  }
  const target = typeof flags.output === "string" ? flags.output : join(dirname(file), "report.html");
  fs.writeFileSync(target, renderReportHtml(report, `conductor report: ${basename(dirname(file))}`), { mode: 0o600 });
  out.write(
    `report: ${target} (${report.sessions.length} session(s), ${report.stats.lines} log lines` +
      `${report.stats.torn ? ", torn last line skipped" : ""})\n`,
  );
  return 0;
}
