/**
 * A pane watched with `attach: true` is held open at its program's exit while the conductor
 * watches (`remain-on-exit on`), and let go at the end. A conductor killed with SIGKILL never let
 * go: the user's pane kept `remain-on-exit on`, and when its program ended it stayed there, dead,
 * instead of closing (a review). The owner's hook on the host now puts the option back. Real sshd
 * on 127.0.0.1, real tmux, a conductor in a process of its own (test/fixtures/remote-orphan-embedder.mjs).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { distModule } from "./helpers/dist.js";
import { newMark } from "./helpers/marked.js";
import { haveRemoteTools, killTmuxServer, startSshd, type TestSshd, tmuxOn } from "./helpers/sshd.js";

const { built } = distModule("src/index.js");
const EMBEDDER = fileURLToPath(new URL("./fixtures/remote-orphan-embedder.mjs", import.meta.url));
const SOCKET = `cond-attorph-${process.pid}`;
const { tmux, sessions, userSession } = tmuxOn(SOCKET);
const tmp = mkdtempSync(join(tmpdir(), "remote-attach-orphan-"));
/** A bound for what the host does by itself (the hook's grace, its kills): never a verdict. */
const BOUND_MS = 60_000;
let sshd: TestSshd;
let embedder: ChildProcess | undefined;

beforeAll(async () => {
  if (haveRemoteTools && built) sshd = await startSshd();
});
afterAll(async () => {
  embedder?.kill("SIGKILL");
  await killTmuxServer(SOCKET);
  await sshd?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function until(what: string, pred: () => boolean) {
  const end = Date.now() + BOUND_MS;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
/** The pane's own options ("" when it has none of its own). */
const paneOptions = () => tmux("show-options", "-p", "-t", "=theirs:").trim();

describe.runIf(haveRemoteTools && built && process.platform === "linux")(
  "a watched pane of a conductor that is gone",
  () => {
    it(
      "SIGKILL of the conductor: its hook puts remain-on-exit back, and the pane closes at its program's exit",
      async () => {
        userSession("theirs", "while :; do echo tick; sleep 1; done");
        const args = [EMBEDDER, join(tmp, "logs"), sshd.hostsFile("box"), SOCKET, newMark(), "1500", "watch", "theirs"];
        embedder = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
        const exited = new Promise<void>((r) => embedder?.on("exit", () => r()));
        await new Promise<void>((resolve, reject) => {
          embedder?.stdout?.on("data", (d: Buffer) => String(d).includes("ready") && resolve());
          embedder?.on("exit", (code) => reject(new Error(`the embedder exited (${code}) before it watched`)));
        });
        // Held while watched, and what to put back kept beside it.
        await until("the hold", () => /remain-on-exit on/.test(paneOptions()));
        expect(paneOptions()).toMatch(/@conductor-hold-[0-9a-f]{12} -/);
        embedder.kill("SIGKILL");
        await exited;
        await until("the pane let go", () => paneOptions() === "");
        // Its program ends: the pane closes as tmux would have closed it (it stayed, dead, before).
        const pid = tmux("display-message", "-p", "-t", "=theirs:", "#{pane_pid}").trim();
        process.kill(Number(pid), "SIGTERM");
        await until("the user's session to close", () => !sessions().includes("theirs"));
        expect(sessions()).not.toContain("theirs");
      },
      3 * BOUND_MS,
    );
  },
);
