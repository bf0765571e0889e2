/** `conductor report <logsDir|events.jsonl> [-o report.html] [--text]`. */
import fs from "node:fs";
import { basename, dirname, join } from "node:path";
import { buildReport, renderReportHtml, renderReportText, resolveEventLog } from "../report/index.js";
import { type Flags, UsageError } from "./args.js";

export async function reportCommand(flags: Flags, positionals: string[], out: NodeJS.WriteStream): Promise<number> {
  const [path, ...extra] = positionals;
  if (!path || extra.length > 0)
    throw new UsageError("report needs one logs directory or event log, e.g. conductor report ./logs -o report.html");
  if (flags.text && typeof flags.output === "string")
    throw new UsageError("--text prints the report on stdout; -o writes the HTML one: give one of them");
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
  refuseLogTarget(target, file);
  fs.writeFileSync(target, renderReportHtml(report, `conductor report: ${basename(dirname(file))}`), { mode: 0o600 });
  out.write(
    `report: ${target} (${report.sessions.length} session(s), ${report.stats.lines} log lines` +
      `${report.stats.torn ? ", torn last line skipped" : ""})\n`,
  );
  return 0;
}

/**
 * The report never replaces a log: `-o` naming the event log it reads (a field review: `report . -o
 * conductor-events.jsonl` replaced the log with the HTML) or any of the logs beside it.
 */
function refuseLogTarget(target: string, log: string): void {
  const same = (a: fs.Stats | undefined, b: fs.Stats | undefined) => a && b && a.dev === b.dev && a.ino === b.ino;
  const stat = (p: string) => fs.statSync(p, { throwIfNoEntry: false });
  const name = basename(target);
  if (same(stat(target), stat(log)) || /^conductor-events\.jsonl(\.\d+)?$|\.(out|err)\.log(\.\d+)?$/.test(name))
    throw new UsageError(
      `-o ${target} would overwrite a log of the run; give the report a file of its own, e.g. -o report.html`,
    );
}
