/**
 * One naming style for the event log (docs/event-log.md): every name the sources log is
 * `domain.snake_case`, every line of a real conductor's log carries `v`, and the migration table
 * in the docs is the one the code knows.
 */
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createConductor } from "../src/conductor.js";
import { readEventLog } from "../src/event-log.js";
import {
  EVENT_LOG_VERSION,
  EVENT_NAME_PATTERN,
  RENAMED_EVENTS,
  snakeCase,
  upgradeEventLogLine,
} from "../src/event-log-format.js";

const ROOT = join(import.meta.dirname, "..");

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(ROOT, dir, f));
}

/** Literal first arguments of `log(…)`, `this.log(…)`, `opts.log?.(…)` and `.append(…)` calls. */
function loggedNames(text: string): string[] {
  const calls = /(?<!console\.)\b(?:log|append)(?:\?\.)?\(\s*"([^"]*)"/g;
  // A name inside a template (`append("${event}")` in a warning's text) is not a call.
  return [...text.matchAll(calls)].map((m) => m[1]!).filter((name) => !name.includes("${"));
}

describe("event log names", () => {
  it("every name logged by src/ and actors/ is domain.snake_case", () => {
    const found = new Map<string, string>();
    for (const file of [...sourceFiles("src"), ...sourceFiles("actors")]) {
      for (const name of loggedNames(readFileSync(file, "utf8"))) found.set(name, file.slice(ROOT.length + 1));
    }
    // The scan must see the logs it polices, or it proves nothing.
    expect(found.has("session.state_change")).toBe(true);
    expect(found.has("pty.exit")).toBe(true);
    const bad = [...found].filter(([name]) => !EVENT_NAME_PATTERN.test(name));
    expect(bad).toEqual([]);
  });

  it("format-2 names in the migration table follow the style, and no old name is still logged", () => {
    const logged = new Set(
      [...sourceFiles("src"), ...sourceFiles("actors")].flatMap((f) => loggedNames(readFileSync(f, "utf8"))),
    );
    for (const [old, now] of Object.entries(RENAMED_EVENTS)) {
      expect(now).toMatch(EVENT_NAME_PATTERN);
      expect(logged.has(old)).toBe(false);
    }
  });

  it("docs/event-log.md lists exactly the renames the code knows", () => {
    const doc = readFileSync(join(ROOT, "docs/event-log.md"), "utf8");
    const table = doc.slice(doc.indexOf("<!-- migration-table"));
    const rows = [...table.matchAll(/^\| `([^`]+)`\s*\| `([^`]+)`\s*\|$/gm)].map((m) => [m[1], m[2]]);
    expect(Object.fromEntries(rows)).toEqual(RENAMED_EVENTS);
  });

  it("docs/event-log.md names every line the sources log (a dozen were missing: control.open, session.nudge, …)", () => {
    const doc = readFileSync(join(ROOT, "docs/event-log.md"), "utf8");
    const logged = new Set(
      [...sourceFiles("src"), ...sourceFiles("actors")].flatMap((f) => loggedNames(readFileSync(f, "utf8"))),
    );
    expect(logged.has("control.open")).toBe(true);
    expect([...logged].filter((name) => !doc.includes(`\`${name}\``))).toEqual([]);
  });

  it("broker events are snake_cased into their log names", () => {
    expect(`broker.${snakeCase("circuitHalfOpen")}`).toBe("broker.circuit_half_open");
    expect(`broker.${snakeCase("cooldown")}`).toBe("broker.cooldown");
  });

  it("a format-1 line reads as format 2; a format-2 line is left alone", () => {
    const old = { seq: 4, ts: "2026-01-01T00:00:00.000Z", event: "tree_gone", session: "a", attempt: 1 };
    expect(upgradeEventLogLine(old)).toEqual({ ...old, event: "reaper.tree_gone", v: EVENT_LOG_VERSION });
    const kept = { ...old, event: "pty.exit" };
    expect(upgradeEventLogLine(kept).event).toBe("pty.exit");
    const now = { seq: 5, ts: old.ts, event: "session.exit", v: EVENT_LOG_VERSION };
    expect(upgradeEventLogLine(now)).toBe(now);
  });

  it("every line of a real conductor's log carries v and a name in the style", async () => {
    const logsDir = mkdtempSync(join(tmpdir(), "conductor-names-"));
    const c = createConductor({ logsDir, graceMs: 1_000, handleSignals: false, enableMesh: false });
    const done = new Promise<void>((r) => c.on("allCompleted", () => r()));
    c.spawnSession({ id: "named", agent: "command", command: [process.execPath, "-e", "console.log('hi')"] });
    await done;
    await c.shutdown("test_end");
    const lines = await readEventLog(c.eventLogPath);
    const events = lines.map((l) => l.event);
    expect(events).toEqual(
      expect.arrayContaining(["conductor.start", "session.spawn", "session.state_change", "pty.exit", "session.exit"]),
    );
    expect(events.at(-1)).toBe("conductor.shutdown_complete");
    for (const line of lines) {
      expect(line.v).toBe(EVENT_LOG_VERSION);
      expect(line.event).toMatch(EVENT_NAME_PATTERN);
    }
  });
});
