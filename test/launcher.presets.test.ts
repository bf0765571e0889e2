/**
 * The flags each preset derives from each option, as a table per CLI (flags checked against
 * claude-code 2.1.197, codex-cli 0.171.0 and gemini-cli 0.61.0 `--help`), claude's root rule,
 * extraArgs placement and the resume argv.
 */
import { describe, expect, it } from "vitest";
import { LaunchError, type LaunchOptions, planLaunch } from "../src/launcher.js";

type Agent = "claude" | "codex" | "gemini";
const base = { prompt: "task", asRoot: false } as const;
const argvOf = (agent: Agent, opts: Partial<LaunchOptions> = {}) => planLaunch({ agent, ...base, ...opts }).argv;

/** The elements `opts` adds to (+) or removes from (-) the preset's default argv, in order. */
function delta(agent: Agent, opts: Partial<LaunchOptions>) {
  const before = argvOf(agent);
  const after = argvOf(agent, opts);
  return { added: after.filter((a) => !before.includes(a)), removed: before.filter((a) => !after.includes(a)) };
}

describe("flags per CLI × option", () => {
  const table: [Agent, Partial<LaunchOptions>, string[], string[]][] = [
    // agent, option, added, removed
    ["claude", { approvals: "prompt" }, ["--permission-mode", "default"], ["--dangerously-skip-permissions"]],
    ["codex", { approvals: "prompt" }, [], ["--dangerously-bypass-approvals-and-sandbox"]],
    ["gemini", { approvals: "prompt" }, ["default"], ["yolo"]],
    ["claude", { trustWorkdir: true }, [], []],
    ["codex", { trustWorkdir: true }, ["--skip-git-repo-check"], []],
    ["gemini", { trustWorkdir: true }, ["--skip-trust"], []],
    ["claude", { output: "text" }, [], ["--output-format", "stream-json", "--verbose", "--include-partial-messages"]],
    ["codex", { output: "text" }, [], ["--json"]],
    ["gemini", { output: "text" }, [], ["--output-format", "stream-json"]],
    ["claude", { model: "opus" }, ["--model", "opus"], []],
    ["codex", { model: "o3" }, ["--model", "o3"], []],
    ["gemini", { model: "g" }, ["--model", "g"], []],
    ["codex", { profile: "work" }, ["--profile", "work"], []],
    ["codex", { resultFile: "/r.md" }, ["--output-last-message", "/r.md"], []],
    ["claude", { resultFile: "/r.md" }, [], []],
  ];
  it.each(table)("%s %j", (agent, opts, added, removed) => {
    expect(delta(agent, opts)).toEqual({ added, removed });
  });

  it("defaults: approvals bypass and stream output, the prompt last", () => {
    expect(argvOf("claude")).toEqual([
      "claude",
      "-p",
      "--dangerously-skip-permissions",
      "--output-format",
      "stream-json",
      "--verbose",
      "--include-partial-messages",
      "--",
      "task",
    ]);
    expect(argvOf("codex")).toEqual([
      "codex",
      "exec",
      "--dangerously-bypass-approvals-and-sandbox",
      "--json",
      "--",
      "task",
    ]);
    expect(argvOf("gemini")).toEqual([
      "gemini",
      "--approval-mode",
      "yolo",
      "--output-format",
      "stream-json",
      "-p",
      "task",
    ]);
  });

  it("trust also reaches gemini through its environment variable", () => {
    expect(planLaunch({ agent: "gemini", ...base, trustWorkdir: true }).env).toEqual({
      GEMINI_CLI_TRUST_WORKSPACE: "true",
    });
    expect(planLaunch({ agent: "gemini", ...base }).env).toEqual({});
  });

  it("records what was decided for the spawn event and the result capture", () => {
    expect(planLaunch({ agent: "claude", ...base, resultFile: "/r" }).preset).toEqual({
      approvals: "bypass",
      trustWorkdir: false,
      output: "stream",
      stream: "claude-stream-json",
      conductorWritesResult: true,
    });
    expect(planLaunch({ agent: "gemini", ...base, output: "text", resultFile: "/r" }).preset).toMatchObject({
      stream: null,
      conductorWritesResult: false,
    });
  });

  it("rejects values that are not options", () => {
    const err = (opts: Partial<LaunchOptions>) => {
      try {
        planLaunch({ agent: "codex", ...base, ...opts });
      } catch (e) {
        return e as LaunchError;
      }
      throw new Error("expected a LaunchError");
    };
    expect(err({ approvals: "yes" as never }).message).toBe('approvals must be "bypass" or "prompt", got "yes"');
    expect(err({ output: "json" as never }).message).toBe('output must be "stream" or "text", got "json"');
    expect(err({ extraArgs: "--x" as never }).code).toBe("INVALID_OPTION");
  });
});

describe("extraArgs", () => {
  it.each(["claude", "codex", "gemini"] as const)("%s: after the preset's flags, before the prompt", (agent) => {
    const argv = argvOf(agent, { extraArgs: ["--add-dir", "../lib"] });
    const at = argv.indexOf("--add-dir");
    expect(argv.slice(at, at + 2)).toEqual(["--add-dir", "../lib"]);
    const promptAt = argv.lastIndexOf("task");
    // Only the prompt (and its `--` or `-p`) follows them.
    expect(argv.slice(at + 2, promptAt)).toEqual([agent === "gemini" ? "-p" : "--"]);
    const withoutExtra = argvOf(agent);
    expect(argv.filter((a) => a !== "--add-dir" && a !== "../lib")).toEqual(withoutExtra);
  });

  it.each([
    ["claude", "--dangerously-skip-permissions", "approvals"],
    ["claude", "--output-format=json", "output"],
    ["codex", "--json", "output"],
    ["codex", "--skip-git-repo-check", "trustWorkdir"],
    ["gemini", "--yolo", "approvals"],
    ["gemini", "--prompt=x", "prompt"],
    ["gemini", "--skip-trust", "trustWorkdir"],
  ] as const)("%s: %s is set from %s, not from extraArgs", (agent, flag, option) => {
    expect(() => argvOf(agent, { extraArgs: [flag] })).toThrow(
      new RegExp(`contains "${flag.split("=")[0]}", which the preset sets from the "${option}" option`),
    );
  });
});

describe("claude as root (it refuses --dangerously-skip-permissions unless IS_SANDBOX=1)", () => {
  const root = { agent: "claude", prompt: "x", asRoot: true, searchEnv: {} } as const;

  it("default bypass as root fails at the call, saying why and what to do", () => {
    let error: unknown;
    try {
      planLaunch(root);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LaunchError);
    expect((error as LaunchError).code).toBe("ROOT_BYPASS_REFUSED");
    expect((error as Error).message).toMatch(/refuses --dangerously-skip-permissions as root unless IS_SANDBOX=1/);
    expect((error as Error).message).toMatch(/pass approvals: "bypass" explicitly/);
    expect((error as Error).message).toMatch(/approvals: "prompt"/);
  });

  it("explicit bypass as root sets IS_SANDBOX=1", () => {
    const spec = planLaunch({ ...root, approvals: "bypass" });
    expect(spec.env).toEqual({ IS_SANDBOX: "1" });
    expect(spec.argv).toContain("--dangerously-skip-permissions");
  });

  it("IS_SANDBOX=1 already in the environment or in env: nothing to refuse, nothing added", () => {
    expect(planLaunch({ ...root, searchEnv: { IS_SANDBOX: "1" } }).env).toEqual({});
    expect(planLaunch({ ...root, env: { IS_SANDBOX: "1" } }).env).toEqual({ IS_SANDBOX: "1" });
  });

  it("not root, or approvals prompt: no IS_SANDBOX", () => {
    expect(planLaunch({ ...root, asRoot: false }).env).toEqual({});
    expect(planLaunch({ ...root, approvals: "prompt" }).env).toEqual({});
  });

  it("codex and gemini have no root rule", () => {
    expect(planLaunch({ ...root, agent: "codex" }).env).toEqual({});
    expect(planLaunch({ ...root, agent: "gemini" }).env).toEqual({});
  });
});

describe("resume argv", () => {
  it("claude: the same flags, --continue, then the resume prompt", () => {
    const spec = planLaunch({ agent: "claude", ...base, model: "opus", extraArgs: ["--add-dir", "x"] });
    expect(spec.resumeArgv).toEqual([
      ...spec.argv.slice(0, -2),
      "--continue",
      "--",
      "Continue the task from where you stopped.",
    ]);
  });

  it("codex: exec [--profile] resume --last, the same flags, the resume prompt", () => {
    const spec = planLaunch({ agent: "codex", ...base, profile: "work", trustWorkdir: true, resumePrompt: "go on" });
    expect(spec.resumeArgv).toEqual([
      "codex",
      "exec",
      "--profile",
      "work",
      "resume",
      "--last",
      "--dangerously-bypass-approvals-and-sandbox",
      "--skip-git-repo-check",
      "--json",
      "--",
      "go on",
    ]);
  });

  it("gemini: --resume latest before -p", () => {
    const spec = planLaunch({ agent: "gemini", ...base, resumePrompt: "-go on" });
    expect(spec.resumeArgv?.slice(-4)).toEqual(["--resume", "latest", "-p", " -go on"]);
    expect(spec.resumeArgv?.slice(0, -4)).toEqual(spec.argv.slice(0, -2));
  });
});
