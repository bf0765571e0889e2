/**
 * The preset options through `spawnSession`, with a stand-in binary (`bin`) that prints the argv and
 * environment it received: what the `spawn` event records, and what the child really gets.
 */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { type Conductor, createConductor } from "../src/conductor.js";
import { readEventLog } from "../src/event-log.js";

const argvFixture = fileURLToPath(new URL("./fixtures/argv-json.mjs", import.meta.url));
const open: Conductor[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.shutdown("test_end")));
});

function conductor() {
  const c = createConductor({ logsDir: mkdtempSync(join(tmpdir(), "presets-")), graceMs: 1_000, handleSignals: false });
  open.push(c);
  return c;
}

/** An executable that prints its argv as `ARGV:[…]` and IS_SANDBOX as `IS_SANDBOX=<v>`. */
function standIn(): string {
  const file = join(mkdtempSync(join(tmpdir(), "presets-bin-")), "agent");
  writeFileSync(file, `#!/bin/sh\necho "IS_SANDBOX=$IS_SANDBOX"\nexec "${process.execPath}" "${argvFixture}" "$@"\n`);
  chmodSync(file, 0o755);
  return file;
}

function ended(c: Conductor, id: string): Promise<void> {
  return new Promise((resolve) => {
    const fn = (e: { sessionId: string; to: string }) => {
      if (e.sessionId !== id || (e.to !== "completed" && e.to !== "dead")) return;
      c.off("stateChange", fn);
      resolve();
    };
    c.on("stateChange", fn);
  });
}

describe("preset options through spawnSession", () => {
  it("the spawn event records approvals and output; extraArgs reach the agent after the preset's flags", async () => {
    const c = conductor();
    const done = ended(c, "g");
    c.spawnSession({
      id: "g",
      agent: "gemini",
      prompt: "hi",
      bin: standIn(),
      approvals: "prompt",
      trustWorkdir: true,
      extraArgs: ["--include-directories", "lib"],
    });
    await done;
    const out = readFileSync(c.getSnapshot()[0]?.outPath as string, "utf8");
    const argv = JSON.parse(/ARGV:(.*)/.exec(out)?.[1] ?? "null");
    expect(argv).toEqual([
      "--approval-mode",
      "default",
      "--skip-trust",
      "--output-format",
      "stream-json",
      "--include-directories",
      "lib",
      "-p",
      "hi",
    ]);
    const spawn = (await readEventLog(c.eventLogPath)).find((l) => l.event === "session.spawn");
    expect(spawn).toMatchObject({ approvals: "prompt", output: "stream" });
  });

  it("the seed spelling still works, and its default approvals are bypass", async () => {
    const c = conductor();
    const done = ended(c, "seed");
    c.spawnSession({
      id: "seed",
      agent: "codex",
      prompt: "fix the build",
      profile: "work",
      model: "m",
      bin: standIn(),
    });
    await done;
    const spawn = (await readEventLog(c.eventLogPath)).find((l) => l.event === "session.spawn");
    expect(spawn).toMatchObject({ approvals: "bypass", output: "stream" });
    expect(spawn?.argv).toContain("--dangerously-bypass-approvals-and-sandbox");
  });

  it.runIf(process.getuid?.() === 0)(
    "as root, explicit bypass gives claude IS_SANDBOX=1; the default is refused",
    async () => {
      const c = conductor();
      expect(() => c.spawnSession({ id: "refused", agent: "claude", prompt: "p", bin: standIn() })).toThrow(
        /claude refuses --dangerously-skip-permissions as root unless IS_SANDBOX=1/,
      );
      const done = ended(c, "root");
      c.spawnSession({ id: "root", agent: "claude", prompt: "p", bin: standIn(), approvals: "bypass" });
      await done;
      const out = readFileSync(c.getSnapshot().find((s) => s.id === "root")?.outPath as string, "utf8");
      expect(out).toContain("IS_SANDBOX=1");
    },
  );
});

describe("a command that runs one of the three CLIs", () => {
  it("is judged as that CLI by its program's name (claude -p's silence is no start-up timeout); judgeAs wins", () => {
    // A field review: `["claude", "-p", …]` without judgeAs was judged as a plain command, and its
    // silent one-shot run was killed at the 120 s start-up timeout and run again from the start.
    const dir = mkdtempSync(join(tmpdir(), "judged-by-program-"));
    const claude = join(dir, "claude");
    writeFileSync(claude, "#!/bin/sh\nsleep 30\n");
    chmodSync(claude, 0o755);
    const c = conductor();
    const policy = (id: string) => c.actor.getSnapshot().context.sessions[id]!.getSnapshot().context.policy;
    c.spawnSession({ id: "a", agent: "command", command: [claude, "-p", "review"] });
    expect(policy("a").judgeAs).toBe("claude");
    c.spawnSession({ id: "b", agent: "command", command: [claude, "-p", "review"], judgeAs: "command" });
    expect(policy("b").judgeAs).toBe("command");
    c.spawnSession({ id: "c", agent: "command", command: ["sh", "-c", "sleep 30"] });
    expect(policy("c").judgeAs).toBe(null);
  });
});
