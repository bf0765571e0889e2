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
});
