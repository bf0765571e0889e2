/**
 * `resumeCommand`: a `command` session's restarts under `restart.mode: "resume"` run the argv given
 * (a TUI's own resume, `claude --continue`, `codex resume --last`, `gemini --resume latest`), so a
 * restarted TUI goes on with its conversation instead of a new one. Refused where it would never
 * run (a preset, restarts that are `fresh`), never dropped in silence.
 */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type Conductor, createConductor } from "../src/conductor.js";
import { validateSpawnConfig } from "../src/conductor-options.js";
import { parseRunConfig, resolveRelativeTo } from "../src/config.js";
import { readEventLog } from "../src/event-log.js";
import { buildLaunchSync, planLaunch } from "../src/launcher.js";

const open: Conductor[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.shutdown("test_end")));
});

function conductor(dir: string, restart?: { mode: "fresh" | "resume" }): Conductor {
  const c = createConductor({ logsDir: join(dir, "logs"), handleSignals: false, ...(restart ? { restart } : {}) });
  open.push(c);
  return c;
}

const ended = (c: Conductor, id: string) =>
  new Promise<string>((resolve) =>
    c.on("stateChange", (e) => e.sessionId === id && (e.to === "completed" || e.to === "dead") && resolve(e.to)),
  );

describe("resumeCommand", () => {
  it("a crashed run's restart runs resumeCommand, and the event log says it resumed with that argv", async () => {
    const dir = mkdtempSync(join(tmpdir(), "resume-command-"));
    const c = conductor(dir);
    const done = ended(c, "tui");
    c.spawnSession({
      id: "tui",
      agent: "command",
      command: ["sh", "-c", "echo first run; exit 3"],
      resumeCommand: ["sh", "-c", 'echo "resumed: $0"; exit 0', "continue"],
      restart: { mode: "resume" },
    });
    expect(await done).toBe("completed");
    const out = readFileSync(c.getSnapshot()[0]?.outPath as string, "utf8");
    expect(out).toContain("first run");
    expect(out).toContain("resumed: continue");
    const spawns = (await readEventLog(c.eventLogPath)).filter((l) => l.event === "session.spawn");
    expect(spawns.map((l) => l.mode)).toEqual(["fresh", "resume"]);
    const argv = spawns[1]?.argv as string[];
    // argv[0] is looked up on PATH like command[0].
    expect(argv[0]).toMatch(/^\/.*\/sh$/);
    expect(argv.slice(1)).toEqual(["-c", 'echo "resumed: $0"; exit 0', "continue"]);
    expect(c.getSnapshot()[0]).toMatchObject({ state: "completed", restarts: 1 });
  });

  it("the conductor's restart.mode resume is enough; a program of its own is looked up on PATH", async () => {
    const dir = mkdtempSync(join(tmpdir(), "resume-command-"));
    const bin = join(dir, "bin");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(bin);
    writeFileSync(join(bin, "resume-tui"), "#!/bin/sh\necho resumed-by-own-program\n");
    chmodSync(join(bin, "resume-tui"), 0o755);
    const launch = buildLaunchSync({
      agent: "command",
      command: ["sh", "-c", "exit 1"],
      resumeCommand: ["resume-tui", "--last"],
      searchEnv: { PATH: `${bin}:${process.env.PATH}` },
    });
    expect(launch.resumeArgv).toEqual([join(bin, "resume-tui"), "--last"]);
    expect(launch.argv[0]).toMatch(/\/sh$/);
    const c = conductor(dir, { mode: "resume" });
    expect(() =>
      c.spawnSession({ id: "a", agent: "command", command: ["true"], resumeCommand: ["true", "--again"] }),
    ).not.toThrow();
  });

  it("restarts that stay fresh would never run it: refused at spawnSession, naming the fix", () => {
    const dir = mkdtempSync(join(tmpdir(), "resume-command-"));
    const c = conductor(dir);
    const spawn = () =>
      c.spawnSession({ id: "b", agent: "command", command: ["claude"], resumeCommand: ["claude", "--continue"] });
    expect(spawn).toThrow(/resumeCommand .* restarts are "fresh": add restart: \{ mode: "resume" \}/);
    try {
      spawn();
    } catch (e) {
      expect(e).toMatchObject({ code: "INVALID_OPTIONS", field: "resumeCommand" });
    }
    expect(() =>
      c.spawnSession({
        id: "b2",
        agent: "command",
        command: ["claude"],
        resumeCommand: ["claude", "--continue"],
        restart: { mode: "fresh" },
      }),
    ).toThrow(/resumeCommand/);
    expect(c.getSnapshot()).toEqual([]);
  });

  it("a command's own restart.mode resume without resumeCommand is refused: its restarts would be fresh", () => {
    const c = conductor(mkdtempSync(join(tmpdir(), "resume-command-")));
    const spawn = () => c.spawnSession({ id: "t", agent: "command", command: ["gemini"], restart: { mode: "resume" } });
    expect(spawn).toThrow(/has none: give the program's own resume/);
    // The conductor's mode is every session's: a command without one keeps running its command.
    const all = conductor(mkdtempSync(join(tmpdir(), "resume-command-")), { mode: "resume" });
    expect(() => all.spawnSession({ id: "t", agent: "command", command: ["true"] })).not.toThrow();
  });

  it("a preset resumes with its own flags: resumeCommand is refused there", () => {
    const config = {
      id: "p",
      agent: "gemini",
      prompt: "x",
      resumeCommand: ["gemini", "--resume", "latest"],
      restart: { mode: "resume" },
    };
    expect(() => validateSpawnConfig(config)).toThrow(/resumeCommand.*only allowed with agent "command"/);
    expect(() => planLaunch({ agent: "gemini", prompt: "x", resumeCommand: ["gemini"] })).toThrow(/resumeCommand/);
  });

  it("in a run-config file, a relative program path in resumeCommand is relative to the file", () => {
    const config = resolveRelativeTo(
      parseRunConfig(
        {
          restart: { mode: "resume" },
          sessions: [{ id: "t", agent: "command", command: ["./tui.sh"], resumeCommand: ["./tui.sh", "--continue"] }],
        },
        "run.json",
      ),
      "/srv/project",
    );
    expect(config.sessions[0]).toMatchObject({
      command: ["/srv/project/tui.sh"],
      resumeCommand: ["/srv/project/tui.sh", "--continue"],
    });
  });
});
