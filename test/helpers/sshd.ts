/** The throwaway sshd lives in the shipped testing helpers (statechart-conductor/testing). */
import { execFileSync } from "node:child_process";

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
  return { tmux, sessions };
}
