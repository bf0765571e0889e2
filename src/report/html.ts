/**
 * The post-mortem as one self-contained HTML file: inline CSS and SVG, no script, no network.
 * One lane per session with a span per state (its colour) and markers; every span and marker
 * has a native tooltip (`<title>`) with its state, times and reason. Every text is escaped.
 */
import { STATE_COLORS } from "../viewer/page.js";
import type { Marker, RunReport, SessionReport } from "./model.js";
import { escapeHtml as esc } from "../html-escape.js";

export const duration = (ms: number): string => {
  if (!Number.isFinite(ms) || ms < 0) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
};
const clock = (t: number) => new Date(t).toISOString().replace("T", " ").slice(0, 23);

const MARKER_STYLE: Record<Marker["kind"], { color: string; shape: string; label: string }> = {
  restart: { color: "#ea580c", shape: "M0,-6 L6,0 L0,6 L-6,0 Z", label: "restart" },
  rate_limit: { color: "#b91c1c", shape: "M-6,5 L0,-6 L6,5 Z", label: "rate limit" },
  kill: { color: "#0f172a", shape: "M-5,-5 L5,5 M5,-5 L-5,5", label: "kill" },
  question: { color: "#9333ea", shape: "M0,-6 A6,6 0 1 1 -0.01,-6 Z", label: "question" },
};

const LANE_H = 26;
const LABEL_W = 170;
const WIDTH = 1100;

function lane(s: SessionReport, i: number, t0: number, span: number): string {
  const y = 28 + i * LANE_H;
  const x = (t: number) => LABEL_W + ((t - t0) / span) * (WIDTH - LABEL_W - 10);
  const rects = s.spans
    .map((sp) => {
      const x0 = x(sp.from);
      const w = Math.max(1, x(sp.to) - x0);
      const tip = `${s.id}: ${sp.state} for ${duration(sp.to - sp.from)}\n${clock(sp.from)} → ${clock(sp.to)}\nreason: ${sp.reason || "–"}`;
      return `<rect class="span" data-state="${esc(sp.state)}" x="${x0.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${LANE_H - 8}" fill="${STATE_COLORS[sp.state] ?? "#94a3b8"}"><title>${esc(tip)}</title></rect>`;
    })
    .join("");
  const marks = s.markers
    .map((m) => {
      const st = MARKER_STYLE[m.kind];
      const stroke =
        m.kind === "kill" ? `stroke="${st.color}" stroke-width="2.5" fill="none"` : `fill="${st.color}" stroke="#fff"`;
      return `<path class="marker" data-kind="${m.kind}" transform="translate(${x(m.at).toFixed(1)},${y + (LANE_H - 8) / 2})" d="${st.shape}" ${stroke}><title>${esc(`${clock(m.at)} ${m.text}`)}</title></path>`;
    })
    .join("");
  const label = `<text class="lane-label" x="${LABEL_W - 8}" y="${y + 13}" text-anchor="end">${esc(s.id.length > 22 ? `${s.id.slice(0, 21)}…` : s.id)}<title>${esc(s.id)}</title></text>`;
  return `<g class="lane" data-session="${esc(s.id)}">${label}${rects}${marks}</g>`;
}

function axis(span: number, height: number): string {
  const ticks: string[] = [];
  for (let i = 0; i <= 5; i++) {
    const xx = LABEL_W + (i / 5) * (WIDTH - LABEL_W - 10);
    ticks.push(
      `<line x1="${xx}" y1="18" x2="${xx}" y2="${height}" stroke="#e2e8f0"/><text x="${xx}" y="12" text-anchor="middle" class="tick">+${esc(duration((span * i) / 5))}</text>`,
    );
  }
  return ticks.join("");
}

export function renderReportHtml(r: RunReport, title = "conductor run report"): string {
  const t0 = r.startedAt ?? Math.min(...r.sessions.map((s) => s.firstAt));
  const t1 = r.endedAt ?? t0;
  const span = Math.max(1, t1 - t0);
  const sessions = [...r.sessions].sort((a, b) => a.firstAt - b.firstAt || a.id.localeCompare(b.id));
  const height = 36 + sessions.length * LANE_H;
  const svg = `<svg class="lanes" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="one lane per session">${axis(span, height)}${sessions.map((s, i) => lane(s, i, t0, span)).join("")}</svg>`;
  const states = [...new Set(sessions.flatMap((s) => Object.keys(s.timeInState)))];
  const legend = [
    ...states.map((st) => `<span><i style="background:${STATE_COLORS[st] ?? "#94a3b8"}"></i>${esc(st)}</span>`),
    ...Object.values(MARKER_STYLE).map(
      (m) =>
        `<span><svg width="14" height="14" viewBox="-7 -7 14 14"><path d="${m.shape}" fill="${m.color}" stroke="${m.color}"/></svg>${m.label}</span>`,
    ),
  ].join("");
  const rows = sessions
    .map((s) => {
      const time = Object.entries(s.timeInState)
        .sort((a, b) => b[1] - a[1])
        .map(([st, ms]) => `${esc(st)} ${esc(duration(ms))}`)
        .join(", ");
      const failures = Object.entries(s.failures)
        .map(([k, n]) => `${esc(k)}${n > 1 ? ` ×${n}` : ""}`)
        .join(", ");
      return `<tr data-session="${esc(s.id)}"><td>${esc(s.id)}</td><td>${esc(s.agent ?? "–")}</td><td><b class="st" style="--c:${STATE_COLORS[s.finalState] ?? "#94a3b8"}">${esc(s.finalState)}</b><div class="why">${esc(s.finalReason)}${s.lastError ? `: ${esc(s.lastError)}` : ""}</div></td><td class="n">${s.restarts}</td><td class="n">${s.runs}</td><td>${time || "–"}</td><td>${failures || "–"}</td><td>${esc(s.accounts.join(", ") || "–")}</td><td class="n">${s.questions}</td><td class="n">${s.agentRetries}</td><td class="n">${s.kills}</td></tr>`;
    })
    .join("");
  const notes = [
    r.stats.torn ? "The log's last line was torn (a crash mid-write): it was skipped." : "",
    r.stats.malformed ? `${r.stats.malformed} malformed line(s) were skipped.` : "",
    r.complete ? "" : "The log has no shutdown_complete line: the conductor crashed, was killed, or is still running.",
    r.earlierRuns > 0 ? esc(earlierRunsNote(r)) : "",
    sessions.some((s) => s.mergedSpans)
      ? "Some lanes have more moves than can be drawn: neighbouring spans were merged (totals are exact)."
      : "",
  ].filter(Boolean);
  const counts: Record<string, number> = {};
  for (const s of sessions) counts[s.finalState] = (counts[s.finalState] ?? 0) + 1;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title><style>
body{margin:0;font:14px/1.45 system-ui,sans-serif;color:#0f172a;background:#f8fafc}
header{padding:16px 24px;background:#0f172a;color:#e2e8f0}header h1{margin:0 0 4px;font-size:18px}
header .sub{color:#94a3b8;font-size:13px}main{padding:16px 24px}
section{background:#fff;border:1px solid #e2e8f0;border-radius:10px;padding:12px 16px;margin-bottom:16px;overflow-x:auto}
h2{font-size:13px;text-transform:uppercase;letter-spacing:.05em;color:#64748b;margin:0 0 8px}
.legend{display:flex;gap:14px;flex-wrap:wrap;font-size:12px;margin-bottom:6px}.legend span{display:inline-flex;gap:4px;align-items:center}
.legend i{display:inline-block;width:12px;height:12px;border-radius:3px}
svg.lanes text{font:12px system-ui,sans-serif;fill:#334155}svg.lanes .tick{font-size:10.5px;fill:#64748b}
svg.lanes rect.span:hover{stroke:#0f172a;stroke-width:1.5}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e2e8f0;vertical-align:top}
th{color:#64748b;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.st{color:var(--c)}.why{color:#64748b;font-size:12px;font-family:ui-monospace,monospace}
.notes{color:#9a3412}
</style></head><body>
<header><h1>${esc(title)}</h1><div class="sub">${esc(r.source)} · ${r.startedAt ? esc(clock(r.startedAt)) : "?"} → ${r.endedAt ? esc(clock(r.endedAt)) : "?"} (${esc(duration(span))}) · ${sessions.length} session(s): ${esc(
    Object.entries(counts)
      .map(([k, n]) => `${n} ${k}`)
      .join(", "),
  )}${r.shutdownReason ? ` · shutdown: ${esc(r.shutdownReason)}` : ""} · ${r.stats.lines} log lines</div></header>
<main>
${notes.length ? `<section class="notes">${notes.map((n) => `<p>${esc(n)}</p>`).join("")}</section>` : ""}
<section><h2>Timeline</h2><div class="legend">${legend}</div>${svg}</section>
<section><h2>Summary</h2><table><thead><tr><th>session</th><th>agent</th><th>final state</th><th>restarts</th><th>runs</th><th>time per state</th><th>failure classes</th><th>account used</th><th>questions</th><th>CLI retries</th><th>kills</th></tr></thead><tbody>${rows}</tbody></table></section>
</main></body></html>
`;
}

/** A log of several conductors (a logsDir used again): the report is the last one's, and says so. */
export function earlierRunsNote(r: RunReport): string {
  const killed =
    r.earlierUnfinished > 0 ? `, ${r.earlierUnfinished} of them ended without their shutdown (killed or crashed)` : "";
  return `this log holds ${r.earlierRuns} earlier conductor run(s) before this one${killed}; shown: the last, from its start`;
}
