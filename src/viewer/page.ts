/**
 * The viewer's single page: HTML, CSS and a small script, all inline (no CDN, no network but
 * the page's own /events stream). The chart SVG comes from the server; the script only clones
 * it per session and moves CSS classes. Every text from a session goes in with textContent.
 */
import { escapeHtml as esc } from "../html-escape.js";

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
html,body{height:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:13px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;display:flex;flex-direction:column}
header.top{display:flex;gap:12px;align-items:center;flex-wrap:wrap;padding:8px 16px;background:#0f172a;color:#e2e8f0}
header.top h1{font-size:15px;margin:0;font-weight:650}
.counts{display:flex;gap:6px;flex-wrap:wrap}
.counts span{padding:1px 8px;border-radius:999px;background:var(--c);color:#fff;font-size:11.5px;font-weight:600}
header.top input,header.top select{font:inherit;padding:3px 6px;border-radius:6px;border:1px solid #334155;background:#1e293b;color:#e2e8f0}
#status{margin-left:auto;padding:2px 10px;border-radius:999px;font-size:12px;font-weight:600;background:#334155}
#status.live{background:#166534;color:#dcfce7}#status.ended{background:#475569}#status.down{background:#9a3412;color:#ffedd5}
#layout{flex:1;display:flex;min-height:0}
#overview{flex:1;overflow:auto;padding:8px 12px}
body.detail #overview{flex:0 0 340px}
.rows{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:2px 10px}
body.detail .rows{grid-template-columns:1fr}
.row{display:grid;grid-template-columns:4px minmax(60px,1fr) 78px 62px 30px;gap:6px;align-items:center;height:21px;padding:0 6px 0 0;background:var(--card);border:1px solid var(--line);border-radius:4px;cursor:pointer;white-space:nowrap;overflow:hidden}
.row:hover{border-color:#94a3b8}.row.selected{outline:2px solid #0f172a}
.row .bar{height:100%;background:var(--c)}
.row .id{font-weight:600;overflow:hidden;text-overflow:ellipsis}
.row .st{color:var(--c);font-weight:650;font-size:11.5px}
.row .rs{color:#b45309;font-size:11px;text-align:right}
.row svg{width:62px;height:16px}.row svg polyline{fill:none;stroke:var(--c);stroke-width:1.3}
.row .why{display:none}
.empty{color:var(--muted);padding:40px;text-align:center}
#detail{flex:1;overflow:auto;padding:10px 14px;border-left:1px solid var(--line);background:#fff;display:none}
body.detail #detail{display:block}
#detail>header{display:flex;gap:10px;align-items:center;margin-bottom:6px}
#detail h2{margin:0;font-size:16px}
.badge{padding:2px 10px;border-radius:999px;background:var(--c);color:#fff;font-weight:650;font-size:12px}
button{font:inherit;padding:3px 10px;border-radius:6px;border:1px solid #cbd5e1;background:#f8fafc;cursor:pointer}
button.danger{border-color:#fca5a5;color:#991b1b}
#d-msg{color:var(--muted);font-size:12px}
.question{margin:6px 0;padding:6px 10px;border-radius:6px;background:#f3e8ff;color:#581c87}
.question form{display:flex;gap:6px;margin-top:4px}.question input{flex:1;font:inherit;padding:3px 6px}
.d-grid{display:grid;grid-template-columns:minmax(0,1.2fr) minmax(0,1fr);gap:10px}
.panel h3{font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);margin:6px 0 4px}
#term{background:#0f172a;padding:4px;border-radius:6px;overflow:hidden}
ol.log{list-style:none;margin:0;padding:0;font:11.5px ui-monospace,Menlo,monospace;max-height:420px;overflow:auto}
ol.log li{padding:1px 0;border-top:1px dashed var(--line);overflow-wrap:anywhere}ol.log time{color:var(--muted);margin-right:6px}
dl.facts{display:grid;grid-template-columns:auto 1fr;gap:2px 10px;margin:0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:anywhere}
.ok{color:#15803d;font-weight:600}.bad{color:#b91c1c;font-weight:600}.warn{color:#b45309;font-weight:600}
svg.chart{width:100%;height:auto;display:block}
.chart .state rect{fill:#fff;stroke:#cbd5e1;stroke-width:1.5}.chart .state rect.inner{fill:none}
.chart .state text{font:600 13px system-ui,sans-serif;fill:#334155;text-anchor:middle}.chart .state .start{fill:#334155}
.chart .state text.sub{font:500 9.5px system-ui,sans-serif;fill:#64748b}.chart .state .divider{stroke:#e2e8f0}
.chart .state.visited rect{stroke:var(--c)}
.chart .state.current rect{fill:var(--c);stroke:var(--c);stroke-width:2.5}.chart .state.current text{fill:#fff}
.chart .edge path{fill:none;stroke:#94a3b8;stroke-width:1.3}
.chart .edge .label{font:10.5px ui-monospace,Menlo,monospace;fill:#64748b;text-anchor:middle}.chart .edge .label-bg{fill:#fff;fill-opacity:.92}
.chart .edge.taken path{stroke:#475569}.chart .edge.last path{stroke:#0f172a;stroke-width:2.6}.chart .edge.last .label{fill:#0f172a;font-weight:700}
${stateCss}
`;

// Plain JS for the browser (not type-checked here): no backticks, no template placeholders.
const SCRIPT = `
(function () {
  var token = new URLSearchParams(location.search).get("t") || "";
  var tpl = document.getElementById("chart-template").innerHTML;
  var rowsEl = document.getElementById("rows"), status = document.getElementById("status");
  var filterEl = document.getElementById("filter"), sortEl = document.getElementById("sort"), countsEl = document.getElementById("counts");
  var sessions = new Map(), rows = new Map(), selected = null, ended = false, follow = null, term = null;
  var ORDER = ["input_wait","stalled","failed","restarting","starting","healthy","init","dead","completed"];
  var FINAL = { dead: 1, completed: 1 };
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = String(text); return e; }
  function setStatus(cls, text) { status.className = cls; status.textContent = text; }
  function spark(values) {
    var max = Math.max.apply(null, values.concat([1]));
    return values.map(function (v, i) { return (i * 62 / Math.max(1, values.length - 1)).toFixed(1) + "," + (15 - (v / max) * 14).toFixed(1); }).join(" ");
  }
  function row(s) {
    var r = rows.get(s.id);
    if (!r) {
      r = el("div", "row"); r.dataset.session = s.id;
      r.append(el("span", "bar"), el("span", "id", s.id), el("span", "st"), document.createElementNS("http://www.w3.org/2000/svg", "svg"), el("span", "rs"), el("span", "why"));
      r.children[3].setAttribute("viewBox", "0 0 62 16"); r.children[3].appendChild(document.createElementNS("http://www.w3.org/2000/svg", "polyline"));
      r.addEventListener("click", function () { select(s.id); });
      rows.set(s.id, r);
    }
    r.dataset.state = s.state;
    r.children[2].textContent = s.state;
    r.children[3].firstChild.setAttribute("points", spark(s.activity || [0]));
    r.children[4].textContent = s.restarts ? "↻" + s.restarts : "";
    r.children[5].textContent = s.reason;
    r.title = s.id + " · " + s.agent + " · " + s.state + (s.reason ? " (" + s.reason + ")" : "") + " · restarts " + s.restarts;
    r.classList.toggle("selected", s.id === selected);
    return r;
  }
  function draw() {
    var q = filterEl.value.trim().toLowerCase(), by = sortEl.value;
    var list = Array.from(sessions.values()).filter(function (s) { return !q || (s.id + " " + s.state + " " + s.agent + " " + s.reason).toLowerCase().indexOf(q) >= 0; });
    list.sort(function (a, b) {
      if (by === "restarts") return b.restarts - a.restarts || a.id.localeCompare(b.id);
      if (by === "activity") return sum(b.activity) - sum(a.activity) || a.id.localeCompare(b.id);
      if (by === "id") return a.id.localeCompare(b.id);
      return ORDER.indexOf(a.state) - ORDER.indexOf(b.state) || a.id.localeCompare(b.id);
    });
    rowsEl.replaceChildren.apply(rowsEl, list.map(row));
    if (!sessions.size) rowsEl.replaceChildren(el("p", "empty", "No session yet: waiting for the first spawn."));
    var counts = {}; sessions.forEach(function (s) { counts[s.state] = (counts[s.state] || 0) + 1; });
    countsEl.replaceChildren.apply(countsEl, Object.keys(counts).sort(function (a, b) { return ORDER.indexOf(a) - ORDER.indexOf(b); }).map(function (k) { var c = el("span", null, counts[k] + " " + k); c.dataset.state = k; return c; }));
  }
  function sum(a) { return (a || []).reduce(function (x, y) { return x + y; }, 0); }
  var pending = false;
  function schedule() { if (!pending) { pending = true; requestAnimationFrame(function () { pending = false; draw(); }); } }
  function fact(dl, name, value, cls) { dl.append(el("dt", null, name), el("dd", cls, value)); }
  function detail(s) {
    document.getElementById("d-id").textContent = s.id;
    var badge = document.getElementById("d-state"); badge.dataset.state = s.state;
    badge.textContent = s.state + (FINAL[s.state] ? " (final)" : "");
    var svg = document.querySelector("#d-chart svg");
    var visited = new Set(s.history.map(function (h) { return h.from; }));
    svg.querySelectorAll(".state").forEach(function (g) { g.classList.toggle("current", g.dataset.state === s.state); g.classList.toggle("visited", visited.has(g.dataset.state)); });
    svg.dataset.state = s.state;
    var last = s.history[s.history.length - 1], taken = new Set(s.history.map(function (h) { return h.from + "|" + h.to; }));
    svg.querySelectorAll(".edge").forEach(function (g) {
      var k = g.dataset.from + "|" + g.dataset.to, isLast = !!last && k === last.from + "|" + last.to;
      g.classList.toggle("taken", taken.has(k)); g.classList.toggle("last", isLast);
      g.querySelector("path").setAttribute("marker-end", isLast ? "url(#sc-arrow-hot)" : "url(#sc-arrow)");
    });
    var f = document.getElementById("d-facts"); f.replaceChildren();
    fact(f, "agent", s.agent);
    fact(f, "process", FINAL[s.state] ? "ended" + (s.exit ? (s.exit.signal ? " by " + s.exit.signal : " with code " + s.exit.exitCode) : "") : s.health.l0 === "ok" ? "running, pid " + s.pid : "not running", FINAL[s.state] ? "" : s.health.l0 === "ok" ? "ok" : "warn");
    fact(f, "restarts", s.restarts, s.restarts ? "warn" : "");
    if (s.failureMode) fact(f, "failure", s.failureMode, "bad");
    if (s.account) fact(f, "account", s.account.accountId + " · " + s.account.provider);
    fact(f, "reason", s.reason || "–");
    var h = document.getElementById("d-history"); h.replaceChildren();
    s.history.slice().reverse().forEach(function (m) { var li = el("li"); li.append(el("time", null, m.at.slice(11, 23)), el("span", null, m.from + " → " + m.to + " " + m.reason)); h.append(li); });
    var q = document.getElementById("d-question");
    q.hidden = !(s.state === "input_wait" && s.health.inputWait);
    if (!q.hidden) document.getElementById("d-question-text").textContent = "waiting for input: " + s.health.inputWait.line;
    document.getElementById("kill").disabled = !!FINAL[s.state] || ended;
    document.getElementById("restart").disabled = ended;
  }
  function logLine(ts, text) { var li = el("li"); li.append(el("time", null, String(ts).slice(11, 23)), el("span", null, text)); var ol = document.getElementById("d-log"); ol.append(li); ol.scrollTop = ol.scrollHeight; }
  function describe(e) { return e.from != null && e.to != null ? e.from + " → " + e.to + (e.reason ? " (" + e.reason + ")" : "") : e.type + Object.keys(e).filter(function (k) { return ["ts","type","session","v","seq","event"].indexOf(k) < 0; }).map(function (k) { return " " + k + "=" + (typeof e[k] === "string" ? e[k] : JSON.stringify(e[k])); }).join(""); }
  function select(id) {
    selected = id; document.body.classList.add("detail");
    var wrap = document.getElementById("d-chart"); wrap.innerHTML = tpl;
    document.getElementById("d-log").replaceChildren(); document.getElementById("d-msg").textContent = "";
    if (follow) follow.close();
    if (!term && window.Terminal) { term = new window.Terminal({ cols: 120, rows: 30, disableStdin: true, fontSize: 11, convertEol: false, scrollback: 500 }); term.open(document.getElementById("term")); }
    if (term) term.reset();
    follow = new EventSource("/follow?session=" + encodeURIComponent(id) + "&t=" + encodeURIComponent(token));
    follow.addEventListener("history", function (m) { JSON.parse(m.data).entries.forEach(function (e) { if (e.type === "output") { if (term) term.write(e.text); } else logLine(e.ts, describe(e)); }); });
    follow.addEventListener("output", function (m) { if (term) term.write(JSON.parse(m.data).text); });
    follow.addEventListener("event", function (m) { var e = JSON.parse(m.data); logLine(e.ts, describe(e)); });
    follow.addEventListener("end", function () { follow.close(); });
    detail(sessions.get(id)); schedule();
  }
  function control(req) {
    var msg = document.getElementById("d-msg"); msg.textContent = req.op + "…";
    return fetch("/control?t=" + encodeURIComponent(token), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(Object.assign({ id: Date.now() }, req)) })
      .then(function (r) { return r.json(); })
      .then(function (r) { msg.textContent = r.ok ? req.op + ": done" : req.op + ": " + r.error.message; return r; });
  }
  document.getElementById("answer").addEventListener("submit", function (ev) { ev.preventDefault(); var t = document.getElementById("answer-text"); control({ op: "send", session: selected, text: t.value }); t.value = ""; });
  document.getElementById("kill").addEventListener("click", function () { control({ op: "kill", session: selected }); });
  document.getElementById("restart").addEventListener("click", function () { control({ op: "restart", session: selected }); });
  document.getElementById("close").addEventListener("click", function () { selected = null; if (follow) follow.close(); document.body.classList.remove("detail"); schedule(); });
  filterEl.addEventListener("input", schedule); sortEl.addEventListener("change", schedule);
  function update(s) { sessions.set(s.id, s); if (s.id === selected) detail(s); schedule(); }
  var es = new EventSource("/events");
  es.addEventListener("snapshot", function (m) {
    var d = JSON.parse(m.data); sessions.clear(); d.sessions.forEach(function (s) { sessions.set(s.id, s); });
    ended = d.ended; schedule(); if (selected && sessions.has(selected)) detail(sessions.get(selected));
    if (d.ended) finish(); else setStatus("live", "live");
  });
  es.addEventListener("session", function (m) { update(JSON.parse(m.data)); });
  function finish() { ended = true; es.close(); setStatus("ended", "run ended · states are final"); if (selected) detail(sessions.get(selected)); }
  es.addEventListener("end", finish);
  es.onerror = function () { if (!ended) setStatus("down", "disconnected · retrying"); };
  es.onopen = function () { if (!ended) setStatus("live", "live"); };
})();
`;

export function renderPage(opts: { svg: string; nonce: string; title: string; machineId: string }): string {
  // Controls (answer, kill, restart) call /control with the URL's token; without one the server refuses.
  const title = esc(opts.title);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title><link rel="stylesheet" href="/assets/xterm.css"><style>${CSS}</style></head>
<body>
<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>
<marker id="sc-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#94a3b8"/></marker>
<marker id="sc-arrow-hot" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#0f172a"/></marker>
</defs></svg>
<header class="top"><h1>${title}</h1><div class="counts" id="counts"></div>
<input id="filter" type="search" placeholder="filter: id, state, reason…" aria-label="filter sessions">
<select id="sort" aria-label="sort sessions"><option value="state">by state (attention first)</option><option value="id">by id</option><option value="restarts">by restarts</option><option value="activity">by output</option></select>
<span id="status" class="down">connecting…</span></header>
<div id="layout"><section id="overview" aria-label="sessions"><div id="rows" class="rows"><p class="empty">Connecting…</p></div></section>
<section id="detail" aria-label="selected session"><header><h2 id="d-id"></h2><span id="d-state" class="badge"></span>
<button id="restart">restart</button><button id="kill" class="danger">kill</button><button id="close">close</button><span id="d-msg"></span></header>
<div id="d-question" class="question" hidden><div id="d-question-text"></div><form id="answer"><input id="answer-text" autocomplete="off" placeholder="answer (Enter is added)"><button>send</button></form></div>
<div class="d-grid"><div class="panel"><h3>Screen</h3><div id="term"></div><h3>Statechart (${esc(opts.machineId)})</h3><div id="d-chart"></div></div>
<div class="panel"><h3>Process</h3><dl id="d-facts" class="facts"></dl><h3>Recent transitions</h3><ol id="d-history" class="log"></ol><h3>Event log</h3><ol id="d-log" class="log"></ol></div></div>
</section></div>
<template id="chart-template">${opts.svg}</template>
<script nonce="${opts.nonce}" src="/assets/xterm.js"></script>
<script nonce="${opts.nonce}">${SCRIPT}</script>
</body></html>`;
}
