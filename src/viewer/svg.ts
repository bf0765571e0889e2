/** A laid-out statechart (src/viewer/layout.ts) as SVG markup. */
import { escapeHtml as esc } from "../html-escape.js";
import { type Layout, labelSize } from "./layout.js";

/**
 * The chart as SVG markup. States are `<g class="state" data-state=…>`, edges
 * `<g class="edge" data-from=… data-to=…>`, so a page restyles them with classes only.
 * Arrowheads use `url(#sc-arrow)` / `url(#sc-arrow-hot)`, defined once by the page.
 */
export function renderSvg(layout: Layout, title = "statechart"): string {
  const parts: string[] = [
    `<svg class="chart" viewBox="0 0 ${layout.width} ${layout.height}" role="img" aria-label="${esc(title)}" xmlns="http://www.w3.org/2000/svg">`,
  ];
  for (const e of layout.edges) {
    const lh = 12;
    const { w, h } = labelSize(e.label);
    const y0 = e.labelY - h / 2;
    parts.push(
      `<g class="edge" data-from="${esc(e.from)}" data-to="${esc(e.to)}"><title>${esc(`${e.from} → ${e.to}: ${e.events.join(" / ")}`)}</title>`,
      `<path d="${e.path}" marker-end="url(#sc-arrow)"/>`,
      `<rect class="label-bg" x="${(e.labelX - w / 2).toFixed(1)}" y="${y0.toFixed(1)}" width="${w.toFixed(1)}" height="${h}" rx="3"/>`,
      ...e.label.map(
        (l, i) =>
          `<text class="label" x="${e.labelX.toFixed(1)}" y="${(y0 + 11 + i * lh).toFixed(1)}">${esc(l)}</text>`,
      ),
      `</g>`,
    );
  }
  for (const s of layout.states) {
    const cls = ["state", s.final ? "final" : "", s.transient ? "transient" : "", s.initial ? "initial" : ""]
      .filter(Boolean)
      .join(" ");
    parts.push(
      `<g class="${cls}" data-state="${esc(s.key)}">`,
      s.initial ? `<circle class="start" cx="${s.x - 12}" cy="${s.y + s.h / 2}" r="5"/>` : "",
      `<rect x="${s.x}" y="${s.y}" width="${s.w}" height="${s.h}" rx="${s.final ? 19 : 8}"/>`,
      s.final
        ? `<rect class="inner" x="${s.x + 3}" y="${s.y + 3}" width="${s.w - 6}" height="${s.h - 6}" rx="16"/>`
        : "",
      s.children.length
        ? `<line class="divider" x1="${s.x + 8}" y1="${s.y + 23}" x2="${s.x + s.w - 8}" y2="${s.y + 23}"/>`
        : "",
      s.children.length
        ? `<text x="${s.x + s.w / 2}" y="${s.y + 17}">${esc(s.key)}</text><text class="sub" x="${s.x + s.w / 2}" y="${s.y + 34}">${esc(s.children.join(" · "))}</text>`
        : `<text x="${s.x + s.w / 2}" y="${s.y + s.h / 2 + 4.5}">${esc(s.key)}</text>`,
      `</g>`,
    );
  }
  parts.push(`</svg>`);
  return parts.filter(Boolean).join("");
}
