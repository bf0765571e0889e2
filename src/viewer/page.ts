/**
 * The viewer's single page: HTML, CSS and a small script, all inline (no CDN, no network but
 * the page's own /events stream). The chart SVG comes from the server; the script only clones
 * it per session and moves CSS classes. Every text from a session goes in with textContent.
 */

/** One colour per session state; unknown states (another machine) fall back to slate. */
export const STATE_COLORS: Readonly<Record<string, string>> = Object.freeze({
  init: "#64748b",
  starting: "#2563eb",
  healthy: "#16a34a",
  stalled: "#d97706",
  input_wait: "#9333ea",
  failed: "#dc2626",
  restarting: "#ea580c",
  dead: "#7f1d1d",
  completed: "#0d9488",
});

const stateCss = Object.entries(STATE_COLORS)
  .map(([k, c]) => `[data-state="${k}"]{--c:${c}}`)
  .join("\n");

const CSS = `
:root{--bg:#f1f5f9;--card:#fff;--ink:#0f172a;--muted:#64748b;--line:#e2e8f0;--c:#475569}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header.top{position:sticky;top:0;z-index:2;display:flex;gap:16px;align-items:center;flex-wrap:wrap;padding:12px 24px;background:#0f172a;color:#e2e8f0}
header.top h1{font-size:17px;margin:0;font-weight:650}
header.top .sub{color:#94a3b8;font-size:13px}
#status{margin-left:auto;padding:3px 10px;border-radius:999px;font-size:12px;font-weight:600;background:#334155}
#status.live{background:#166534;color:#dcfce7}#status.ended{background:#475569}#status.down{background:#9a3412;color:#ffedd5}
.legend{display:flex;gap:10px;flex-wrap:wrap;font-size:12px;color:#cbd5e1}
.legend span::before{content:"";display:inline-block;width:10px;height:10px;border-radius:3px;margin-right:4px;background:var(--c);vertical-align:-1px}
main{padding:20px 24px;display:grid;gap:20px}
.empty{color:var(--muted);padding:40px;text-align:center}
.card{background:var(--card);border:1px solid var(--line);border-left:6px solid var(--c);border-radius:10px;box-shadow:0 1px 2px #0f172a14}
.card>header{display:flex;gap:12px;align-items:baseline;padding:12px 16px;border-bottom:1px solid var(--line)}
.card h2{margin:0;font-size:16px}
.agent{color:var(--muted);font-size:13px}
.badge{margin-left:auto;padding:2px 10px;border-radius:999px;background:var(--c);color:#fff;font-weight:650;font-size:13px}
.body{display:grid;grid-template-columns:minmax(0,1fr)}
.details{display:grid;grid-template-columns:minmax(240px,1fr) minmax(0,2fr);border-top:1px solid var(--line)}
@media (max-width:800px){.details{grid-template-columns:1fr}}
.chart-wrap{padding:8px 12px}
svg.chart{width:100%;height:auto;display:block;max-width:1280px;margin:0 auto}
.chart .state rect{fill:#fff;stroke:#cbd5e1;stroke-width:1.5}
.chart .state rect.inner{fill:none}
.chart .state text{font:600 13px system-ui,sans-serif;fill:#334155;text-anchor:middle}
.chart .state .start{fill:#334155}
.chart .state text.sub{font:500 9.5px system-ui,sans-serif;fill:#64748b}
.chart .state .divider{stroke:#e2e8f0}
.chart .state.current text.sub{fill:#ffffffd0}.chart .state.current .divider{stroke:#ffffff60}
.chart .state.visited rect{stroke:var(--c)}
.chart .state.current rect{fill:var(--c);stroke:var(--c);stroke-width:2.5}
.chart .state.current rect.inner{stroke:#fff;fill:none}
.chart .state.current text{fill:#fff}
.chart .state.current{filter:drop-shadow(0 2px 4px #0f172a55)}
.chart .edge path{fill:none;stroke:#94a3b8;stroke-width:1.3}
.chart .edge .label{font:10.5px ui-monospace,SFMono-Regular,Menlo,monospace;fill:#64748b;text-anchor:middle}
.chart .edge .label-bg{fill:#fff;fill-opacity:.92}
.chart .edge.taken path{stroke:#475569}
.chart .edge.last path{stroke:#0f172a;stroke-width:2.6}
.chart .edge.last .label{fill:#0f172a;font-weight:700}
.facts-box,.history-box{padding:10px 16px 14px}.history-box{border-left:1px solid var(--line)}
dl.facts{display:grid;grid-template-columns:auto 1fr;gap:3px 12px;margin:0 0 10px}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.ok{color:#15803d;font-weight:600}.bad{color:#b91c1c;font-weight:600}.warn{color:#b45309;font-weight:600}
.question{margin:0 0 10px;padding:6px 10px;border-radius:6px;background:#f3e8ff;color:#581c87;font-size:13px}
.question:empty{display:none}
.details h3{font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);margin:8px 0 4px}
ol.history{list-style:none;margin:0;padding:0;font-size:12.5px}
ol.history li{display:grid;grid-template-columns:auto 1fr;gap:0 8px;padding:3px 0;border-top:1px dashed var(--line)}
ol.history time{color:var(--muted);font-variant-numeric:tabular-nums}
ol.history .move b{color:var(--c)}
ol.history .why{grid-column:2;color:#475569;font-family:ui-monospace,Menlo,monospace;font-size:11.5px;overflow-wrap:anywhere}
${stateCss}
`;

// Plain JS for the browser (not type-checked here): no backticks, no template placeholders.
const SCRIPT = `
(function () {
  var tpl = document.getElementById("chart-template").innerHTML;
  var main = document.querySelector("main");
  var status = document.getElementById("status");
  var cards = new Map();
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = String(text); return e; }
  function setStatus(cls, text) { status.className = cls; status.textContent = text; }
  function card(id) {
    var c = cards.get(id);
    if (c) return c;
    var root = el("section", "card"); root.dataset.session = id;
    var head = el("header"); var h2 = el("h2", null, id); var agent = el("span", "agent"); var badge = el("span", "badge");
    head.append(h2, agent, badge);
    var body = el("div", "body"); var wrap = el("div", "chart-wrap"); wrap.innerHTML = tpl;
    var details = el("div", "details"); var left = el("div", "facts-box"); var right = el("div", "history-box");
    var facts = el("dl", "facts"); var q = el("p", "question"); var hist = el("ol", "history");
    left.append(el("h3", null, "Probes and process"), facts, q); right.append(el("h3", null, "Recent transitions"), hist);
    details.append(left, right); body.append(wrap, details); root.append(head, body);
    var empty = main.querySelector(".empty"); if (empty) empty.remove();
    main.append(root);
    c = { root: root, agent: agent, badge: badge, svg: wrap.querySelector("svg"), facts: facts, q: q, hist: hist };
    cards.set(id, c);
    return c;
  }
  function fact(dl, name, value, cls) { var dd = el("dd", cls, value); dl.append(el("dt", null, name), dd); }
  function verdict(v) { return v === "ok" ? "ok" : v === "pending" || v === "n/a" ? "" : v === "input_wait" || v === "stall" ? "warn" : "bad"; }
  function bytes(n) { return n < 1024 ? n + " B" : n < 1048576 ? (n / 1024).toFixed(1) + " KB" : (n / 1048576).toFixed(1) + " MB"; }
  function render(s) {
    var c = card(s.id);
    c.root.dataset.state = s.state; c.badge.dataset.state = s.state; c.badge.textContent = s.state;
    c.agent.textContent = s.agent + (s.pid ? " · pid " + s.pid : "");
    var visited = new Set(s.history.map(function (h) { return h.from; }));
    c.svg.querySelectorAll(".state").forEach(function (g) {
      g.classList.toggle("current", g.dataset.state === s.state);
      g.classList.toggle("visited", visited.has(g.dataset.state));
    });
    var last = s.history[s.history.length - 1];
    var taken = new Set(s.history.map(function (h) { return h.from + "|" + h.to; }));
    c.svg.querySelectorAll(".edge").forEach(function (g) {
      var k = g.dataset.from + "|" + g.dataset.to;
      g.classList.toggle("taken", taken.has(k));
      var isLast = !!last && k === last.from + "|" + last.to;
      g.classList.toggle("last", isLast);
      g.querySelector("path").setAttribute("marker-end", isLast ? "url(#sc-arrow-hot)" : "url(#sc-arrow)");
    });
    c.facts.replaceChildren();
    var h = s.health;
    fact(c.facts, "pid", s.pid == null ? "–" : s.pid);
    fact(c.facts, "restarts", s.restarts, s.restarts ? "warn" : "");
    fact(c.facts, "L0 process", h.l0, h.l0 === "ok" ? "ok" : "");
    fact(c.facts, "L1 progress", h.l1, verdict(h.l1));
    fact(c.facts, "L3 startup", h.l3, verdict(h.l3));
    fact(c.facts, "output", bytes(h.outputBytes));
    if (s.account) fact(c.facts, "account", s.account.accountId + " · " + s.account.provider + " · " + s.account.tier);
    if (s.accountWait) fact(c.facts, "waiting for", "an account: " + s.accountWait.reason + (s.accountWait.etaMs != null ? " (≈" + Math.ceil(s.accountWait.etaMs / 1000) + " s)" : ""), "warn");
    if (s.failureMode) fact(c.facts, "failure", s.failureMode, "bad");
    if (s.exit) fact(c.facts, "last exit", s.exit.signal ? "signal " + s.exit.signal : "code " + s.exit.exitCode, s.exit.exitCode === 0 ? "ok" : "bad");
    fact(c.facts, "reason", s.reason || "–");
    c.q.textContent = h.inputWait ? "waiting for input: " + h.inputWait.line : "";
    c.hist.replaceChildren();
    s.history.slice().reverse().forEach(function (m) {
      var li = el("li"); li.dataset.state = m.to;
      var mv = el("span", "move"); var b = el("b", null, m.from + " → " + m.to); mv.append(b);
      li.append(el("time", null, m.at.slice(11, 23)), mv, el("span", "why", m.reason));
      c.hist.append(li);
    });
  }
  var es = new EventSource("/events");
  es.addEventListener("snapshot", function (m) {
    var d = JSON.parse(m.data);
    cards.forEach(function (c) { c.root.remove(); }); cards.clear();
    if (!d.sessions.length) main.replaceChildren(el("p", "empty", "No session yet: waiting for the first spawn."));
    d.sessions.forEach(render);
    setStatus(d.ended ? "ended" : "live", d.ended ? "run ended" : "live");
  });
  es.addEventListener("session", function (m) { render(JSON.parse(m.data)); });
  es.addEventListener("end", function () { setStatus("ended", "run ended · waiting for the next run on this port"); });
  es.onerror = function () { if (status.className !== "ended") setStatus("down", "disconnected · retrying"); };
  es.onopen = function () { setStatus("live", "live"); };
})();
`;

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function renderPage(opts: { svg: string; nonce: string; title: string; machineId: string }): string {
  const title = esc(opts.title);
  const legend = Object.keys(STATE_COLORS)
    .map((k) => `<span data-state="${k}">${k}</span>`)
    .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title><style>${CSS}</style></head>
<body>
<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>
<marker id="sc-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#94a3b8"/></marker>
<marker id="sc-arrow-hot" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#0f172a"/></marker>
</defs></svg>
<header class="top"><h1>${title}</h1><span class="sub">${esc(opts.machineId)} statechart, live</span>
<div class="legend">${legend}</div><span id="status" class="down">connecting…</span></header>
<main><p class="empty">Connecting…</p></main>
<template id="chart-template">${opts.svg}</template>
<script nonce="${opts.nonce}">${SCRIPT}</script>
</body></html>`;
}
