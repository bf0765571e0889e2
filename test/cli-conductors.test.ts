/**
 * `conductor ls | send | stop` against conductors that answer, that do not (stopped with SIGSTOP),
 * and that lost their socket file: stand-in conductors (test/fixtures/fake-conductor.mjs) in the
 * registry of a private XDG_RUNTIME_DIR, the CLI as a user runs it (built JS in dist/).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { distModule } from "./helpers/dist.js";

const cli = distModule("src/cli/main.js");
const FAKE = fileURLToPath(new URL("./fixtures/fake-conductor.mjs", import.meta.url));
const exec = promisify(execFile);
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) {
    c.kill("SIGCONT");
    c.kill("SIGKILL");
  }
});

function registry() {
  const xdg = mkdtempSync(join(tmpdir(), "cli-conductors-xdg-"));
  const dir = mkdtempSync(join(tmpdir(), "cli-conductors-"));
  mkdirSync(join(xdg, "statechart-conductor"), { mode: 0o700 });
  const env = { ...process.env, XDG_RUNTIME_DIR: xdg, CONDUCTOR_NAME: "", CONDUCTOR_TIMEOUT: "" };
  const entryFile = (name: string) => join(xdg, "statechart-conductor", `${name}.json`);
  /** A stand-in conductor named `name`, registered; its socket is served unless `serve` is false. */
  async function add(name: string, session: string, serve = true) {
    const socket = join(dir, `${name}.sock`);
    const child = spawn(process.execPath, serve ? [FAKE, socket, session] : ["-e", "setInterval(() => {}, 1e9)"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(child);
    if (serve) await new Promise((r) => child.stdout?.once("data", r));
    const entry = { name, pid: child.pid, socket, logsDir: dir, startedAt: new Date().toISOString(), version: "0" };
    writeFileSync(entryFile(name), JSON.stringify(entry));
    return { child, socket, pid: child.pid as number };
  }
  async function conductor(...args: string[]) {
    try {
      const r = await exec(process.execPath, [cli.path, ...args], { env, timeout: 90_000 });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  }
  return { add, conductor, entryFile };
}

describe.skipIf(!cli.built)("conductors that answer, do not, or lost their socket", () => {
  it("defect: a stopped conductor hung ls (and every other conductor's listing) and send: now named, others listed", async () => {
    const { add, conductor } = registry();
    await add("good", "g-session");
    const frozen = await add("frozen", "f-session");
    frozen.child.kill("SIGSTOP");
    const [ls, send] = await Promise.all([conductor("ls"), conductor("send", "--name", "frozen", "s", "hi")]);
    expect(ls.code).toBe(1);
    expect(ls.stdout).toMatch(/conductor good[\s\S]*g-session\s+command\s+healthy/);
    expect(ls.stdout).toContain(
      `conductor "frozen" (pid ${frozen.pid}, socket ${frozen.socket}) did not answer within 5s: it is stopped`,
    );
    expect(send.code).toBe(1);
    expect(send.stderr).toContain(`conductor "frozen" (pid ${frozen.pid}, socket ${frozen.socket}) did not answer`);
  }, 120_000);

  it("defect: a killed conductor vanished from ls in silence: the first ls after says it is gone, once", async () => {
    const { add, conductor, entryFile } = registry();
    const killed = await add("killed", "k-session");
    killed.child.kill("SIGKILL");
    await new Promise((r) => killed.child.once("exit", r));
    const ls = await conductor("ls");
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(
      new RegExp(
        `conductor killed \\(pid ${killed.pid}, since [^)]+\\) is gone without its shutdown \\(killed or crashed\\)`,
      ),
    );
    expect(ls.stdout).toContain("conductor report ");
    expect(ls.stdout).toContain("no conductor is running");
    expect(existsSync(entryFile("killed"))).toBe(false);
    // Said once: the next ls has only the news of now.
    expect((await conductor("ls")).stdout).not.toContain("gone without its shutdown");
  }, 120_000);

  it("defect: a live conductor without its socket file vanished from ls and stop: now said, entry kept", async () => {
    const { add, conductor, entryFile } = registry();
    const lost = await add("lost", "x", false);
    const ls = await conductor("ls");
    expect(ls.stdout).toContain(`conductor "lost": pid ${lost.pid} alive, control socket missing`);
    expect(existsSync(entryFile("lost"))).toBe(true);
    const stop = await conductor("stop", "--name", "lost");
    expect(stop.code).toBe(1);
    expect(stop.stderr).toContain(`pid ${lost.pid} alive, control socket missing`);
    expect(stop.stderr).toContain(`kill -TERM ${lost.pid}`);
    expect(existsSync(entryFile("lost"))).toBe(true);
  }, 120_000);

  it("defect: ls --json was a flat array for one conductor and [{conductor, sessions}] for two: now flat always", async () => {
    const { add, conductor } = registry();
    await add("one", "a");
    const single = JSON.parse((await conductor("ls", "--json")).stdout);
    expect(single).toEqual([expect.objectContaining({ id: "a", state: "healthy", conductor: "one" })]);
    await add("two", "b");
    const both = JSON.parse((await conductor("ls", "--json")).stdout) as Array<{ id: string; conductor: string }>;
    expect(both.map((s) => [s.conductor, s.id]).sort()).toEqual([
      ["one", "a"],
      ["two", "b"],
    ]);
    // `conductor ls two` is `conductor ls --name two` (the name was ignored: every conductor listed).
    const named = await conductor("ls", "two");
    expect(named.stdout).toMatch(/conductor two[\s\S]*\bb\s+command/);
    expect(named.stdout).not.toContain("conductor one");
  }, 120_000);

  it("defect: send <id> -- --help printed the help; send <id> -n said unknown option without a hint", async () => {
    const { add, conductor } = registry();
    await add("one", "a");
    const help = await conductor("send", "a", "--", "--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toBe("sent 6 character(s) and Enter to a\n");
    const dash = await conductor("send", "a", "-n");
    expect(dash.code).toBe(2);
    expect(dash.stderr).toContain(
      `unknown option "-n" (to send text starting with "-", put it after --: conductor send <id> -- "-n")`,
    );
  }, 120_000);
});
