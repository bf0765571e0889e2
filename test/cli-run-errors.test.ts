/**
 * What `conductor run` says when it refuses to run: in the command line's terms (the config file, its
 * keys, the flags), never the library calls it makes; a refusal is exit 2, never a stack trace. The
 * CLI as a user runs it (built JS in dist/), each run with its own XDG_RUNTIME_DIR.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { createConductor } from "../src/conductor.js";
import { distModule } from "./helpers/dist.js";

const cli = distModule("src/cli/main.js");
const exec = promisify(execFile);
const env = { ...process.env, XDG_RUNTIME_DIR: mkdtempSync(join(tmpdir(), "cli-run-errors-xdg-")), CONDUCTOR_NAME: "" };

async function conductor(cwd: string, ...args: string[]) {
  try {
    const r = await exec(process.execPath, [cli.path, ...args], { cwd, env, timeout: 90_000 });
    return { code: 0 as number | null, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number | null; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** A directory with `c.json` holding `config`. */
function configDir(config: object): string {
  const cwd = mkdtempSync(join(tmpdir(), "cli-run-errors-"));
  writeFileSync(join(cwd, "c.json"), JSON.stringify(config));
  return cwd;
}

const ONE = { sessions: [{ id: "a", agent: "command", command: ["node", "-e", "0"] }] };

describe.skipIf(!cli.built)("conductor run's refusals", () => {
  it("defect: --logs-dir under a file was exit 70 and a stack trace (removing the logs it never made): now exit 2", async () => {
    const cwd = configDir(ONE);
    writeFileSync(join(cwd, "a-file"), "");
    const r = await conductor(cwd, "run", "c.json", "--logs-dir", "a-file/logs");
    expect(r.stderr).not.toMatch(/unexpected error| at /);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("cannot be the logs directory: a file is in the way");
    expect(existsSync(join(cwd, "a-file"))).toBe(true);
  });

  it("defect: a logs directory that cannot be made was 'createConductor: invalid options': now the flag or key that named it", async () => {
    const cwd = configDir(ONE);
    writeFileSync(join(cwd, "a-file"), "");
    writeFileSync(join(cwd, "in-config.json"), JSON.stringify({ ...ONE, logsDir: "./a-file" }));
    const [flag, detached, key] = await Promise.all([
      conductor(cwd, "run", "c.json", "--logs-dir", "a-file"),
      conductor(cwd, "run", "c.json", "--detach", "--logs-dir", "a-file/logs"),
      conductor(cwd, "run", "in-config.json"),
    ]);
    const why = String.raw`cannot be the logs directory: a file is in the way \(it, or a directory above it, is not a directory\)`;
    const at = (rel: string) => JSON.stringify(join(cwd, rel)).replace(/[.]/g, "\\.");
    expect(flag.stderr).toMatch(
      new RegExp(`^conductor: --logs-dir: ${at("a-file")} ${why}\\. Example: --logs-dir ./logs\n$`),
    );
    expect(detached.stderr).toMatch(
      new RegExp(`^conductor: --logs-dir: ${at("a-file/logs")} ${why}\\. Example: --logs-dir ./logs\n$`),
    );
    expect(key.stderr).toMatch(
      new RegExp(
        `^conductor: "logsDir" in in-config\\.json: ${at("a-file")} ${why}\\. Example: "logsDir": "./logs"\n$`,
      ),
    );
    for (const r of [flag, detached, key]) expect(r.code).toBe(2);
  });

  it('defect: the logs directory\'s refusal said its path twice ("/abs/logs" (/abs/logs)): now once', async () => {
    const cwd = configDir(ONE);
    writeFileSync(join(cwd, "a-file"), "");
    const underFile = join(cwd, "a-file", "logs");
    const inFile = "a file is in the way (it, or a directory above it, is not a directory)";
    // A directory nobody can make (root makes any under a 0500 one): under /proc, ENOENT.
    const unmakeable = "/proc/no-such-dir/logs";
    const cases = [
      { args: ["--logs-dir", "a-file/logs"], path: underFile, why: inFile },
      { args: ["--detach", "--logs-dir", "a-file/logs"], path: underFile, why: inFile },
      { args: ["--logs-dir", unmakeable], path: unmakeable, why: "it cannot be created or written here (ENOENT)" },
    ];
    const runs = await Promise.all(cases.map((c) => conductor(cwd, "run", "c.json", ...c.args)));
    runs.forEach((r, i) => {
      const { path, why } = cases[i] as (typeof cases)[number];
      expect(r.code).toBe(2);
      expect(r.stderr.split(path), r.stderr).toHaveLength(2); // the path once: two pieces around it
      expect(r.stderr).toBe(
        `conductor: --logs-dir: "${path}" cannot be the logs directory: ${why}. Example: --logs-dir ./logs\n`,
      );
    });
  });

  it("defect: a taken name was 'createConductor({ control }): …': now said as the control socket", async () => {
    const cwd = configDir(ONE);
    const saved = process.env.XDG_RUNTIME_DIR;
    process.env.XDG_RUNTIME_DIR = env.XDG_RUNTIME_DIR;
    const first = createConductor({ logsDir: join(cwd, "first"), handleSignals: false, control: { name: "taken" } });
    try {
      await first.control;
      const r = await conductor(cwd, "run", "c.json", "--name", "taken", "--logs-dir", "other");
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /^conductor: the control socket cannot be opened: a conductor named "taken" is already running \(pid \d+, .*\); pick another name \(--name\)/,
      );
      expect(r.stderr).not.toContain("createConductor");
    } finally {
      await first.shutdown("test_end");
      process.env.XDG_RUNTIME_DIR = saved;
    }
  });

  it("defect: a session's account without accounts said 'pass createConductor({ accounts })': now the config's key", async () => {
    const cwd = configDir({
      sessions: [{ id: "noaccount", agent: "command", command: ["node", "-e", "0"], account: "codex" }],
    });
    const r = await conductor(cwd, "run", "c.json", "--no-control");
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "conductor: a session cannot start; nothing was started:\n" +
        '  - session "noaccount" needs a codex account, but c.json has no "accounts": add "accounts": ' +
        '"./accounts.json" to it (docs/accounts.md), or drop the session\'s "account"\n',
    );
  });

  it("defect: the MCP heartbeat on a remote session was 'probeOpts.enableL2 (mcpHeartbeat)': now the config's key", async () => {
    const session = { id: "r", agent: "codex", prompt: "x", host: "box", mcpServers: { m: { command: "x" } } };
    const cwd = configDir({ hosts: "./hosts.json", sessions: [{ ...session, probe: { enableL2: true } }] });
    writeFileSync(join(cwd, "key"), "not a key: never read, the session is refused first");
    writeFileSync(
      join(cwd, "hosts.json"),
      JSON.stringify({ hosts: { box: { host: "127.0.0.1", user: "u", identityFile: "./key" } } }),
    );
    writeFileSync(
      join(cwd, "top.json"),
      JSON.stringify({ hosts: "./hosts.json", probe: { mcpHeartbeat: true }, sessions: [session] }),
    );
    const [own, top] = await Promise.all([
      conductor(cwd, "run", "c.json", "--no-control"),
      conductor(cwd, "run", "top.json", "--no-control"),
    ]);
    const rest =
      'on a remote session: its MCP servers run on host "box", where this version does not probe them; drop it (l2 is then "skip")';
    expect(own.stderr).toContain(
      `  - session "r" in c.json asks for the MCP heartbeat ("enableL2" in its "probe") ${rest}\n`,
    );
    expect(top.stderr).toContain(
      `  - session "r" in top.json asks for the MCP heartbeat ("mcpHeartbeat" in the "probe" of top.json) ${rest}\n`,
    );
    for (const r of [own, top]) {
      expect(r.code).toBe(2);
      expect(r.stderr).not.toContain("probeOpts");
    }
  });
});
