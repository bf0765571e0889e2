/**
 * The seed's launcher-template behaviour against our launcher: deterministic, agents codex,
 * gemini and claude, prompt and agent required, codex gets CODEX_PROFILE. Defect kept out: the
 * seed ran one shell string, so `$(...)` in a prompt ran on the host; here the prompt is one argv element.
 */
import { describe, expect, it } from "vitest";
import { ConductorError, planLaunch, SUPPORTED_AGENTS } from "../../src/index.js";

describe("seed launcher", () => {
  it("the same options give the same launch", () => {
    const opts = { agent: "codex", prompt: "fix it", profile: "work", model: "gpt-5", workdir: "/tmp" };
    expect(planLaunch(opts)).toEqual(planLaunch({ ...opts }));
    // The seed's { bin, command, env, agent, cwd }: `command` is an argv array here, never a shell string.
    expect(Object.keys(planLaunch(opts))).toEqual(expect.arrayContaining(["agent", "argv", "bin", "cwd", "env"]));
  });

  it("supports codex, gemini and claude (and our generic command)", () => {
    expect([...SUPPORTED_AGENTS]).toEqual(["codex", "gemini", "claude", "command"]);
    for (const agent of ["codex", "gemini", "claude"]) {
      // asRoot: false: claude refuses the seed's bypass flag as root (see docs/seed-compatibility.md).
      expect(planLaunch({ agent, prompt: "", asRoot: false }).bin).toBe(agent);
    }
  });

  it("agent and prompt are required; errors are ConductorErrors with a code", () => {
    for (const [opts, code] of [
      [{ agent: "nope", prompt: "x" }, "UNKNOWN_AGENT"],
      [{ agent: "claude" }, "MISSING_PROMPT"],
    ] as const) {
      try {
        planLaunch(opts);
        throw new Error("expected an error");
      } catch (e) {
        expect(e).toBeInstanceOf(ConductorError);
        expect((e as ConductorError).code).toBe(code);
      }
    }
  });

  it("codex gets CODEX_PROFILE from profile", () => {
    expect(planLaunch({ agent: "codex", prompt: "x", profile: "work" }).env.CODEX_PROFILE).toBe("work");
  });

  it("defect: a prompt with $(...) and backticks is one inert argv element, never shell text", () => {
    const prompt = "say $(touch /tmp/pwned) and `id`";
    for (const agent of ["codex", "claude"]) {
      expect(planLaunch({ agent, prompt, asRoot: false }).argv).toContain(prompt);
    }
    expect(planLaunch({ agent: "gemini", prompt }).argv).toContain(prompt);
  });
});
