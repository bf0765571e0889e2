/**
 * The reap of a remote pane (endPane) against a scripted tmux control channel that keeps tmux's
 * rules: answers come in order, and a `run-shell`/`if-shell` without `-b` holds the client's whole
 * command queue until tmux reaps its job. Here the job's exit is missed, as tmux 3.3a built with
 * libutempter misses a child's SIGCHLD while a dead pane's utmp helper runs (the job stays a
 * zombie until another child exits). Seen for real under `stress-ng --cpu 4`: the KILL's job
 * exited as the pane died, and the reap's kill-window got no answer for 60 s (issue 12).
 */
import { describe, expect, it } from "vitest";
import { endPane, type Pane } from "../actors/remote-pane.js";
import type { TmuxControl } from "../actors/tmux-hub.js";

/** A control channel whose jobs are never reaped: a command that waits for one wedges the queue. */
function channelMissingEveryJobExit() {
  const sent: string[][] = [];
  let wedgedBy: string | undefined;
  const answer = (cmd: string[]): string[] => {
    if (cmd[0] === "list-panes") return ["%7 4242 0  "]; // alive
    if (cmd[0] === "kill-session") throw new Error("can't find session: s"); // went with its only window
    return [];
  };
  const ctl = {
    hub: "conductor-hub",
    attached: true,
    later: () => {},
    run: (commands: string[][]) => {
      sent.push(...commands);
      // Queued behind a job tmux never reaps: answered never (the real channel times out after 60 s).
      if (wedgedBy) return new Promise<string[][]>(() => {});
      try {
        const blocks = commands.map((c) => {
          const block = answer(c);
          // tmux prints the %end at once, then holds the queue until the job's SIGCHLD.
          if (/^(run|if)-shell$/.test(String(c[0])) && !c.includes("-b")) wedgedBy = c.join(" ");
          return block;
        });
        return Promise.resolve(blocks);
      } catch (e) {
        return Promise.reject(e);
      }
    },
  } as unknown as TmuxControl;
  return { ctl, sent, wedgedBy: () => wedgedBy };
}

/** Lets every promise and immediate callback run: the scripted channel answers without timers. */
const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

describe("the reap of a remote pane when tmux misses a job's exit", () => {
  const pane: Pane = { id: "%7", window: "@3", pid: 4242 };

  it("TERM, grace, KILL, then the window and session are removed: no command waits on a job", async () => {
    const { ctl, sent, wedgedBy } = channelMissingEveryJobExit();
    const failures: string[] = [];
    let done = false;
    void endPane(ctl, pane, {
      createdSession: "s",
      graceMs: 10,
      died: async () => {},
      failed: (step, e) => void failures.push(`${step}: ${e.message}`),
    }).then(() => {
      done = true;
    });
    await settle();
    expect(wedgedBy()).toBeUndefined();
    expect(done).toBe(true);
    expect(sent.map((c) => c[0])).toEqual(["list-panes", "run-shell", "run-shell", "kill-window", "kill-session"]);
    expect(sent.filter((c) => c[0] === "run-shell").map((c) => c.at(-1))).toEqual([
      "kill -TERM -4242 >/dev/null 2>&1; true",
      "kill -KILL -4242 >/dev/null 2>&1; true",
    ]);
    expect(failures).toEqual([]); // "can't find session" after kill-window is the expected end
  });
});
