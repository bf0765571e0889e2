/**
 * `conductor logs` of a TUI, as a user runs it against a real `conductor run` (built JS in dist/):
 * the session replays claude 2.1.332's recorded output (tui-hang.cast) through its pty, so the out
 * log holds the bytes the real TUI wrote. History and `-f` show its rows as the screen did: the
 * prompt and the answer with their spaces (claude writes `ESC[<n>G` between words), one row a line,
 * no CR or escape left in (a partial line with a raw CR overwrote itself on the reader's terminal).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { distModule } from "./helpers/dist.js";

const cli = distModule("src/cli/main.js");
const exec = promisify(execFile);
const REPLAY = fileURLToPath(new URL("./fixtures/replay-cast.mjs", import.meta.url));
const CAST = fileURLToPath(new URL("./fixtures/agents/claude/tui-hang.cast", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "cli-logs-tui-"));
const env = { ...process.env, XDG_RUNTIME_DIR: mkdtempSync(join(tmpdir(), "cli-logs-tui-xdg-")), CONDUCTOR_NAME: "" };
const go = join(dir, "go");
const doneFile = join(dir, "replayed");
const outLog = join(dir, "logs", "tui.out.log");

/** A line as logs prints it: its time, two blanks, the text. */
const line = (text: string) =>
  new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} {2}${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m");
const PROMPT = line("❯ Reply with one short sentence.");
const ANSWER = line("● FAKE-API-OK: hello from the fake model.");

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function collect(child: ChildProcess): { text: () => string } {
  let text = "";
  child.stdout?.on("data", (d) => (text += d));
  return { text: () => text };
}

async function until(ok: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await pause(50);
  }
}

let run: ChildProcess;
let follower: ChildProcess;
let followed: { text: () => string };

beforeAll(async () => {
  if (!cli.built) return;
  // The replay waits for `go`, so the follower is following before the first byte.
  const script = `while [ ! -e ${go} ]; do sleep 0.05; done; exec "$0" ${REPLAY} ${CAST} --speed 1000 --max-gap 0.02 --done-file ${doneFile} --stay`;
  writeFileSync(
    join(dir, "tui.json"),
    JSON.stringify({
      probe: { stallMs: 3_600_000, stallTimeoutMs: 3_600_000 },
      sessions: [{ id: "tui", agent: "command", command: ["/bin/sh", "-c", script, process.execPath], maxRestarts: 0 }],
    }),
  );
  run = spawn(process.execPath, [cli.path, "run", "tui.json", "--logs-dir", "logs"], { cwd: dir, env });
  const started = collect(run);
  await until(() => /control socket \S+/.test(started.text()), "the conductor");
  follower = spawn(process.execPath, [cli.path, "logs", "tui", "-f", "-n", "10000"], { cwd: dir, env });
  followed = collect(follower);
  // Its history (the spawn's events) is printed after its follow began.
  await until(() => followed.text().includes("──"), "the follower");
  writeFileSync(go, "");
  // Every byte replayed, and in the out log.
  await until(() => existsSync(doneFile) && readFileSync(doneFile, "utf8").trim() !== "", "the replay");
  const bytes = Number(readFileSync(doneFile, "utf8"));
  await until(() => existsSync(outLog) && statSync(outLog).size >= bytes, "the out log");
  await pause(1_500); // the follower's last chunk
}, 120_000);

afterAll(async () => {
  follower?.kill("SIGKILL");
  if (run && run.exitCode === null) {
    const exited = new Promise((r) => run.once("exit", r));
    run.kill("SIGTERM");
    await Promise.race([exited, pause(10_000)]);
    if (run.exitCode === null) run.kill("SIGKILL");
  }
}, 30_000);

describe.skipIf(!cli.built)("conductor logs of a TUI (claude's recorded output)", () => {
  it("defect: history glued claude's words (FAKE-API-OK:hellofromthefakemodel.): now its rows as the screen showed them", async () => {
    const r = await exec(process.execPath, [cli.path, "logs", "tui", "-n", "10000"], {
      cwd: dir,
      env,
      timeout: 60_000,
    });
    expect(r.stdout).toMatch(PROMPT);
    expect(r.stdout).toMatch(ANSWER);
    expect(r.stdout).toMatch(line("Resume this session with:"));
    expect(r.stdout).not.toMatch(/[\r\x1b]/);
  }, 60_000);

  it("defect: logs -f printed a TUI's partial line with raw CRs (the answer overwritten): now the same rows", () => {
    const text = followed.text();
    expect(text).toMatch(PROMPT);
    expect(text).toMatch(ANSWER);
    expect(text).not.toMatch(/[\r\x1b]/);
  });
});
