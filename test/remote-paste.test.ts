/**
 * Typed text into a remote pane, through a real sshd on 127.0.0.1 and tmux: a composer that turned
 * bracketed paste on (as claude, codex and gemini do) gets it between ESC[200~ and ESC[201~, one that
 * did not gets it as typed, and the Enter after it is a key either way (test/fixtures/paste-echo.mjs
 * prints what it got). Before, the paste path (tmux set-buffer + paste-buffer -p) was tested against a
 * local tmux only.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { haveRemoteTools, remoteSuite } from "./helpers/sshd.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/paste-echo.mjs", import.meta.url));
const suite = remoteSuite(`cond-paste-${process.pid}`);

/** Resolves once session `id` reaches `to`. */
const reached = (id: string, to: string) =>
  new Promise<void>((resolve) => {
    const fn = (e: { sessionId: string; to: string }) => {
      if (e.sessionId !== id || e.to !== to) return;
      suite.c.off("stateChange", fn);
      resolve();
    };
    suite.c.on("stateChange", fn);
  });

describe.runIf(haveRemoteTools)("text typed into a remote pane", () => {
  it.each([
    ["bracketed", "\u001b[200~Which code word? (one line)\u001b[201~"],
    ["plain", "Which code word? (one line)"],
  ])(
    "a %s composer gets what a terminal's paste would give it",
    async (mode, expected) => {
      const id = `paste-${mode}`;
      const healthy = reached(id, "healthy");
      const completed = reached(id, "completed");
      suite.c.spawnSession({
        id,
        agent: "command",
        command: [process.execPath, FIXTURE, mode],
        remote: true,
        host: "box",
      });
      await healthy;
      // The fixture prints `ready` after turning the mode on: the pane's mode is set by then.
      expect(suite.c.sendInput(id, "Which code word? (one line)")).toBe(true);
      await completed;
      const out = readFileSync(join(dirname(suite.c.eventLogPath), `${id}.out.log`), "utf8");
      expect(out).toContain(`got:${JSON.stringify(expected)}`);
    },
    60_000,
  );
});
