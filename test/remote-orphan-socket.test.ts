/**
 * The orphan hook (actors/remote-orphan-watch.ts) reaches the remote tmux server through its own
 * socket path, which comes from the host's TMUX_TMPDIR: a path with a quote and a blank in it must
 * not break the hook's shell script (it did: the path sat in single quotes, so the hook's tmux calls
 * found no server and a killed conductor's agent ran on). Real sshd, real tmux, a real embedding
 * process killed with SIGKILL.
 */
import { type ChildProcess, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { distModule } from "./helpers/dist.js";
import { killMarked, newMark, waitMarked } from "./helpers/marked.js";
import { startRemoteEmbedder } from "./helpers/remote-embedder.js";
import { haveRemoteTools, startSshd, type TestSshd } from "./helpers/sshd.js";

const { built } = distModule("src/index.js");
const SOCKET = `cond-orphan-q-${process.pid}`;
const tmp = mkdtempSync(join(tmpdir(), "remote-orphan-socket-"));
/** The host's TMUX_TMPDIR: a quote and a blank, as a user's home directory may have. */
const tmuxTmp = join(tmp, "it's a dir");
/** A bound for what the remote side does by itself (the hook's sleep, the kill's 2 s): never a verdict. */
const BOUND_MS = 60_000;
const mark = newMark();
let sshd: TestSshd;
const children: ChildProcess[] = [];

const tmux = (...args: string[]) =>
  execFileSync("tmux", ["-L", SOCKET, ...args], { encoding: "utf8", env: { ...process.env, TMUX_TMPDIR: tmuxTmp } });

beforeAll(async () => {
  mkdirSync(tmuxTmp);
  if (haveRemoteTools && built) sshd = await startSshd({ env: { TMUX_TMPDIR: tmuxTmp } });
});
afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  killMarked(mark);
  try {
    tmux("kill-server");
  } catch {
    /* no server left */
  }
  await sshd?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe.runIf(haveRemoteTools && built && process.platform === "linux")("the orphan hook's socket path", () => {
  it(
    "a host whose TMUX_TMPDIR holds a quote and a blank: a killed conductor's agent still ends",
    async () => {
      const { child: proc, exited } = await startRemoteEmbedder({
        logsDir: mkdtempSync(join(tmp, "logs-")),
        hostsFile: sshd.hostsFile("box"),
        socket: SOCKET,
        ...{ mark, hostDownMs: 1_500, id: "q", boundMs: BOUND_MS, children },
      });
      // The remote server is the one in that directory (the test would prove nothing otherwise).
      expect(tmux("display-message", "-p", "#{socket_path}").trim()).toContain("it's a dir");
      proc.kill("SIGKILL");
      await exited;
      expect(await waitMarked(mark, (n) => n === 0, BOUND_MS)).toEqual([]);
      // No server left is no session left: the hook removes the idle hub too, and the server exits.
      const sessions = () => {
        try {
          return tmux("list-sessions", "-F", "#{session_name}").split("\n");
        } catch {
          return [];
        }
      };
      const end = Date.now() + BOUND_MS; // its session goes right after its processes, then the hub
      const gone = () => !sessions().includes("q") && !sessions().includes("conductor-hub");
      while (!gone() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      expect(sessions()).not.toContain("q");
      expect(sessions()).not.toContain("conductor-hub");
    },
    3 * BOUND_MS,
  );
});
