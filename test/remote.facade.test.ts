/**
 * Remote sessions through `createConductor` and `spawnSession({ remote: true, host })`, against
 * a throwaway sshd on 127.0.0.1 and tmux: the same facade, events and log as local sessions.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createConductor } from "../src/conductor.js";
import { readEventLog } from "../src/event-log.js";
import { haveRemoteTools, remoteSuite } from "./helpers/sshd.js";

const SOCKET = `cond-facade-${process.pid}`;
const suite = remoteSuite(SOCKET);
const haveTools = haveRemoteTools;

const until = (event: "completed" | "dead", id: string) =>
  new Promise<{ sessionId: string; reason?: string }>((r) => {
    const fn = (e: { sessionId: string }) => {
      if (e.sessionId !== id) return;
      suite.c.off(event, fn);
      r(e);
    };
    suite.c.on(event, fn);
  });

/** A `/bin/sh -c` agent on host "box". */
const remote = (id: string, script: string, extra: Record<string, unknown> = {}) =>
  suite.c.spawnSession({
    id,
    agent: "command",
    command: ["/bin/sh", "-c", script],
    remote: true,
    host: "box",
    ...extra,
  });

describe.runIf(haveTools)("remote sessions through the facade", () => {
  it("completes on the completion token printed after other output, and logs like a local session", async () => {
    const done = until("completed", "tok");
    remote("tok", "echo working; sleep 0.3; echo __TRIFLUX_DONE__; sleep 100");
    expect(suite.c.getSnapshot().find((s) => s.id === "tok")).toMatchObject({ remote: true, host: "box" });
    await done;
    const log = await readEventLog(suite.c.eventLogPath);
    const moves = log
      .filter((l) => l.session === "tok" && l.event === "session.state_change")
      .map((l) => `${l.from}->${l.to}`);
    expect(moves).toEqual(["init->starting", "starting->healthy", "healthy->completed"]);
    expect(log.find((l) => l.session === "tok" && l.to === "completed")?.reason).toBe("remote_completion_token");
  });

  it("a failing remote agent is restarted, then dead; sendInput answers a remote question", async () => {
    const dead = until("dead", "fail");
    remote("fail", "echo boom; exit 3", { maxRestarts: 1 });
    expect((await dead).reason).toBe("maxRestarts(1)_exceeded");
    expect(suite.c.getSnapshot().find((s) => s.id === "fail")).toMatchObject({ restarts: 1, exit: { exitCode: 3 } });

    const asked = new Promise<void>((r) =>
      suite.c.on("inputWait", (e: { sessionId: string }) => e.sessionId === "ask" && r()),
    );
    const done = until("completed", "ask");
    remote("ask", "printf 'Proceed? (y/n) '; read a; [ \"$a\" = y ] && echo yes && exit 0; exit 1", {
      probeOpts: { inputQuietMs: 200 },
    });
    await asked;
    expect(suite.c.sendInput("ask", "y")).toBe(true);
    await done;
  });

  it("refuses an unknown host or a remote session without a hosts file, saying what to do", () => {
    expect(() =>
      suite.c.spawnSession({ id: "nohost", agent: "command", command: ["true"], remote: true, host: "elsewhere" }),
    ).toThrow(/unknown host "elsewhere".*"box"/);
    const local = createConductor({
      logsDir: mkdtempSync(join(tmpdir(), "conductor-remote-facade-")),
      handleSignals: false,
    });
    expect(() =>
      local.spawnSession({ id: "r", agent: "command", command: ["true"], remote: true, host: "box" }),
    ).toThrow(/need a hosts file/);
    void local.shutdown();
  });

  it("defect: a host whose key cannot be read is refused at the call, not connected to at every run (4 runs, then dead)", async () => {
    const keyless = createConductor({
      logsDir: mkdtempSync(join(tmpdir(), "conductor-remote-facade-")),
      handleSignals: false,
      hosts: { hosts: { box: { host: "127.0.0.1", user: "u", identityFile: "/nonexistent/key-7f3a" } } },
    });
    const spawn = () =>
      keyless.spawnSession({ id: "r", agent: "command", command: ["true"], remote: true, host: "box" });
    expect(spawn).toThrow(
      'session "r": host "box": cannot read its identityFile /nonexistent/key-7f3a (ENOENT); fix "identityFile" in the hosts file or create the key',
    );
    expect(spawn).toThrow(expect.objectContaining({ code: "INVALID_OPTIONS", field: "host" }));
    expect(keyless.getSnapshot()).toEqual([]);
    await keyless.shutdown();
  });

  it("defect: an id tmux cannot name a session by (review.1) is refused at the call, not at every run's spawn", () => {
    expect(() =>
      suite.c.spawnSession({ id: "review.1", agent: "command", command: ["true"], remote: true, host: "box" }),
    ).toThrow(
      expect.objectContaining({
        code: "INVALID_OPTIONS",
        field: "id",
        message: expect.stringMatching(/"review\.1" contains ':' or '\.'.*pass "sessionName"/),
      }),
    );
    expect(() =>
      suite.c.spawnSession({
        id: "ok-2",
        agent: "command",
        command: ["true"],
        remote: true,
        host: "box",
        sessionName: "a:b",
      }),
    ).toThrow(expect.objectContaining({ field: "sessionName" }));
    // Attached too: the run would check the same name at every spawn.
    expect(() =>
      suite.c.spawnSession({
        id: "w",
        agent: "command",
        command: ["true"],
        remote: true,
        host: "box",
        attach: true,
        sessionName: "x.y",
      }),
    ).toThrow(expect.objectContaining({ field: "sessionName" }));
    expect(suite.c.getSnapshot().map((s) => s.id)).not.toContain("review.1");
  });
});
