// `conductor report` streams its log: peak RSS for a 1 GB log against a 100 MB one, side by side.
// Each report runs in its own process; maxRSS comes from the kernel (getrusage), not from sampling.
// SIZE_MB=1024 (default) and SMALL_MB=100; the logs are written to a temp dir and removed.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeSyntheticLog } from "../dist/src/report/index.js";

const big = Number(process.env.SIZE_MB ?? 1024);
const small = Number(process.env.SMALL_MB ?? 100);
const dir = mkdtempSync(join(tmpdir(), "report-bench-"));
const probe = `
  const { buildReport, renderReportHtml } = await import(${JSON.stringify(new URL("../dist/src/report/index.js", import.meta.url).href)});
  const t = performance.now();
  const r = await buildReport(process.argv[1]);
  const html = renderReportHtml(r);
  console.log(JSON.stringify({ maxRssKb: process.resourceUsage().maxRSS, ms: performance.now() - t, lines: r.stats.lines, torn: r.stats.torn, sessions: r.sessions.length, htmlBytes: html.length }));
`;
try {
  const rows = [];
  for (const mb of [small, big]) {
    const file = join(dir, `${mb}.jsonl`);
    await writeSyntheticLog(file, { bytes: mb * 1024 * 1024, sessions: 100, tornTail: true });
    const out = JSON.parse(
      execFileSync(process.execPath, ["--input-type=module", "-e", probe, file], { encoding: "utf8" }),
    );
    rows.push({ mb, bytes: statSync(file).size, ...out });
    rmSync(file);
  }
  for (const r of rows)
    console.log(
      `${String(r.mb).padStart(5)} MB log (${r.lines} lines, torn tail ${r.torn}): peak RSS ${(r.maxRssKb / 1024).toFixed(1)} MB, ${(r.ms / 1000).toFixed(1)} s, HTML ${(r.htmlBytes / 1024).toFixed(0)} KB`,
    );
  const [a, b] = rows;
  console.log(`log ${(b.bytes / a.bytes).toFixed(1)}× larger → peak RSS ×${(b.maxRssKb / a.maxRssKb).toFixed(2)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
