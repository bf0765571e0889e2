/**
 * The viewer and the report in a real headless Chromium, on a real conductor with 100 sessions in
 * real ptys: the overview fits one screen, selecting a session shows its chart and its rendered
 * screen (xterm.js, served locally), answering its question from the page moves it back to
 * healthy, the end of the run is final; then the run's report opens with a lane per session.
 * Screenshots go to test-artifacts/ (gitignored). Skipped, saying so, without /usr/bin/chromium.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { createConductor } from "../src/conductor.js";
import { buildReport, renderReportHtml } from "../src/report/index.js";
import { startViewer } from "../src/viewer/index.js";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(`viewer.browser.test: skipped, ${CHROMIUM} is not installed (apt-get install chromium; CI installs it)`);

const ARTIFACTS = fileURLToPath(new URL("../test-artifacts/", import.meta.url));
// The machine has no network: without these Chromium keeps dialling out and logging refusals.
const ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
// A machine shared by many: waits are on what the page shows, bounded only by these generous caps.
const WAIT = { timeout: 240_000 };

const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
});

const sh = (script: string) => ["/bin/sh", "-c", script];
// Waits through locators: the page's CSP forbids the eval a string predicate would need.
const rows = (page: Page, n: number) => expect.poll(() => page.locator("#rows .row").count(), WAIT).toBe(n);
const screenShows = (page: Page, re: RegExp) => page.locator("#term .xterm-rows", { hasText: re }).waitFor(WAIT);

describe.skipIf(!hasChromium)("viewer and report in headless Chromium", () => {
  it("100 sessions: one-screen overview, chart and screen of the selected one, an answer from the page", async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const dir = mkdtempSync(join(tmpdir(), "viewer-browser-"));
    const conductor = createConductor({
      logsDir: join(dir, "logs"),
      handleSignals: false,
      enableMesh: false,
      graceMs: 1_000,
      maxRestarts: 0,
      probeOpts: { stallMs: 600_000, inputQuietMs: 500 },
    });
    cleanup.push(() => conductor.shutdown("test_end"));
    const viewer = await startViewer(conductor);
    cleanup.push(() => viewer.close());
    expect(viewer.url).toMatch(/\?t=[\w-]{20,}$/);

    const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    cleanup.push(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const outside: string[] = [];
    const errors: string[] = [];
    page.on("request", (r) => void (new URL(r.url()).host !== new URL(viewer.url).host && outside.push(r.url())));
    page.on("pageerror", (e) => void errors.push(e.message));
    await page.goto(viewer.url);
    await page.waitForSelector("#status.live");

    conductor.spawnSession({
      id: "asker",
      agent: "command",
      command: sh(
        // The answer clears the screen, as agents redraw: a question still on screen is still a question.
        "echo ready; read go; printf 'Proceed with the deployment? (y/n) '; read a; printf '\\033[2J\\033[H'; " +
          "echo answer:$a; exec sleep 600",
      ),
    });
    for (let i = 0; i < 95; i++)
      conductor.spawnSession({
        id: `worker-${String(i).padStart(2, "0")}`,
        agent: "command",
        command: sh("echo ready; while :; do sleep 5; echo tick; done"),
      });
    for (let i = 0; i < 4; i++)
      conductor.spawnSession({ id: `crasher-${i}`, agent: "command", command: sh("echo boom; exit 3") });

    await rows(page, 100);
    await page.waitForSelector('.row[data-session="crasher-3"][data-state="dead"]', WAIT);
    // The whole overview is on one screen: no row below the fold, nothing to scroll.
    const fit = (await page.evaluate(`({
      bottom: Math.max(...[...document.querySelectorAll("#rows .row")].map((r) => r.getBoundingClientRect().bottom)),
      height: window.innerHeight,
      scroll: document.getElementById("overview").scrollHeight - document.getElementById("overview").clientHeight,
    })`)) as { bottom: number; height: number; scroll: number };
    expect(fit.bottom).toBeLessThanOrEqual(fit.height);
    expect(fit.scroll).toBe(0);
    await page.screenshot({ path: join(ARTIFACTS, "viewer-100-overview.png") });

    // Filter narrows the rows; clearing it brings them back.
    await page.fill("#filter", "crasher");
    await rows(page, 4);
    await page.fill("#filter", "");

    // asker waits for a line before it asks (so its screen can be checked first), then for the answer.
    await page.waitForSelector('.row[data-session="asker"][data-state="healthy"]', WAIT);
    await page.click('.row[data-session="asker"]');
    await page.waitForSelector("#d-chart svg g.state.current[data-state='healthy']", WAIT);
    await screenShows(page, /ready/);
    // Without a question, the answer box is hidden; send the first line through the control route.
    const sent = await page.evaluate(`(async () => {
      const t = new URLSearchParams(location.search).get("t");
      const body = JSON.stringify({ id: 1, op: "send", session: "asker", text: "go" });
      return (await fetch("/control?t=" + t, { method: "POST", body })).json();
    })()`);
    expect(sent).toMatchObject({ ok: true, result: { sent: true } });
    await page.waitForSelector('.row[data-session="asker"][data-state="input_wait"]', WAIT);
    await page.waitForSelector("#d-chart svg g.state.current[data-state='input_wait']", WAIT);
    await screenShows(page, /Proceed with the deployment\? \(y\/n\)/);
    expect(await page.textContent("#d-question-text")).toContain("Proceed with the deployment? (y/n)");
    expect(await page.locator("#d-log li").count()).toBeGreaterThan(2);
    await page.screenshot({ path: join(ARTIFACTS, "viewer-100-input-wait.png") });

    await page.fill("#answer-text", "y");
    await page.click("#answer button");
    await page.waitForSelector('.row[data-session="asker"][data-state="healthy"]', WAIT);
    await page.waitForSelector("#d-chart svg g.state.current[data-state='healthy']", WAIT);
    await screenShows(page, /answer:y/);
    expect(await page.textContent("#d-history")).toMatch(/input_wait → healthy/);
    await page.screenshot({ path: join(ARTIFACTS, "viewer-100-answered.png") });

    // A dead session says it is final and that its process ended.
    await page.click('.row[data-session="crasher-0"]');
    await page.waitForSelector("#d-state:has-text('dead (final)')", WAIT);
    expect(await page.textContent("#d-facts")).toMatch(/process\s*ended with code 3/);

    await conductor.shutdown("test_end");
    await page.waitForSelector("#status.ended", WAIT);
    expect(await page.textContent("#status")).toBe("run ended · states are final");
    await page.screenshot({ path: join(ARTIFACTS, "viewer-100-ended.png") });
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);

    // The run's post-mortem: one lane per session, spans per state, markers; opened from disk.
    const report = await buildReport(join(dir, "logs"));
    const file = join(dir, "report.html");
    writeFileSync(file, renderReportHtml(report));
    const rp = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await rp.goto(pathToFileURL(file).href);
    expect(await rp.locator("svg.lanes g.lane").count()).toBe(100);
    expect(await rp.locator('g.lane[data-session="asker"] rect.span[data-state="input_wait"]').count()).toBe(1);
    expect(await rp.locator('g.lane[data-session="crasher-0"] rect.span[data-state="dead"]').count()).toBe(1);
    expect(await rp.locator('tr[data-session="asker"]').textContent()).toMatch(/input_wait/);
    await rp.screenshot({ path: join(ARTIFACTS, "report-100.png"), fullPage: true });
  }, 600_000);
});
