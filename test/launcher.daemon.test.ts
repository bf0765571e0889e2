/**
 * codex's TUI leaves `codex app-server --managed-daemon` (and its `daemon pid-update-loop`) behind
 * with parent 1 after it exits (seen in the recordings of codex-cli 0.171.0; `codex exec`, which the
 * preset runs, starts none; the TUI has `--no-daemon`). The same shape with a real process: an agent
 * double-forks a daemon and exits; nothing of it may survive the session.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, expect, it } from "vitest";
import { type Conductor, createConductor } from "../src/conductor.js";
import { pidsWithCmdline } from "./helpers/marked.js";

const fixture = fileURLToPath(new URL("./fixtures/daemonize.mjs", import.meta.url));
const open: Conductor[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.shutdown("test_end")));
});

const alive = pidsWithCmdline;

it("a daemon double-forked by the agent (parent 1 once its parent exits) does not outlive the session", async () => {
  const mark = `daemon-mark-${process.pid}-${Date.now()}`;
  const c = createConductor({ logsDir: mkdtempSync(join(tmpdir(), "presets-daemon-")), handleSignals: false });
  open.push(c);
  const done = new Promise<string>((resolve) => {
    c.on("stateChange", (e: { to: string }) => {
      if (e.to === "completed" || e.to === "dead") resolve(e.to);
    });
  });
  c.spawnSession({ id: "tui", agent: "command", command: [process.execPath, fixture], env: { DAEMON_MARK: mark } });
  expect(await done).toBe("completed");
  // The daemon was started (its pid printed by the intermediate that then exited, leaving it orphaned).
  const out = readFileSync(c.getSnapshot()[0]?.outPath as string, "utf8");
  expect(Number(/DAEMON:(\d+)/.exec(out)?.[1] ?? 0)).toBeGreaterThan(1);
  await c.shutdown("test");
  expect(alive(mark)).toEqual([]);
});
