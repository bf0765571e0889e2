import { execFile } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  LaunchError,
  buildLaunch,
  buildLaunchSync,
  planLaunch,
  resolveOnPath,
  resolveOnPathSync,
} from "../src/launcher.js";

const run = promisify(execFile);
const fixture = fileURLToPath(new URL("./fixtures/print-argv.mjs", import.meta.url));

let dir: string; // a fake PATH holding wrappers named like the real CLIs
let realDir: string;
let searchEnv: Record<string, string>;

async function wrapper(where: string, name: string, body: string): Promise<string> {
  const file = path.join(where, name);
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, 0o755);
  return file;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "launcher-wrap-"));
  realDir = await mkdtemp(path.join(tmpdir(), "launcher-real-"));
  for (const name of ["codex", "gemini", "claude"]) {
    await wrapper(dir, name, `exec "${process.execPath}" "${fixture}" "$@"`);
    await wrapper(realDir, name, `echo real ${name}`);
  }
  await writeFile(path.join(dir, "not-exec"), "#!/bin/sh\n"); // exists but mode 0644
  searchEnv = { PATH: `${dir}:${realDir}` };
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(realDir, { recursive: true, force: true });
});

describe("planLaunch argv per preset", () => {
  it("codex: exec with profile, model, approvals, stream, result file, then the prompt after --", () => {
    const spec = planLaunch({
      agent: "codex",
      prompt: "fix it",
      model: "gpt-5-codex",
      profile: "work",
      resultFile: "/tmp/r.md",
      workdir: "/repo",
    });
    expect(spec).toMatchObject({
      agent: "codex",
      bin: "codex",
      argv: [
        "codex",
        "exec",
        "--profile",
        "work",
        "--model",
        "gpt-5-codex",
        "--dangerously-bypass-approvals-and-sandbox",
        "--json",
        "--output-last-message",
        "/tmp/r.md",
        "--",
        "fix it",
      ],
      env: { CONDUCTOR_RESULT_FILE: "/tmp/r.md", CODEX_PROFILE: "work" },
      cwd: "/repo",
      // codex writes the result file itself (--output-last-message): the conductor does not.
      preset: { approvals: "bypass", output: "stream", stream: "codex-exec-json", conductorWritesResult: false },
    });
  });

  it("claude: -p, --model, approvals, stream flags, --mcp-config JSON, then the prompt after --", () => {
    const spec = planLaunch({
      agent: "claude",
      prompt: "review",
      model: "opus",
      asRoot: false,
      mcpServers: { zeta: { command: "z" }, alpha: { command: "npx", args: ["srv"], env: { K: "v" } } },
    });
    expect(spec.argv).toEqual([
      "claude",
      "-p",
      "--model",
      "opus",
      "--dangerously-skip-permissions",
      "--output-format",
      "stream-json",
      "--verbose",
      "--include-partial-messages",
      "--mcp-config",
      '{"mcpServers":{"alpha":{"command":"npx","args":["srv"],"env":{"K":"v"}},"zeta":{"command":"z","args":[]}}}',
      "--",
      "review",
    ]);
    expect(spec.env).toEqual({});
  });

  it("gemini: -p and the prompt as two words (gemini's headless check), a leading dash kept off the flags", () => {
    expect(planLaunch({ agent: "gemini", prompt: "hello", model: "gemini-2.5-pro" }).argv).toEqual([
      "gemini",
      "--model",
      "gemini-2.5-pro",
      "--approval-mode",
      "yolo",
      "--output-format",
      "stream-json",
      "-p",
      "hello",
    ]);
    // yargs would read "-rf /" as flags ("Not enough arguments following: p"): one leading space.
    expect(planLaunch({ agent: "gemini", prompt: "-rf /", output: "text" }).argv.slice(-2)).toEqual(["-p", " -rf /"]);
    expect(planLaunch({ agent: "gemini", prompt: "", output: "text" }).argv.slice(-2)).toEqual(["-p", ""]);
  });

  it("gemini never gets the seed's --prompt=<text> (not headless to gemini: it skipped the trust check)", () => {
    for (const prompt of ["x", "", "-x", "--prompt=y"]) {
      const { argv } = planLaunch({ agent: "gemini", prompt });
      expect(argv.filter((a) => a.startsWith("--prompt"))).toEqual([]);
      expect(argv.at(-2)).toBe("-p");
    }
  });

  it("codex MCP servers become -c overrides in a stable order", () => {
    const spec = planLaunch({
      agent: "codex",
      prompt: "",
      output: "text",
      approvals: "prompt",
      mcpServers: { b: { command: "x", env: { Z: "1", A: "2" } }, a: { command: "y", args: ["--p"] } },
    });
    expect(spec.argv).toEqual([
      "codex",
      "exec",
      "-c",
      'mcp_servers.a.command="y"',
      "-c",
      'mcp_servers.a.args=["--p"]',
      "-c",
      'mcp_servers.b.command="x"',
      "-c",
      'mcp_servers.b.env={ "A" = "2", "Z" = "1" }',
      "--",
      "",
    ]);
  });

  it("command: argv as given, prompt and result file through env", () => {
    const spec = planLaunch({
      agent: "command",
      command: ["node", "x.mjs", "--flag"],
      prompt: "hi",
      resultFile: "out.txt",
      env: { A: "1" },
    });
    expect(spec.argv).toEqual(["node", "x.mjs", "--flag"]);
    expect(spec.env).toEqual({ CONDUCTOR_RESULT_FILE: "out.txt", CONDUCTOR_PROMPT: "hi", A: "1" });
    expect(spec.resumeArgv).toBeUndefined();
  });

  it("is deterministic: same options, same launch", () => {
    const opts = { agent: "codex", prompt: "p", model: "m", profile: "x", mcpServers: { s: { command: "c" } } };
    expect(planLaunch(opts)).toEqual(planLaunch({ ...opts }));
    expect(JSON.stringify(planLaunch(opts))).toBe(JSON.stringify(planLaunch(opts)));
  });
});

describe("option errors", () => {
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(LaunchError);
      return { code: (e as LaunchError).code, message: (e as Error).message };
    }
    throw new Error("expected a LaunchError");
  };

  it("unknown agent names the supported agents", () => {
    const err = code(() => planLaunch({ agent: "copilot", prompt: "x" }));
    expect(err.code).toBe("UNKNOWN_AGENT");
    expect(err.message).toBe('unknown agent "copilot": supported agents are "codex", "gemini", "claude", "command"');
  });

  it("presets need a prompt; command needs a command", () => {
    expect(code(() => planLaunch({ agent: "claude" })).code).toBe("MISSING_PROMPT");
    expect(code(() => planLaunch({ agent: "command", command: [] })).code).toBe("MISSING_COMMAND");
  });

  it("rejects options an agent cannot honour instead of dropping them", () => {
    expect(code(() => planLaunch({ agent: "gemini", prompt: "", profile: "p" })).message).toMatch(/profile/);
    expect(code(() => planLaunch({ agent: "gemini", prompt: "", mcpServers: {} })).message).toMatch(/settings\.json/);
    expect(code(() => planLaunch({ agent: "command", command: ["x"], model: "m" })).code).toBe("OPTION_NOT_SUPPORTED");
    expect(code(() => planLaunch({ agent: "command", command: ["x"], approvals: "prompt" })).message).toBe(
      'agent "command" does not take "approvals": put the flag in "command" instead',
    );
    expect(code(() => planLaunch({ agent: "codex", prompt: "", command: ["x"] })).code).toBe("OPTION_NOT_SUPPORTED");
    expect(code(() => planLaunch({ agent: "codex", prompt: "", mcpServers: { "a.b": { command: "x" } } })).code).toBe(
      "INVALID_OPTION",
    );
  });
});

describe("workdir", () => {
  it("a local run's workdir must be a directory now: missing or a file is refused at the call, saying which", async () => {
    const missing = path.join(tmpdir(), "conductor-no-such-dir", "deeper");
    const call = (workdir: string) => () => buildLaunchSync({ agent: "command", command: ["/bin/true"], workdir });
    expect(call(missing)).toThrow(expect.objectContaining({ code: "WORKDIR_NOT_FOUND" }));
    expect(call(missing)).toThrow(`workdir "${missing}" (${missing}) does not exist; create it first`);
    expect(call(process.execPath)).toThrow(/is not a directory/);
    await expect(buildLaunch({ agent: "command", command: ["/bin/true"], workdir: missing })).rejects.toMatchObject({
      code: "WORKDIR_NOT_FOUND",
    });
    expect(buildLaunchSync({ agent: "command", command: ["/bin/true"], workdir: tmpdir() }).cwd).toBe(tmpdir());
  });
});

describe("resolveOnPath", () => {
  it("picks the wrapper placed first on PATH", async () => {
    expect(await resolveOnPath("codex", searchEnv)).toBe(path.join(dir, "codex"));
    expect(await resolveOnPath("codex", { PATH: `${realDir}:${dir}` })).toBe(path.join(realDir, "codex"));
    const spec = await buildLaunch({ agent: "gemini", prompt: "hi", searchEnv });
    expect(spec.argv[0]).toBe(path.join(dir, "gemini"));
    expect(spec.bin).toBe("gemini");
  });

  it("uses a name with a slash as is, after checking it is executable", async () => {
    expect(await resolveOnPath(path.join(realDir, "claude"), { PATH: "" })).toBe(path.join(realDir, "claude"));
    expect(await resolveOnPath("./claude", { PATH: "" }, realDir)).toBe(path.join(realDir, "claude"));
    await expect(resolveOnPath(path.join(dir, "not-exec"), searchEnv)).rejects.toThrow(/not an executable file/);
  });

  it("skips non-executable files on PATH", async () => {
    await expect(resolveOnPath("not-exec", searchEnv)).rejects.toMatchObject({ code: "BIN_NOT_FOUND" });
  });

  it("says which name, which PATH, and what to do when nothing is found", async () => {
    const err = await resolveOnPath("codex", { PATH: "/nope/a:/nope/b:/nope/c:/nope/d:/nope/e::rel" }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LaunchError);
    expect((err as LaunchError).code).toBe("BIN_NOT_FOUND");
    expect((err as Error).message).toBe(
      '"codex" was not found on PATH (searched /nope/a:/nope/b:/nope/c:/nope/d, … 1 more); install it, ' +
        'put a wrapper named "codex" in a directory on PATH, or give its full path',
    );
  });
});

describe("resolveOnPathSync (spawnSession's lookup)", () => {
  it("answers as resolveOnPath does: first wrapper wins, misses and non-executables skipped", async () => {
    const env = { PATH: `/nope/a:${dir}:${realDir}` };
    for (const name of ["codex", "claude", "not-exec", "nothing-here"]) {
      const sync = (() => {
        try {
          return resolveOnPathSync(name, env);
        } catch (e) {
          return (e as LaunchError).code;
        }
      })();
      expect(sync).toBe(await resolveOnPath(name, env).catch((e: LaunchError) => e.code));
    }
  });

  it("skips a PATH entry that is a file, not a directory (ENOTDIR)", () => {
    const fileEntry = path.join(dir, "not-exec");
    expect(resolveOnPathSync("codex", { PATH: `${fileEntry}:${realDir}` })).toBe(path.join(realDir, "codex"));
  });

  it("reads named variables of the search env without enumerating it (a copy of process.env per spawn)", () => {
    // process.env enumerates through its getters; an env that refuses enumeration proves none happens.
    const unlisted = new Proxy(
      { ...searchEnv, CODEX_HOME: dir },
      {
        ownKeys() {
          throw new Error("the search env was enumerated");
        },
      },
    );
    const spec = buildLaunchSync({ agent: "command", command: ["codex"], judgeAs: "codex", searchEnv: unlisted });
    expect(spec.argv[0]).toBe(path.join(dir, "codex"));
    expect(spec.loggedOut).toBe(true); // CODEX_HOME read through the overlay: no auth.json there
    const withKey = buildLaunchSync({
      ...{ agent: "command", command: ["codex"], judgeAs: "codex" },
      searchEnv: unlisted,
      env: { OPENAI_API_KEY: "k" },
    });
    expect(withKey.loggedOut).toBe(false); // the launch's own env over the search env
  });
});

describe("prompt injection (seed security defect)", () => {
  const marker = () => path.join(dir, `pwned-${Math.random().toString(36).slice(2)}`);

  it.each(["claude", "codex", "gemini"] as const)(
    "%s: hostile prompts arrive literally and run nothing",
    async (agent) => {
      const m1 = marker();
      const m2 = marker();
      const prompts = [`$(touch ${m1})`, `\`touch ${m2}\``, `\`id\``, `"; rm -rf ~; "`, `'; touch ${m1}; '`];
      for (const prompt of prompts) {
        const spec = await buildLaunch({ agent, prompt, searchEnv, asRoot: false });
        const expected = prompt;
        expect(spec.argv.filter((a) => a.includes(prompt))).toEqual([expected]); // exactly one element
        const { stdout } = await run(spec.argv[0] as string, spec.argv.slice(1), {
          env: { ...process.env, ...spec.env },
        });
        const received = JSON.parse(stdout) as string[];
        expect(received).toEqual(spec.argv.slice(1));
        expect(received.at(-1)).toBe(expected);
      }
      expect(existsSync(m1)).toBe(false);
      expect(existsSync(m2)).toBe(false);
    },
  );
});
