/**
 * The viewer in a real headless Chromium, on a real conductor with scripted agents in real ptys:
 * the highlighted state node follows the session (starting → healthy → input_wait → completed).
 * Screenshots go to test-artifacts/ (gitignored). Skipped, saying so, without /usr/bin/chromium.
 */
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { createConductor } from "../src/conductor.js";
import { createAgentHub } from "../src/testing/agent-hub.js";
import { startViewer } from "../src/viewer/index.js";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(`viewer.browser.test: skipped, ${CHROMIUM} is not installed (apt-get install chromium; CI installs it)`);

const AGENT = fileURLToPath(new URL("./fixtures/scripted-agent.mjs", import.meta.url));
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

const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
});

/** The state the page highlights for a session (read from the SVG, as a person sees it). */
const highlighted = (page: Page, id: string) =>
  page
    .locator(`section[data-session="${id}"] svg.chart g.state.current`)
    .getAttribute("data-state", { timeout: 5_000 });

async function until(page: Page, id: string, state: string, shot: string) {
  await page.waitForSelector(`section[data-session="${id}"] svg.chart g.state.current[data-state="${state}"]`, {
    timeout: 10_000,
  });
  expect(await highlighted(page, id)).toBe(state);
  await page.screenshot({ path: join(ARTIFACTS, shot), fullPage: true });
}

describe.skipIf(!hasChromium)("viewer in headless Chromium", () => {
  it("highlights each session's current state live and shows why it moved", async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const dir = mkdtempSync(join(tmpdir(), "viewer-browser-"));
    const hub = createAgentHub(dir);
    await hub.listen();
    cleanup.push(() => hub.close());
    const conductor = createConductor({
      logsDir: join(dir, "logs"),
      handleSignals: false,
      enableMesh: false,
      graceMs: 500,
      maxRestarts: 1,
      probeOpts: { inputQuietMs: 300 },
    });
    cleanup.push(() => conductor.shutdown("test_end"));
    const viewer = await startViewer(conductor);
    cleanup.push(() => viewer.close());

    const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    cleanup.push(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const outside: string[] = [];
    const errors: string[] = [];
    page.on("request", (r) => void (new URL(r.url()).host !== new URL(viewer.url).host && outside.push(r.url())));
    page.on("pageerror", (e) => void errors.push(e.message));
    await page.goto(viewer.url);
    await page.waitForSelector("#status.live");

    // A session the test drives step by step, and one that crashes until it is dead.
    conductor.spawnSession({
      id: "migrate",
      agent: "command",
      command: [process.execPath, AGENT],
      env: { SCRIPTED_AGENT_SOCKET: hub.path },
    });
    conductor.spawnSession({
      id: "crasher",
      agent: "command",
      command: [process.execPath, AGENT],
      env: { SCRIPTED_AGENT_PLAN: JSON.stringify([{ print: "TypeError: cannot read 'config'" }, { exit: 3 }]) },
    });
    await hub.ready("migrate#1");
    await until(page, "migrate", "starting", "viewer-1-starting.png");
    await hub.send("migrate#1", { op: "print", text: "scanning schema: 3 pending migrations" });
    await until(page, "migrate", "healthy", "viewer-2-healthy.png");
    await hub.send("migrate#1", { op: "ask", text: "Apply the database migration? (y/n)" });
    await until(page, "migrate", "input_wait", "viewer-3-input_wait.png");
    await expect
      .poll(() => page.locator('section[data-session="migrate"] .question').textContent())
      .toContain("Apply the database migration? (y/n)");
    await until(page, "crasher", "dead", "viewer-3-input_wait.png");

    expect(conductor.sendInput("migrate", "y")).toBe(true);
    expect(await hub.input("migrate#1")).toBe("y");
    await hub.send("migrate#1", { op: "print", text: "applying 001_users ok" });
    await until(page, "migrate", "healthy", "viewer-4-answered.png");
    await hub.send("migrate#1", { op: "exit", code: 0 });
    await until(page, "migrate", "completed", "viewer-5-completed.png");

    // The last move is drawn bold, and the history lists moves with their reasons.
    const last = page.locator('section[data-session="migrate"] svg.chart g.edge.last');
    expect([await last.getAttribute("data-from"), await last.getAttribute("data-to")]).toEqual([
      "healthy",
      "completed",
    ]);
    const history = await page.locator('section[data-session="migrate"] ol.history li').allTextContents();
    expect(history[0]).toMatch(/healthy → completed\s*exit_0/);
    expect(history.join("\n")).toMatch(/healthy → input_wait\s*input_wait:yes_no/);
    const crasher = await page.locator('section[data-session="crasher"] dl.facts').textContent();
    expect(crasher).toMatch(/restarts\s*1/);
    expect(crasher).toMatch(/failure\s*exit_nonzero/);

    await conductor.shutdown("test_end");
    await viewer.close();
    await page.waitForSelector("#status.ended");
    await page.screenshot({ path: join(ARTIFACTS, "viewer-6-run-ended.png"), fullPage: true });
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  }, 60_000);
});
