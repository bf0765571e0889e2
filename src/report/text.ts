/** The post-mortem for a terminal (`conductor report --text`). */
import { duration, earlierRunsNote } from "./html.js";
import type { RunReport } from "./model.js";

const COLORS: Record<string, string> = { completed: "32;1", dead: "31;1", failed: "31", stalled: "33" };

export function renderReportText(r: RunReport, color = false): string {
  const paint = (code: string | undefined, t: string) => (color && code ? `\x1b[${code}m${t}\x1b[0m` : t);
  const t0 = r.startedAt ?? 0;
  const lines = [
    `${r.source}: ${r.sessions.length} session(s), ${duration((r.endedAt ?? t0) - t0)}, ${r.stats.lines} log lines` +
      `${r.shutdownReason ? `, shutdown: ${r.shutdownReason}` : ""}`,
  ];
  if (r.stats.torn) lines.push("  the last line was torn (a crash mid-write): skipped");
  if (r.stats.malformed) lines.push(`  ${r.stats.malformed} malformed line(s) skipped`);
  if (!r.complete) lines.push("  no shutdown_complete line: the conductor crashed, was killed, or is still running");
  if (r.earlierRuns > 0) lines.push(`  ${earlierRunsNote(r)}`);
  const w = Math.max(7, ...r.sessions.map((s) => s.id.length));
  lines.push("");
  lines.push(`${"session".padEnd(w)}  ${"final".padEnd(10)}  restarts  runs  failures / accounts / time per state`);
  for (const s of r.sessions) {
    const time = Object.entries(s.timeInState)
      .sort((a, b) => b[1] - a[1])
      .map(([st, ms]) => `${st} ${duration(ms)}`)
      .join(", ");
    const failures = Object.entries(s.failures)
      .map(([k, n]) => `${k}${n > 1 ? ` ×${n}` : ""}`)
      .join(", ");
    lines.push(
      `${s.id.padEnd(w)}  ${paint(COLORS[s.finalState], s.finalState.padEnd(10))}  ${String(s.restarts).padStart(8)}  ${String(s.runs).padStart(4)}  ` +
        [
          failures || "no failure",
          // Its own retries: a run that looked healthy while its calls failed (gemini's hot loop, 40k of them).
          s.agentRetries ? `${s.agentRetries} retried call(s) by the CLI` : "",
          s.accounts.length ? `account ${s.accounts.join(", ")}` : "",
          time,
        ]
          .filter(Boolean)
          .join(" · "),
    );
    lines.push(`${" ".repeat(w)}  ${s.finalReason}${s.lastError ? `: ${s.lastError}` : ""}`);
  }
  return `${lines.join("\n")}\n`;
}
