import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ConfigError, loadRunConfig, parseRunConfig, resolveRelativeTo, type RunConfig } from "../src/config.js";

const demoDir = fileURLToPath(new URL("../demo/", import.meta.url));
const demoFile = path.join(demoDir, "demo.config.json");

const ok = (extra: Record<string, unknown> = {}) => ({
  sessions: [{ id: "writer", agent: "command", command: ["node", "./agents/writer.mjs"], ...extra }],
});

/** Parses and returns the single ConfigError issue line (path: problem. Example: …). */
function fail(json: unknown): { message: string; issues: ConfigError["issues"] } {
  try {
    parseRunConfig(json, "cfg.json");
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const err = e as ConfigError;
    expect(err.message.startsWith("cfg.json: invalid config\n")).toBe(true);
    // A problem that ends in "?" (a suggestion) gets no extra full stop.
    const line = (i: ConfigError["issues"][number]) =>
      `${i.path}: ${i.problem}${/[.?!]$/.test(i.problem) ? "" : "."} Example: ${i.example}`;
    for (const i of err.issues) expect(err.message).toContain(line(i));
    return { message: err.message, issues: err.issues };
  }
  throw new Error("expected a ConfigError");
}

describe("the demo config", () => {
  it("parses, and loadRunConfig resolves ./ paths against the demo folder", async () => {
    const raw = JSON.parse(await readFile(demoFile, "utf8")) as unknown;
    const cfg = parseRunConfig(raw, demoFile);
    expect(cfg.sessions.map((s) => s.id)).toEqual(["writer", "sleeper", "asker", "crasher", "ratelimited", "failover"]);
    expect(cfg.logsDir).toBeUndefined();
    const loaded = await loadRunConfig(demoFile);
    expect(loaded.sessions[0]?.command).toEqual(["node", path.join(demoDir, "agents/writer.mjs")]);
    expect(loaded.sessions.find((s) => s.id === "crasher")).toMatchObject({ maxRestarts: 2, expect: "dead" });
    expect(loaded.sessions.find((s) => s.id === "asker")?.answers).toEqual([{ match: "\\(y/n\\)", send: "y" }]);
    expect(loaded.accounts).toBe(path.join(demoDir, "accounts.json"));
    expect(loaded.sessions.find((s) => s.id === "failover")?.account).toBe("codex");
  });
});

describe("resolveRelativeTo", () => {
  it("resolves logsDir, workdir, command[0] with a slash and ./ or ../ arguments only", () => {
    const cfg: RunConfig = {
      logsDir: "./logs",
      sessions: [
        {
          id: "a",
          agent: "command",
          command: ["bin/run", "./x.mjs", "../y", "src/z.ts", "--out=./o", "/abs"],
          workdir: "repo",
        },
        { id: "b", agent: "command", command: ["node", "-e", "1"], workdir: "/abs/w" },
      ],
    };
    const out = resolveRelativeTo(cfg, "/base/dir");
    expect(out.logsDir).toBe("/base/dir/logs");
    expect(out.sessions[0]).toMatchObject({
      command: ["/base/dir/bin/run", "/base/dir/x.mjs", "/base/y", "src/z.ts", "--out=./o", "/abs"],
      workdir: "/base/dir/repo",
    });
    expect(out.sessions[1]).toMatchObject({ command: ["node", "-e", "1"], workdir: "/abs/w" });
    expect(cfg.logsDir).toBe("./logs"); // the input is not mutated
  });

  it("defect: a remote session's workdir and command are the host's paths, left as written", () => {
    const remote = { agent: "command" as const, remote: true, host: "box" };
    const cfg: RunConfig = {
      hosts: "./hosts.json",
      sessions: [{ id: "r", ...remote, command: ["./run.sh", "../x"], workdir: "repo" }],
    };
    const out = resolveRelativeTo(cfg, "/base/dir");
    expect(out.hosts).toBe("/base/dir/hosts.json"); // the hosts file is this machine's
    expect(out.sessions[0]).toMatchObject({ command: ["./run.sh", "../x"], workdir: "repo" });
  });
});

describe("errors name the field, the problem and an example", () => {
  it("unknown agent, with a suggestion", () => {
    const { issues } = fail({ sessions: [ok().sessions[0], ok().sessions[0], { id: "c", agent: "codx", prompt: "" }] });
    expect(issues).toContainEqual({
      path: "sessions[2].agent",
      problem: 'Unknown agent: codx (expected one of codex, gemini, claude, command); did you mean "codex"?',
      example: '"agent": "codex"',
    });
  });

  it("an MCP server's problem is told in the form it was given in, once", () => {
    const mcp = (server: unknown) =>
      fail({ sessions: [{ id: "a", agent: "codex", prompt: "p", mcpServers: { x: server } }] }).issues;
    // Was "must be a string or a string, got an object": the two forms' issues summed.
    expect(mcp({ command: 5 })).toEqual([
      {
        path: "sessions[0].mcpServers.x.command",
        problem: "expected string, got number 5",
        example: '"command": "npx"',
      },
    ]);
    expect(mcp({ command: "npx", args: [1] })).toMatchObject([{ path: "sessions[0].mcpServers.x.args[0]" }]);
    // Was two issues for one field ("has the wrong format" and "must be an http:// or https:// URL").
    for (const url of ["not a url", "ftp://x"])
      expect(mcp({ url })).toMatchObject([
        { path: "sessions[0].mcpServers.x.url", problem: `string "${url}" must be an http:// or https:// URL` },
      ]);
    // No form stands out: both are named.
    for (const server of [{}, { command: "npx", url: "http://127.0.0.1/mcp" }])
      expect(mcp(server)[0]?.problem).toMatch(/^takes one of the forms \{ "command", "args", "env" \} or \{ "url" \}/);
    expect(mcp(5)[0]?.problem).toBe("must be an object, got number 5");
  });

  it("unknown keys (typos) are rejected with the closest known key", () => {
    expect(fail({ ...ok(), maxRestart: 3 }).issues).toEqual([
      {
        path: "maxRestart",
        problem: 'unknown key "maxRestart" (did you mean "maxRestarts"?)',
        example: '"maxRestarts": 3',
      },
    ]);
    expect(fail(ok({ promt: "x" })).issues[0]).toMatchObject({
      path: "sessions[0].promt",
      problem: expect.stringContaining('did you mean "prompt"?'),
    });
    expect(fail({ ...ok(), probe: { stalMs: 5 } }).issues[0]).toMatchObject({
      path: "probe.stalMs",
      example: '"stallMs": 30000',
    });
    // Other tools' names for a key, which no spelling distance finds (`cwd` is nearer to `id`).
    expect(fail(ok({ cwd: "/tmp" })).issues[0]?.problem).toBe('unknown key "cwd" (did you mean "workdir"?)');
    expect(fail(ok({ probeOpts: {} })).issues[0]?.problem).toBe('unknown key "probeOpts" (did you mean "probe"?)');
    expect(fail({ ...ok(), zzzzzz: 1 }).issues[0]?.problem).toMatch(
      /known keys: \$schema, logsDir, maxRestarts, graceMs, restart/,
    );
  });

  it("missing and mistyped fields", () => {
    expect(fail({}).issues).toEqual([
      { path: "sessions", problem: "sessions is required", example: expect.stringContaining('"sessions": [') },
    ]);
    expect(fail({ ...ok(), graceMs: "10s" }).issues[0]).toEqual({
      path: "graceMs",
      problem: 'expected number, got string "10s"',
      example: '"graceMs": 10000',
    });
    expect(fail({ ...ok(), maxRestarts: 1.5 }).issues[0]?.problem).toBe("expected a whole number, got number 1.5");
    expect(fail({ ...ok(), probe: { stallMs: 0 } }).issues[0]).toMatchObject({
      path: "probe.stallMs",
      problem: "must be >= 1, got number 0",
    });
    expect(fail({ sessions: [] }).issues[0]).toMatchObject({ path: "sessions", problem: "needs at least 1 item(s)" });
    expect(fail(ok({ env: { K: 1 } })).issues[0]).toMatchObject({
      path: "sessions[0].env.K",
      example: '"env": { "LOG_LEVEL": "debug" }',
    });
    expect(fail([1]).issues[0]?.problem).toBe("the file must hold a JSON object, got an array");
  });

  it("invalid and duplicate session ids", () => {
    expect(fail(ok({ id: "../etc" })).issues[0]).toMatchObject({
      path: "sessions[0].id",
      problem: expect.stringContaining('string "../etc" is not a valid session id'),
      example: '"id": "review-1"',
    });
    expect(fail(ok({ id: "x".repeat(65) })).issues[0]?.path).toBe("sessions[0].id");
    const dup = ok().sessions[0];
    expect(fail({ sessions: [dup, { ...dup, id: "other" }, dup] }).issues).toEqual([
      {
        path: "sessions[2].id",
        problem: '"writer" is already used by sessions[0]; ids must be unique',
        example: '"id": "review-1"',
      },
    ]);
  });

  it("command is required iff agent is command; presets need a prompt", () => {
    expect(fail({ sessions: [{ id: "a", agent: "command" }] }).issues[0]).toMatchObject({
      path: "sessions[0].command",
      problem: 'is required when "agent" is "command"',
      example: '"command": ["node", "./agents/writer.mjs"]',
    });
    expect(fail({ sessions: [{ id: "a", agent: "claude", prompt: "x", command: ["x"] }] }).issues[0]?.problem).toMatch(
      /only allowed with agent "command"/,
    );
    expect(fail({ sessions: [{ id: "a", agent: "gemini" }] }).issues[0]).toMatchObject({
      path: "sessions[0].prompt",
      problem: 'is required for agent "gemini" ("" is allowed)',
    });
    expect(fail({ sessions: [{ id: "a", agent: "gemini", prompt: "", profile: "p" }] }).issues[0]?.path).toBe(
      "sessions[0].profile",
    );
    expect(fail(ok({ command: [] })).issues[0]).toMatchObject({
      path: "sessions[0].command",
      problem: "needs at least 1 item(s)",
    });
  });

  it("regexes are compiled and the bad one is reported", () => {
    const bad = fail({
      ...ok({
        answers: [
          { match: "ok", send: "y" },
          { match: "(y/n", send: "y" },
        ],
      }),
      probe: { inputWaitPatterns: ["fine", "[unclosed"] },
    });
    expect(bad.issues.map((i) => i.path)).toEqual(["probe.inputWaitPatterns[1]", "sessions[0].answers[1].match"]);
    expect(bad.issues[1]?.problem).toMatch(/^"\(y\/n" is not a valid regular expression \(.+\)/);
    expect(bad.issues[1]?.example).toBe('"match": "\\\\(y/n\\\\)"');
  });

  it("env names and backoff bounds", () => {
    expect(fail(ok({ env: { "1BAD": "x" } })).issues[0]?.path).toBe('sessions[0].env["1BAD"]');
    expect(fail({ ...ok(), restart: { backoffInitialMs: 500, backoffMaxMs: 100 } }).issues[0]?.path).toBe(
      "restart.backoffMaxMs",
    );
    expect(parseRunConfig({ ...ok(), restart: { windowMs: null } }, "x").restart?.windowMs).toBeNull();
  });

  it("a host without a hosts file, or with remote: false, is a config error at the session's path", () => {
    const session = { id: "r", agent: "command", command: ["true"], host: "box" };
    const noHosts = fail({ sessions: [session] });
    expect(noHosts.message).toMatch(
      /sessions\[0\]\.host: host "box" needs a hosts file: add "hosts": "\.\/hosts\.json"/,
    );
    const contradiction = fail({ hosts: "./hosts.json", sessions: [{ ...session, remote: false }] });
    expect(contradiction.message).toMatch(/sessions\[0\]\.remote: "remote": false contradicts "host": "box"/);
  });

  it("loadRunConfig reports unreadable files and JSON syntax errors as ConfigError", async () => {
    const d = await mkdtemp(path.join(tmpdir(), "cfg-"));
    try {
      await writeFile(path.join(d, "bad.json"), "{ sessions: [] }");
      await expect(loadRunConfig(path.join(d, "bad.json"))).rejects.toThrow(
        /bad\.json: invalid config\n {2}- \(top level\): not valid JSON/,
      );
      await expect(loadRunConfig(path.join(d, "missing.json"))).rejects.toThrow(
        /missing\.json: invalid config\n {2}- \(top level\): cannot read the file: there is no such file \(ENOENT\)$/,
      );
      await expect(loadRunConfig(d)).rejects.toThrow(/it is a directory; name the JSON file in it \(EISDIR\)$/);
      // A trailing comma: its line and column (never the file's text: it may be a credential), no unrelated example.
      await writeFile(
        path.join(d, "comma.json"),
        '{\n  "sessions": [\n    { "id": "a", "agent": "command", "command": ["true"] },\n  ]\n}\n',
      );
      const err = await loadRunConfig(path.join(d, "comma.json")).catch((e: Error) => e);
      expect((err as Error).message).toMatch(/not valid JSON \(Unexpected token '\]'\) at line 4, column 3$/);
      expect((err as Error).message).not.toContain("Example:");
      // Whatever the offending token, none of the file's text is in the message (it may be a credential).
      await writeFile(path.join(d, "emoji.json"), '{"a": 😀 "sk-secret-1"}');
      const emoji = ((await loadRunConfig(path.join(d, "emoji.json")).catch((e: Error) => e)) as Error).message;
      expect(emoji).toMatch(/not valid JSON \(Unexpected token '.+'\) at line 1, column 7$/);
      expect(emoji).not.toMatch(/secret/);
      // A key given twice: JSON.parse kept the last without a word (codex ran where the eye read claude).
      await writeFile(
        path.join(d, "twice.json"),
        '{\n  "sessions": [\n    { "id": "a",\n      "agent": "claude",\n      "command": ["true"],\n      "agent": "command" }\n  ]\n}\n',
      );
      const twice = ((await loadRunConfig(path.join(d, "twice.json")).catch((e: Error) => e)) as Error).message;
      expect(twice).toMatch(
        /"agent" is given twice in sessions\[0\] \(line 4 and line 6\): JSON would keep only the last; remove one$/,
      );
      // The same key in two objects is no repeat.
      await writeFile(
        path.join(d, "two.json"),
        JSON.stringify({
          sessions: [
            { id: "a", agent: "command", command: ["true"] },
            { id: "b", agent: "command", command: ["true"] },
          ],
        }),
      );
      await expect(loadRunConfig(path.join(d, "two.json"))).resolves.toBeDefined();
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});
