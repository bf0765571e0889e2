/**
 * Per-run argv: a profile-mode lease gives codex `--profile <p>` (issue 14), and a resumed run uses
 * the agent's own session id from the previous run's stream when there is one.
 */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { type Conductor, createConductor } from "../src/conductor.js";
import { readEventLog } from "../src/event-log.js";
import { planLaunch } from "../src/launcher.js";
import { createRunArgv } from "../src/run-argv.js";

const logged: { event: string; data: Record<string, unknown> }[] = [];
function runArgv(env: Record<string, string> = {}, agentSessionId: string | null = null) {
  logged.length = 0;
  return createRunArgv({
    envFor: (ref) => (ref === "lease#1" ? { set: env, unset: [] } : undefined),
    agentSessionIdOf: () => agentSessionId,
    log: (event, data) => logged.push({ event, data }),
  });
}

describe("adjust", () => {
  const codex = planLaunch({ agent: "codex", prompt: "task", asRoot: false });

  it("a profile-mode lease puts --profile <p> right after exec, for fresh and resumed runs", () => {
    const r = runArgv({ CODEX_PROFILE: "alt" });
    r.register("s", { agent: "codex", resumeArgv: codex.resumeArgv });
    expect(r.adjust("s", codex.argv, "lease#1").slice(0, 4)).toEqual(["codex", "exec", "--profile", "alt"]);
    expect(r.adjust("s", codex.resumeArgv ?? [], "lease#1").slice(0, 6)).toEqual([
      "codex",
      "exec",
      "--profile",
      "alt",
      "resume",
      "--last",
    ]);
    expect(logged.at(-1)).toEqual({ event: "session.run_argv", data: { session: "s", changes: ["profile"] } });
  });

  it("the leased profile replaces the session's own", () => {
    const own = planLaunch({ agent: "codex", prompt: "task", profile: "mine", asRoot: false });
    const r = runArgv({ CODEX_PROFILE: "alt" });
    r.register("s", { agent: "codex", resumeArgv: own.resumeArgv });
    const argv = r.adjust("s", own.argv, "lease#1");
    expect(argv.filter((a) => a === "--profile")).toHaveLength(1);
    expect(argv.slice(1, 4)).toEqual(["exec", "--profile", "alt"]);
  });

  it("no lease, other modes, other agents, unregistered sessions: unchanged", () => {
    const r = runArgv({ OPENAI_API_KEY: "sk-x" });
    r.register("s", { agent: "codex", resumeArgv: codex.resumeArgv });
    expect(r.adjust("s", codex.argv, undefined)).toEqual(codex.argv);
    expect(r.adjust("s", codex.argv, "lease#1")).toEqual(codex.argv);
    expect(r.adjust("other", codex.argv, "lease#1")).toEqual(codex.argv);
    expect(logged).toEqual([]);
  });

  it("resume with the stream's session id: claude --resume <id>, codex exec resume <id>; gemini keeps latest", () => {
    const id = "f5984698-9cc5-4247-9cf1-b61dd6abd1a3";
    for (const agent of ["claude", "codex", "gemini"] as const) {
      const spec = planLaunch({ agent, prompt: "task", asRoot: false });
      const r = runArgv({}, id);
      r.register("s", { agent, resumeArgv: spec.resumeArgv });
      const resumed = r.adjust("s", spec.resumeArgv ?? [], undefined);
      if (agent === "claude") {
        expect(resumed.slice(0, -4)).toEqual(spec.resumeArgv?.slice(0, -3));
        expect(resumed.slice(-4)).toEqual(["--resume", id, "--", "Continue the task from where you stopped."]);
      } else if (agent === "codex") {
        expect(resumed.slice(0, 4)).toEqual(["codex", "exec", "resume", id]);
        expect(resumed).not.toContain("--last");
      } else {
        expect(resumed).toEqual(spec.resumeArgv);
      }
      // A fresh run is never turned into a resume.
      expect(r.adjust("s", spec.argv, undefined)).toEqual(spec.argv);
    }
  });

  it("no session id yet: the resume argv is kept (--continue / --last)", () => {
    const spec = planLaunch({ agent: "claude", prompt: "task", asRoot: false });
    const r = runArgv({}, null);
    r.register("s", { agent: "claude", resumeArgv: spec.resumeArgv });
    expect(r.adjust("s", spec.resumeArgv ?? [], undefined)).toEqual(spec.resumeArgv);
  });
});

describe("through the conductor", () => {
  const open: Conductor[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.shutdown("test_end")));
  });

  it("defect: a run restarted mid-answer is resumed by the id its stream named before (was: --continue until the run had exited)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "presets-resume-"));
    const bin = join(dir, "claude");
    // A resumed run prints its argv and ends; a first run names its conversation, then works on.
    writeFileSync(
      bin,
      `#!/bin/sh
case " $* " in *" --resume "*) echo "RESUMED: $*"; exit 0;; esac
` +
        `echo '{"type":"system","subtype":"init","session_id":"conv-7f3a"}'
exec sleep 60
`,
    );
    chmodSync(bin, 0o755);
    const c = createConductor({ logsDir: join(dir, "logs"), handleSignals: false });
    open.push(c);
    c.spawnSession({
      id: "r",
      agent: "claude",
      prompt: "fix the build",
      bin,
      approvals: "bypass",
      restart: { mode: "resume" },
    });
    const outPath = c.getSnapshot()[0]?.outPath as string;
    const printed = () => {
      try {
        return readFileSync(outPath, "utf8");
      } catch {
        return "";
      }
    };
    while (!printed().includes("conv-7f3a")) await new Promise((r) => setTimeout(r, 20));
    const done = new Promise<string>((resolve) =>
      c.on("stateChange", (e: { to: string }) => (e.to === "completed" || e.to === "dead") && resolve(e.to)),
    );
    await c.restartSession("r", "test");
    expect(await done).toBe("completed");
    expect(printed()).toMatch(/RESUMED: .*--resume conv-7f3a -- /);
    expect(printed()).not.toMatch(/RESUMED: .*--continue/);
    // The event log says what ran: the spawn line carries the adjusted argv, not the preset's.
    const spawns = (await readEventLog(c.eventLogPath)).filter((l) => l.event === "session.spawn");
    expect(spawns.map((l) => l.mode)).toEqual(["fresh", "resume"]);
    expect(((spawns[1]?.argv ?? []) as string[]).join(" ")).toMatch(/--resume conv-7f3a -- /);
  });

  it("a codex session on a profile-mode account runs with --profile <p> and CODEX_PROFILE", async () => {
    const dir = mkdtempSync(join(tmpdir(), "presets-profile-"));
    const bin = join(dir, "codex");
    const argvFixture = fileURLToPath(new URL("./fixtures/argv-json.mjs", import.meta.url));
    writeFileSync(
      bin,
      `#!/bin/sh\necho "CODEX_PROFILE=$CODEX_PROFILE"\nexec "${process.execPath}" "${argvFixture}" "$@"\n`,
    );
    chmodSync(bin, 0o755);
    const c = createConductor({
      logsDir: join(dir, "logs"),
      handleSignals: false,
      accounts: { providers: { codex: [{ id: "alt", mode: "profile", profile: "alt-profile" }] } },
      brokerStateFile: join(dir, "broker.json"),
      credentialsDir: join(dir, "creds"),
    });
    open.push(c);
    const done = new Promise<string>((resolve) =>
      c.on("stateChange", (e: { to: string }) => {
        if (e.to === "completed" || e.to === "dead") resolve(e.to);
      }),
    );
    c.spawnSession({ id: "p", agent: "codex", prompt: "fix the build", bin, account: true, approvals: "prompt" });
    expect(await done).toBe("completed");
    const out = readFileSync(c.getSnapshot()[0]?.outPath as string, "utf8");
    expect(out).toContain("CODEX_PROFILE=alt-profile");
    const argv = JSON.parse(/ARGV:(.*)/.exec(out)?.[1] ?? "null") as string[];
    expect(argv.slice(0, 3)).toEqual(["exec", "--profile", "alt-profile"]);
    const log = await readEventLog(c.eventLogPath);
    expect(log.find((l) => l.event === "session.run_argv")).toMatchObject({ session: "p", changes: ["profile"] });
  });
});
