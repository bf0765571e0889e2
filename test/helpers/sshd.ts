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
