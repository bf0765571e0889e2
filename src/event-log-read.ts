/**
 * Reading the event log back: line by line, never throwing on content. A torn last line (a machine
 * crash mid-write) and malformed lines are skipped and reported, so damage is never silent.
 */
import fs from "node:fs";
import type { EventLogLine } from "./event-log.js";

export interface EventLogIssue {
  /** `torn`: the last line is incomplete (a machine crash mid-write); `malformed`: a bad line before it. */
  kind: "torn" | "malformed";
  /** 1-based line number in the file. */
  line: number;
  text: string;
}

export interface EventLogReadResult {
  lines: EventLogLine[];
  issues: EventLogIssue[];
}

function isLogLine(v: unknown): v is EventLogLine {
  return (
    typeof v === "object" && v !== null && !Array.isArray(v) && typeof (v as { event?: unknown }).event === "string"
  );
}

/** Parses a log line by line; never throws on content, every skipped line is listed in `issues`. */
export async function readEventLogDetailed(filePath: string): Promise<EventLogReadResult> {
  const content = await fs.promises.readFile(filePath, "utf8");
  // After a power loss a file can end in NUL bytes (size grew, data never reached the disk).
  const parts = content.replace(/\0+$/, "").split("\n");
  const lines: EventLogLine[] = [];
  const issues: EventLogIssue[] = [];
  parts.forEach((raw, i) => {
    const isLast = i === parts.length - 1;
    if (raw.trim() === "") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = undefined;
    }
    if (isLogLine(parsed)) {
      lines.push(parsed);
      return;
    }
    // Only the final segment, with no newline after it, can be the tail of an interrupted write.
    issues.push({ kind: isLast ? "torn" : "malformed", line: i + 1, text: raw.slice(0, 200) });
  });
  return { lines, issues };
}

/**
 * Parses a log, tolerating a torn last line. Skipped lines are reported through `onIssue`
 * (default: a warning on stderr), so damage is never silent.
 */
export async function readEventLog(
  filePath: string,
  onIssue: (issue: EventLogIssue) => void = (issue) =>
    process.stderr.write(`[event-log] ${filePath}: ${issue.kind} line ${issue.line} skipped\n`),
): Promise<EventLogLine[]> {
  const { lines, issues } = await readEventLogDetailed(filePath);
  for (const issue of issues) onIssue(issue);
  return lines;
}
