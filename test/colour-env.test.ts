/**
 * A run of a CLI judged by its ink (claude, codex) inherits no switch that takes its colour (`NO_COLOR`,
 * `FORCE_COLOR=0`) from the conductor: told one, they draw their errors in the default ink like the
 * model's words (recorded: test/fixtures/agents/<cli>/tui-auth-401-no-color.cast) and an answer quoting
 * one is judged by its words alone. The session's own `env` is the embedder's choice and is kept; a CLI
 * judged by its words (gemini, a plain command) keeps what it inherits. Real ptys, a real conductor.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { inheritedColourOff } from "../actors/colour-env.js";
import { createConductor } from "../src/conductor.js";
import { readEventLog } from "../src/event-log.js";

describe("inheritedColourOff", () => {
  it("names NO_COLOR (non-empty) and FORCE_COLOR 0/false that the session does not set itself", () => {
    expect(inheritedColourOff({ NO_COLOR: "1", FORCE_COLOR: "0", PATH: "/bin" }, {})).toEqual([
      "NO_COLOR",
      "FORCE_COLOR",
    ]);
    expect(inheritedColourOff({ NO_COLOR: "", FORCE_COLOR: " False " }, undefined)).toEqual(["FORCE_COLOR"]);
    // Colour forced on, or no switch at all: nothing to leave out.
    expect(inheritedColourOff({ FORCE_COLOR: "1" }, {})).toEqual([]);
    expect(inheritedColourOff({ FORCE_COLOR: "3", PATH: "/bin" }, {})).toEqual([]);
    // The session's own env decides for itself.
    expect(inheritedColourOff({ NO_COLOR: "1", FORCE_COLOR: "0" }, { NO_COLOR: "1", FORCE_COLOR: "2" })).toEqual([]);
  });
});

/** The child prints what it was given of the two switches. */
const PRINT_SWITCHES = [
  process.execPath,
  "-e",
  `console.log("switches " + JSON.stringify({ NO_COLOR: process.env.NO_COLOR ?? null, FORCE_COLOR: process.env.FORCE_COLOR ?? null }))`,
];

describe("a run's colour switches, through createConductor on real ptys", () => {
  const saved = { NO_COLOR: process.env.NO_COLOR, FORCE_COLOR: process.env.FORCE_COLOR };
  beforeEach(() => {
    // As a developer's shell exports them.
    process.env.NO_COLOR = "1";
    process.env.FORCE_COLOR = "0";
  });
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it("an ink-judged CLI's run inherits neither; its own env keeps them; a word-judged one inherits them", async () => {
    const logsDir = mkdtempSync(join(tmpdir(), "colour-env-"));
    const c = createConductor({ logsDir, graceMs: 1_000, handleSignals: false, enableMesh: false });
    const ids = ["claude-like", "codex-like", "own-env", "gemini-like", "plain"];
    const done = new Promise<void>((r) => c.on("allCompleted", () => r()));
    c.spawnSession({ id: "claude-like", agent: "command", judgeAs: "claude", command: PRINT_SWITCHES });
    c.spawnSession({ id: "codex-like", agent: "command", judgeAs: "codex", command: PRINT_SWITCHES });
    c.spawnSession({
      id: "own-env",
      agent: "command",
      judgeAs: "claude",
      command: PRINT_SWITCHES,
      env: { NO_COLOR: "yes" },
    });
    c.spawnSession({ id: "gemini-like", agent: "command", judgeAs: "gemini", command: PRINT_SWITCHES });
    c.spawnSession({ id: "plain", agent: "command", command: PRINT_SWITCHES });
    await done;
    const seen = (id: string) => {
      const out = readFileSync(c.getSnapshot().find((s) => s.id === id)!.outPath!, "utf8");
      return JSON.parse(/switches (\{.*\})/.exec(out)![1]!);
    };
    expect(seen("claude-like")).toEqual({ NO_COLOR: null, FORCE_COLOR: null });
    expect(seen("codex-like")).toEqual({ NO_COLOR: null, FORCE_COLOR: null });
    expect(seen("own-env")).toEqual({ NO_COLOR: "yes", FORCE_COLOR: null });
    expect(seen("gemini-like")).toEqual({ NO_COLOR: "1", FORCE_COLOR: "0" });
    expect(seen("plain")).toEqual({ NO_COLOR: "1", FORCE_COLOR: "0" });
    expect(c.getSnapshot().map((s) => [s.id, s.state])).toEqual(ids.map((id) => [id, "completed"]));
    await c.shutdown("test_end");
    // The run's log names what it left out (names only).
    const unset = (await readEventLog(c.eventLogPath)).filter((l) => l.event === "pty.env_unset");
    expect(unset.map((l) => [l.session, l.names]).sort()).toEqual([
      ["claude-like", ["NO_COLOR", "FORCE_COLOR"]],
      ["codex-like", ["NO_COLOR", "FORCE_COLOR"]],
      ["own-env", ["FORCE_COLOR"]],
    ]);
  }, 60_000);
});
