/** The throwaway sshd lives in the shipped testing helpers (statechart-conductor/testing). */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Conductor, createConductor } from "../../src/conductor.js";
import type { ConductorOptions } from "../../src/conductor-options.js";
import { killTmuxServer, startSshd, type TestSshd } from "../../src/testing/sshd.js";
import { afterAll, beforeAll } from "vitest";

export { freePort, killTmuxServer, startSshd, type TestSshd } from "../../src/testing/sshd.js";

/** tmux and sshd are both installed (the remote tests skip, saying so, where they are not). */
export const haveRemoteTools = (() => {
  try {
    execFileSync("tmux", ["-V"]);
    execFileSync("test", ["-x", "/usr/sbin/sshd"]);
    return true;
  } catch {
    return false;
  }
})();

/** The "remote" tmux server on `socket` (it runs on this machine): a command, and its session names. */
export function tmuxOn(socket: string) {
  const tmux = (...args: string[]) => execFileSync("tmux", ["-L", socket, ...args], { encoding: "utf8" });
  const sessions = () => {
    try {
      return tmux("list-sessions", "-F", "#{session_name}").split("\n").filter(Boolean);
    } catch {
      return []; // no server running
    }
  };
  /** The user's own tmux session `name` (80×24, the default remain-on-exit: off) running `script`. */
  const userSession = (name: string, script: string) =>
    tmux("new-session", "-d", "-s", name, "-x", "80", "-y", "24", "sh", "-c", script);
  return { tmux, sessions, userSession };
}

/**
 * One sshd and one `remoteConductor` on `socket` for a whole test file: started before its tests
 * (when the remote tools are there), shut down with the tmux server and the sshd after them.
 */
export function remoteSuite(socket: string): { readonly c: Conductor } {
  let sshd: TestSshd | undefined;
  let conductor: Conductor | undefined;
  beforeAll(async () => {
    if (!haveRemoteTools) return;
    sshd = await startSshd();
    conductor = remoteConductor(sshd, socket);
  });
  afterAll(async () => {
    await conductor?.shutdown("test_end");
    await killTmuxServer(socket);
    await sshd?.stop();
  });
  return {
    get c() {
      return conductor as Conductor;
    },
  };
}

/**
 * A conductor for the remote tests: the sshd's host `box`, tmux on `socket`, a short grace, no
 * restart backoff; `opts` on top (its logs: a fresh temporary folder unless `opts.logsDir`).
 */
export function remoteConductor(sshd: TestSshd, socket: string, opts: Partial<ConductorOptions> = {}): Conductor {
  return createConductor({
    logsDir: mkdtempSync(join(tmpdir(), "conductor-remote-")),
    handleSignals: false,
    hosts: sshd.hostsFile("box"),
    tmuxSocketName: socket,
    graceMs: 500,
    restart: { backoffInitialMs: 0 },
    ...opts,
  });
}
