/**
 * Every step of `shutdown()` runs whatever one step throws. A field review made the logs directory
 * read-only under a run: removing the survivors-ledger entry threw EROFS, so the event log was never
 * closed, `shutdown` never fired, `shutdown()` rejected with a bare Node error and the control socket
 * kept `conductor run` alive. Here the entry is made unremovable without privileges: it is swapped
 * for a non-empty directory, which `rmSync(file, { force: true })` refuses as a read-only mount would.
 */
import { spawn } from "node:child_process";
import fs, { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { createConductor } from "../src/conductor.js";
import { listConductors } from "../src/control/registry.js";
import { readEventLog } from "../src/event-log.js";
import { shutdownSteps } from "../src/shutdown-steps.js";
import { LEDGER_DIR } from "../src/survivors.js";
import { distModule } from "./helpers/dist.js";
import { MARK_VAR, newMark, waitMarked } from "./helpers/marked.js";

const tmp = mkdtempSync(join(tmpdir(), "shutdown-steps-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

/** Each ledger entry in `logsDir` replaced by a non-empty directory of its name: its unlink fails. */
function jamLedger(logsDir: string): string[] {
  const dir = join(logsDir, LEDGER_DIR);
  const jammed = readdirSync(dir).filter((f) => f.endsWith(".json"));
  for (const f of jammed) {
    rmSync(join(dir, f));
    mkdirSync(join(dir, f));
    writeFileSync(join(dir, f, "x"), "");
  }
  return jammed;
}

describe("shutdown() when a step fails", () => {
  it("a step that throws is logged and warned about, and the next step runs", async () => {
    const lines: Array<[string, unknown]> = [];
    const warnings = vi.spyOn(process, "emitWarning").mockImplementation(() => {});
    const step = shutdownSteps(
      (event, data) => lines.push([event, data]),
      () => false,
    );
    const ran: string[] = [];
    expect(
      await step("ledger", () => {
        throw new Error("EROFS: read-only file system");
      }),
    ).toBeUndefined();
    expect(await step("event_log", async () => ran.push("event_log"))).toBe(1);
    expect(ran).toEqual(["event_log"]);
    expect(lines).toEqual([["conductor.shutdown_error", { step: "ledger", error: "EROFS: read-only file system" }]]);
    expect(String(warnings.mock.calls[0]?.[0])).toMatch(/shutdown step "ledger" failed: EROFS/);
  });

  it("defect: an unremovable ledger entry stopped shutdown half-way (log open, no shutdown event, socket open)", async () => {
    const logsDir = join(tmp, "facade");
    const name = `steps-${process.pid}`;
    const c = createConductor({ logsDir, handleSignals: false, graceMs: 500, control: { name } });
    const server = await c.control;
    expect(server).not.toBeNull();
    expect(jamLedger(logsDir)).toHaveLength(1);
    let shutdownEvents = 0;
    c.on("shutdown", () => shutdownEvents++);
    // The socket file is unremovable too (it was on the same read-only mount): the server closes anyway.
    const socket = join(logsDir, "control.sock");
    rmSync(socket);
    mkdirSync(socket);
    writeFileSync(join(socket, "x"), "");
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    await expect(c.shutdown("test")).resolves.toBeUndefined();
    // The CLI closes it again after shutdown(): the same outcome, not a rejection.
    await expect(server?.close()).resolves.toBeUndefined();
    expect(stderr.mock.calls.join("")).toMatch(/control socket \S+control\.sock left behind: /);
    stderr.mockRestore();
    expect(shutdownEvents).toBe(1);
    expect(listConductors().filter((e) => e.name === name)).toEqual([]);
    const lines = await readEventLog(c.eventLogPath);
    const ledger = lines.find((l) => l.event === "conductor.ledger_error");
    expect(ledger).toMatchObject({ left: true, path: expect.stringContaining(LEDGER_DIR) });
    // Said after shutdown_complete, then the log was closed (its fd is not left open).
    expect(lines.slice(-2).map((l) => l.event)).toEqual(["conductor.shutdown_complete", "conductor.ledger_error"]);
  });

  it("defect: a refused conductor whose ledger entry cannot be removed threw that fs error, not its own", () => {
    const logsDir = join(tmp, "abandon");
    const real = fs.rmSync;
    vi.spyOn(fs, "rmSync").mockImplementation((path, opts) => {
      if (String(path).includes(LEDGER_DIR))
        throw Object.assign(new Error(`EROFS: read-only file system, unlink '${String(path)}'`), { code: "EROFS" });
      return real(path, opts);
    });
    expect(() => createConductor({ logsDir, handleSignals: false, accounts: "./no-such-accounts.json" })).toThrow(
      /there is no such file/,
    );
  });
});

const { path: cli, built } = distModule("src/cli/main.js");

describe.skipIf(!built)("conductor run when a shutdown step fails", () => {
  it("defect: `conductor run` never exited once the ledger entry could not be removed", async () => {
    const logsDir = join(tmp, "cli-logs");
    const mark = newMark();
    const config = join(tmp, "run.json");
    // The session jams the ledger entry, then completes: the run shuts down with the entry stuck.
    const jam = `for f in "${logsDir}/${LEDGER_DIR}"/*.json; do rm "$f" && mkdir "$f" && : > "$f/x"; done; echo jammed`;
    writeFileSync(
      config,
      JSON.stringify({ sessions: [{ id: "jam", agent: "command", command: ["sh", "-c", jam], expect: "completed" }] }),
    );
    const child = spawn(process.execPath, [cli, "run", config, "--logs-dir", logsDir, "--name", `jam-${process.pid}`], {
      env: { ...process.env, [MARK_VAR]: mark },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    // A bound for a hung run (it never exited before the fix), not a timing gate.
    const code = await new Promise<number | string>((resolve) => {
      const hung = setTimeout(() => {
        child.kill("SIGKILL");
        resolve("hung");
      }, 60_000);
      child.on("exit", (c, signal) => {
        clearTimeout(hung);
        resolve(c ?? String(signal));
      });
    });
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toMatch(/summary:/);
    expect(stdout).toMatch(/ok\s+jam/);
    const lines = await readEventLog(join(logsDir, "conductor-events.jsonl"));
    expect(lines.map((l) => l.event)).toContain("conductor.ledger_error");
    // A bound, not a gate: the run's last children are SIGKILLed as it exits (PDEATHSIG), and on a loaded
    // machine one may not have died yet when it is looked for (3 were seen alive under another job's load).
    expect(await waitMarked(mark, (n) => n === 0, 10_000)).toEqual([]);
  }, 90_000);
});
