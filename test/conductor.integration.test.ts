/**
 * createConductor end to end with real processes in real ptys: no fakes below the facade.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  type Conductor,
  type ConductorEventName,
  type ConductorEventPayloads,
  createConductor,
} from "../src/conductor.js";
import { readEventLog } from "../src/event-log.js";
import { getConductorRegistry } from "../src/conductor-registry.js";
import { pidsWithCmdline } from "./helpers/marked.js";

const NODE = process.execPath;
const open: Conductor[] = [];
function conductor(extra: Partial<Parameters<typeof createConductor>[0]> = {}) {
  const logsDir = mkdtempSync(join(tmpdir(), "conductor-it-"));
  const c = createConductor({ logsDir, graceMs: 1_000, handleSignals: false, ...extra });
  open.push(c);
  return c;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.shutdown("test_end")));
});

function waitFor<E extends ConductorEventName>(
  c: Conductor,
  event: E,
  pred: (e: ConductorEventPayloads[E]) => boolean = () => true,
): Promise<ConductorEventPayloads[E]> {
  return new Promise((resolve) => {
    const fn = (e: ConductorEventPayloads[E]) => {
      if (!pred(e)) return;
      c.off(event, fn);
      resolve(e);
    };
    c.on(event, fn);
  });
}

const pidsWith = pidsWithCmdline;

describe("createConductor with real processes", () => {
  it("defect: a child that exits 0 before any output completes (the seed hung in starting)", async () => {
    const c = conductor();
    const done = waitFor(c, "completed");
    c.spawnSession({ id: "quick", agent: "command", command: ["/bin/true"] });
    await done;
    expect(c.getSnapshot()[0]).toMatchObject({ id: "quick", state: "completed", restarts: 0 });
  });

  it("a stall is reported stallMs after the last output, measured on real time", async () => {
    const stallMs = 400;
    const c = conductor({ probeOpts: { stallMs, inputQuietMs: 100 } });
    const moves: Array<{ to: string; at: number }> = [];
    c.on("stateChange", (e: { to: string }) => moves.push({ to: e.to, at: performance.now() }));
    const stalled = waitFor(c, "stateChange", (e) => e.to === "stalled");
    c.spawnSession({
      id: "quiet",
      agent: "command",
      command: [NODE, "-e", "console.log('one line'); setInterval(() => {}, 1e6)"],
    });
    await stalled;
    const healthyAt = moves.find((m) => m.to === "healthy")!.at;
    const stalledAt = moves.find((m) => m.to === "stalled")!.at;
    // healthy is entered on the (only) output; the verdict must not come early, nor an interval late.
    expect(stalledAt - healthyAt).toBeGreaterThanOrEqual(stallMs - 5);
    expect(stalledAt - healthyAt).toBeLessThan(stallMs + 250);
  });

  it("shutdown leaves no process of sessions whose children spawned grandchildren", async () => {
    const c = conductor();
    const tag = `1000.${process.pid}${Date.now() % 1000}`;
    for (const id of ["g1", "g2", "g3"]) {
      c.spawnSession({ id, agent: "command", command: ["bash", "-c", `sleep ${tag} & sleep ${tag}; echo never`] });
    }
    // Wait for the trees to be up (bounded), not a fixed 300 ms: a loaded machine starts them late.
    for (let t = 0; t < 1200 && pidsWith(`sleep ${tag}`, true).length < 6; t++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(pidsWith(`sleep ${tag}`, true).length).toBe(6);
    await c.shutdown("test");
    expect(pidsWith(`sleep ${tag}`)).toEqual([]); // nor the bash or shim around them
    expect(c.getSnapshot().every((s) => s.state === "dead")).toBe(true);
  });

  it("a child that ignores SIGTERM is SIGKILLed after graceMs and nothing of it survives", async () => {
    const c = conductor({ graceMs: 300 });
    const tag = `ignore-term-${Date.now()}`;
    c.spawnSession({
      id: "stubborn",
      agent: "command",
      command: [NODE, "-e", `process.on('SIGTERM',()=>{}); console.log('${tag}'); setInterval(()=>{},1e6)`],
    });
    await waitFor(c, "stateChange", (e) => e.to === "healthy");
    await c.killSession("stubborn", "user_kill");
    expect(pidsWith(tag)).toEqual([]);
    expect(c.getSnapshot()[0]!.state).toBe("dead");
  });

  it("defect: kill while restarting ends in dead and no respawn happens", async () => {
    const c = conductor({ restart: { backoffInitialMs: 500 } });
    const restarting = waitFor(c, "stateChange", (e) => e.to === "restarting");
    c.spawnSession({ id: "flaky", agent: "command", command: [NODE, "-e", "process.exit(3)"] });
    await restarting;
    await c.killSession("flaky", "user_kill");
    await new Promise((r) => setTimeout(r, 800));
    const snap = c.getSnapshot()[0]!;
    expect(snap.state).toBe("dead");
    const log = await readEventLog(c.eventLogPath);
    expect(log.filter((l) => l.event === "session.spawn" && l.session === "flaky")).toHaveLength(1);
  });

  it("sendInput reaches the child; the event log records its length, never the text", async () => {
    const c = conductor({ probeOpts: { inputQuietMs: 100 } });
    const asked = waitFor(c, "inputWait");
    c.spawnSession({
      id: "ask",
      agent: "command",
      command: [
        NODE,
        "-e",
        "process.stdout.write('Your API key? '); process.stdin.once('data', d => { console.log('got ' + d.length); process.exit(0) })",
      ],
    });
    expect((await asked).pattern).toBe("question_mark");
    const done = waitFor(c, "completed");
    expect(c.sendInput("ask", "sk-secret-123")).toBe(true);
    await done;
    await c.shutdown("test");
    const text = readFileSync(c.eventLogPath, "utf8");
    expect(text).not.toContain("sk-secret-123");
    const stdin = (await readEventLog(c.eventLogPath)).find((l) => l.event === "session.input");
    expect(stdin).toMatchObject({ session: "ask", length: 14 });
    expect(c.sendInput("ask", "late")).toBe(false);
  });

  it("defect: a prompt answered by sendInput is no question any more once the agent goes on (a field review)", async () => {
    const c = conductor({ probeOpts: { inputQuietMs: 1_000 } });
    const moves: string[] = [];
    c.on("stateChange", (e) => moves.push(`${e.to}:${e.reason}`));
    const asked = waitFor(c, "inputWait");
    const done = waitFor(c, "completed");
    // Quiet for 3 s after its reply: the answered prompt, still on screen, was read as a new question.
    const script = `printf 'Continue? [y/N] '; read a; echo "got:$a"; sleep 3; echo done`;
    c.spawnSession({ id: "yn", agent: "command", command: ["/bin/sh", "-c", script] });
    expect((await asked).pattern).toBe("yes_no");
    expect(c.sendInput("yn", "y")).toBe(true);
    await done;
    expect(moves.filter((m) => m.startsWith("input_wait"))).toEqual(["input_wait:input_wait:yes_no"]);
    expect(readFileSync(c.getSnapshot()[0]!.outPath!, "utf8")).toContain("got:y");
  });

  it("defect (seed compat): input sent right after spawnSession is typed ahead and reaches the first child", async () => {
    // The seed spawned inside spawnSession, so these two lines worked there; ours returned false.
    const c = conductor();
    const done = waitFor(c, "completed");
    c.spawnSession({
      id: "early",
      agent: "command",
      command: [
        NODE,
        "-e",
        "let n = 0; require('readline').createInterface({ input: process.stdin }).on('line', (l) => { console.log('read:' + l); if (++n === 2) process.exit(0) })",
      ],
    });
    expect(c.getSnapshot()[0]!.pid).toBeNull();
    expect(c.sendInput("early", "first answer")).toBe(true);
    expect(c.sendKeys("early", ["y", "Enter"])).toBe(true);
    await done;
    await c.shutdown("test");
    const out = readFileSync(c.getSnapshot()[0]!.outPath!, "utf8");
    expect(out).toContain("read:first answer");
    expect(out).toContain("read:y");
    const log = await readEventLog(c.eventLogPath);
    expect(log.find((l) => l.event === "session.input")).toMatchObject({ length: 13, typedAhead: true });
    expect(log.filter((l) => l.event === "session.input_refused")).toEqual([]);
    expect(readFileSync(c.eventLogPath, "utf8")).not.toContain("first answer");
  });

  it("a refused sendInput says why in the log, once per session and reason", async () => {
    const c = conductor();
    const done = waitFor(c, "completed");
    c.spawnSession({ id: "brief", agent: "command", command: [NODE, "-e", "setTimeout(() => {}, 100)"] });
    await done;
    // Final: twice, one line.
    expect(c.sendInput("brief", "too late")).toBe(false);
    expect(c.sendKeys("brief", ["Enter"])).toBe(false);
    expect(c.sendInput("nobody", "hello")).toBe(false);
    expect(c.sendInput("nobody", "again")).toBe(false);
    expect(c.sendInput("brief", 42 as unknown as string)).toBe(false);
    await c.shutdown("test");
    const refused = (await readEventLog(c.eventLogPath)).filter((l) => l.event === "session.input_refused");
    expect(refused).toEqual([
      expect.objectContaining({ session: "brief", why: "not_running", state: "completed" }),
      expect.objectContaining({ session: "nobody", why: "unknown_session", state: null }),
      expect.objectContaining({ session: "brief", why: "not_text", state: "completed" }),
    ]);
    expect(readFileSync(c.eventLogPath, "utf8")).not.toContain("too late");
  });

  it("input typed ahead of a first child that never runs: `dead` says how many were never sent", async () => {
    const c = conductor();
    const dead = waitFor(c, "dead");
    c.spawnSession({ id: "missing", agent: "command", command: [NODE, "-e", "setTimeout(() => {}, 60000)"] });
    expect(c.sendInput("missing", "hello")).toBe(true);
    // Killed in the same turn: its child is not spawned yet (CHILD.SPAWNED comes in a later turn).
    await c.killSession("missing", "user_kill");
    expect((await dead).unsentInput).toBe(1);
    await c.shutdown("test");
    const line = (await readEventLog(c.eventLogPath)).find((l) => l.event === "session.dead");
    expect(line).toMatchObject({ session: "missing", unsentInput: 1 });
  });

  it("defect: an agent that prints its shim's marker (nonce read from /proc) cannot fake its exit or cut its output", async () => {
    const c = conductor({ maxRestarts: 0 });
    const dead = waitFor(c, "dead");
    // The nonce is the shim's first argument after its name; the shim is the agent's parent.
    const forger = [
      `n=$(tr '\\0' '\\n' < /proc/$PPID/cmdline | awk 'f{print; exit} $0=="conductor-shim"{f=1}')`,
      'echo "nonce length ${#n}"',
      `printf '\\033]7770;%s;0\\007' "$n"`,
      'echo "printed after the forged marker"',
      "sleep 0.5",
      "exit 3",
    ].join("\n");
    c.spawnSession({ id: "forger", agent: "command", command: ["/bin/sh", "-c", forger] });
    await dead;
    await c.shutdown("test");
    const snap = c.getSnapshot()[0]!;
    expect(snap.exit).toMatchObject({ exitCode: 3 });
    const out = readFileSync(snap.outPath!, "utf8");
    expect(out).toContain("nonce length 32");
    expect(out).toContain("printed after the forged marker");
    const log = await readEventLog(c.eventLogPath);
    expect(log.filter((l) => l.event === "pty.marker_forged")).toHaveLength(1);
    expect(log.find((l) => l.event === "pty.exit")).toMatchObject({ exitCode: 3 });
  });

  it("defect: a second conductor on a live one's logsDir is refused before it writes there", async () => {
    const first = conductor();
    const logsDir = dirname(first.eventLogPath);
    const before = readFileSync(first.eventLogPath, "utf8");
    expect(() => createConductor({ logsDir, handleSignals: false })).toThrow(
      expect.objectContaining({ code: "LOGS_DIR_IN_USE", field: "logsDir" }),
    );
    expect(() => createConductor({ logsDir, handleSignals: false })).toThrow(
      `is in use by a running conductor (pid ${process.pid}, this process, since`,
    );
    expect(readFileSync(first.eventLogPath, "utf8")).toBe(before);
    await first.shutdown("test");
    // Free once its conductor is gone.
    const next = createConductor({ logsDir, handleSignals: false });
    open.push(next);
    expect(next.eventLogPath).toBe(first.eventLogPath);
  });

  it("defect: a creation that throws past its logsDir claim (an inspect observer that threw) leaves the logsDir free (was: 'in use by a running conductor')", async () => {
    const logsDir = mkdtempSync(join(tmpdir(), "conductor-claim-"));
    let throws = true;
    const inspect = () => {
      if (throws) throw new Error("observer bug");
    };
    expect(() => createConductor({ logsDir, handleSignals: false, inspect })).toThrow("observer bug");
    throws = false;
    const next = createConductor({ logsDir, handleSignals: false, inspect });
    open.push(next);
    expect(next.isShuttingDown).toBe(false);
  });

  it("keeps every transition in a JSONL log that parses line by line, with seq and ISO ts", async () => {
    const c = conductor({ maxRestarts: 1 });
    const dead = waitFor(c, "dead");
    c.spawnSession({ id: "crash", agent: "command", command: [NODE, "-e", "console.log('boom'); process.exit(1)"] });
    await dead;
    await c.shutdown("test");
    const lines = readFileSync(c.eventLogPath, "utf8")
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    lines.forEach((l, i) => {
      expect(l.seq).toBe(i + 1);
      expect(new Date(l.ts).toISOString()).toBe(l.ts);
    });
    const moves = lines.filter((l) => l.event === "session.state_change").map((l) => `${l.from}->${l.to}`);
    expect(moves).toEqual([
      "init->starting",
      "starting->healthy",
      "healthy->failed",
      "failed->restarting",
      "restarting->starting",
      "starting->healthy",
      "healthy->failed",
      "failed->dead",
    ]);
    expect(lines.at(-1).event).toBe("conductor.shutdown_complete");
  });

  it("emits the seed's events, calls onCompleted, and keeps registries in step", async () => {
    const c = conductor();
    const seen: string[] = [];
    for (const e of ["stateChange", "completed", "allCompleted", "shutdown"] as const) c.on(e, () => seen.push(e));
    let called = "";
    const all = waitFor(c, "allCompleted");
    c.spawnSession({
      id: "ok",
      agent: "command",
      command: [NODE, "-e", "console.log('done')"],
      onCompleted: (i) => (called = i.sessionId),
    });
    expect(getConductorRegistry().lookup("ok")).toBe(c);
    expect(c.getMeshRegistry()?.getAgent("session:ok")).toBeTruthy();
    await all;
    expect(called).toBe("ok");
    expect(getConductorRegistry().lookup("ok")).toBeUndefined();
    await c.shutdown();
    expect(seen).toContain("completed");
    expect(seen.at(-1)).toBe("shutdown");
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("a listener that throws cannot break a session", async () => {
    const c = conductor();
    c.on("stateChange", () => {
      throw new Error("bad listener");
    });
    const done = waitFor(c, "completed");
    c.spawnSession({ id: "robust", agent: "command", command: [NODE, "-e", "console.log('x')"] });
    await done;
    expect(c.getSnapshot()[0]!.state).toBe("completed");
  });

  it("a preset's prompt reaches the agent as one argument but never the event log", async () => {
    const bin = mkdtempSync(join(tmpdir(), "conductor-bin-"));
    writeFileSync(join(bin, "claude"), `#!/bin/sh\nprintf '%s\\n' "$@"\n`, { mode: 0o755 });
    const oldPath = process.env.PATH;
    process.env.PATH = `${bin}:${oldPath}`;
    try {
      const c = conductor();
      const done = waitFor(c, "completed");
      const prompt = "deploy with token tk-12345; $(touch /tmp/nope)";
      // "prompt": the default "bypass" is refused for claude when the tests run as root.
      c.spawnSession({ id: "preset", agent: "claude", prompt, approvals: "prompt" });
      await done;
      await c.shutdown("test");
      expect(readFileSync(c.getSnapshot()[0]!.outPath!, "utf8")).toContain(prompt);
      const log = readFileSync(c.eventLogPath, "utf8");
      expect(log).not.toContain("tk-12345");
      expect((await readEventLog(c.eventLogPath)).find((l) => l.event === "session.spawn")).toMatchObject({
        promptLength: prompt.length,
      });
    } finally {
      process.env.PATH = oldPath;
    }
  });

  it("rejects bad input with errors that say what to do", () => {
    expect(() => createConductor({} as never)).toThrow(/logsDir is required/);
    const c = conductor();
    expect(() => c.spawnSession({ agent: "command", command: ["/bin/true"] } as never)).toThrow(
      /session id is required/,
    );
    expect(() => c.spawnSession({ id: "x", agent: "nope" } as never)).toThrow(
      /Unknown agent: nope \(expected one of codex, gemini, claude, command\)/,
    );
    expect(() => c.spawnSession({ id: "y", agent: "command", command: ["no-such-binary-here"] })).toThrow(
      /^session "y": "no-such-binary-here" was not found on PATH/,
    );
    // The launch errors name the option they are about (`field`) and keep the launcher's own as `cause`.
    const missing = (() => {
      try {
        c.spawnSession({ id: "w", agent: "command", command: ["/bin/true"], workdir: "/no/such/dir-7f3a" });
      } catch (e) {
        return e as { code?: string; field?: string; cause?: unknown };
      }
    })();
    expect(missing).toMatchObject({ code: "WORKDIR_NOT_FOUND", field: "workdir" });
    expect(missing?.cause).toBeInstanceOf(Error);
    expect(() => c.spawnSession({ id: "b", agent: "codex", prompt: "hi", bin: "no-such-codex-7f3a" })).toThrow(
      expect.objectContaining({ code: "BIN_NOT_FOUND", field: "bin" }),
    );
    expect(() => c.spawnSession({ id: "z", agent: "command", command: ["/bin/true"], remote: true })).toThrow(
      /host is required/,
    );
    expect(() =>
      c.spawnSession({ id: "z2", agent: "command", command: ["/bin/true"], remote: true, host: "h", account: "codex" }),
    ).toThrow(/need a hosts file/); // a remote session may lease (test/seed-compat/remote-account.test.ts)
    expect(() =>
      c.spawnSession({ id: "w", agent: "command", command: ["/bin/true"], probeOpts: { stallMs: -1 } }),
    ).toThrow(/probeOpts\.stallMs: must be >= 1, got number -1/);
    c.spawnSession({ id: "dup", agent: "command", command: ["/bin/true"] });
    expect(() => c.spawnSession({ id: "dup", agent: "command", command: ["/bin/true"] })).toThrow(/already exists/);
  });

  it.runIf(process.platform === "linux")(
    "defect: a logsDir under /proc hung createConductor at 100% CPU (Node's recursive mkdir spins on its ENOENT)",
    () => {
      expect(() => createConductor({ logsDir: "/proc/no-such-dir-7f3a/logs", handleSignals: false })).toThrow(
        /cannot be the logs directory: it cannot be created or written here \(ENOENT\)/,
      );
    },
  );

  it("defect: a refused accounts or hosts file left this conductor's record in <logsDir>/.conductors", async () => {
    for (const refused of [{ accounts: "./no-such-accounts.json" }, { hosts: "./no-such-hosts.json" }]) {
      const logsDir = mkdtempSync(join(tmpdir(), "conductor-refused-"));
      expect(() => createConductor({ logsDir, handleSignals: false, ...refused })).toThrow(/there is no such file/);
      expect(readdirSync(join(logsDir, ".conductors"))).toEqual([]);
      // Free at once: created again right after, with the file fixed (here: none), it is not "in use".
      await createConductor({ logsDir, handleSignals: false }).shutdown("test");
      expect(readFileSync(join(logsDir, "conductor-events.jsonl"), "utf8")).toContain(
        '"event":"conductor.config_error"',
      );
    }
  });

  it("defect: ids that name Object.prototype's properties were taken for sessions (REMOVE of __proto__ broke the actor)", async () => {
    const c = conductor();
    expect([c.removeSession("__proto__"), c.removeSession("toString")]).toEqual([false, false]);
    expect(c.sendInput("constructor", "x")).toBe(false);
    await c.killSession("valueOf"); // an unknown id resolves at once
    const done = new Promise((r) => c.on("completed", r));
    c.spawnSession({ id: "constructor", agent: "command", command: ["/bin/true"] });
    await done;
    expect(c.getSnapshot().map((s) => [s.id, s.state])).toEqual([["constructor", "completed"]]);
    expect(c.actor.getSnapshot().status).toBe("active");
    expect(c.removeSession("constructor")).toBe(true);
    await c.shutdown("test");
  });

  it("defect: a NUL in a prompt or a model was accepted, then every run failed on it (3 restarts, dead)", () => {
    const c = conductor();
    const bad = [
      { id: "p", agent: "command", command: ["/bin/true"], prompt: "a\u0000b" },
      { id: "m", agent: "codex", prompt: "x", model: "gpt\u0000x", bin: "/bin/true" },
      { id: "w", agent: "command", command: ["/bin/true"], workdir: "/tmp\u0000x" },
      { id: "r", agent: "codex", prompt: "x", resumePrompt: "go\u0000on", bin: "/bin/true" },
    ];
    for (const config of bad) expect(() => c.spawnSession(config as never)).toThrow(/must not contain a NUL character/);
    expect(c.getSnapshot()).toEqual([]);
  });

  it("defect: a reason that is not text went into the log and the events as it was (a Symbol threw uncaught)", async () => {
    const c = conductor();
    c.spawnSession({ id: "a", agent: "command", command: ["/bin/true"] });
    const refused = expect.objectContaining({ code: "INVALID_OPTIONS", field: "reason" });
    await expect(c.killSession("a", 42 as never)).rejects.toEqual(refused);
    await expect(c.restartSession("a", { why: 1 } as never)).rejects.toEqual(refused);
    await expect(c.shutdown(Symbol("x") as never)).rejects.toEqual(refused);
    expect(c.isShuttingDown).toBe(false);
    await c.shutdown("test");
    expect(readFileSync(c.eventLogPath, "utf8")).toContain('"reason":"test"');
  });

  it("defect: a killed session's snapshot still said its process was alive (health.l0 ok)", async () => {
    const c = conductor();
    const healthy = new Promise<void>((r) => c.on("stateChange", (e) => e.to === "healthy" && r()));
    c.spawnSession({ id: "k", agent: "command", command: ["/bin/sh", "-c", "echo up; sleep 60"] });
    await healthy;
    expect(c.getSnapshot()[0]?.health.l0).toBe("ok");
    await c.killSession("k", "test");
    expect(c.getSnapshot()[0]).toMatchObject({ state: "dead", health: { l0: "fail" } });
    await c.shutdown("test");
  });

  it("defect: removeSession after shutdown returned true and removed nothing", async () => {
    const c = conductor();
    const done = new Promise((r) => c.on("completed", r));
    c.spawnSession({ id: "a", agent: "command", command: ["/bin/true"] });
    await done;
    await c.shutdown("test");
    expect(() => c.removeSession("a")).toThrow(expect.objectContaining({ code: "SHUTTING_DOWN" }));
    expect(c.sessionCount).toBe(1);
  });

  it("defect: on() took a listener for an event that never comes (a typo) and a listener that is no function", () => {
    const c = conductor();
    expect(() => c.on("statechange" as never, () => {})).toThrow(
      expect.objectContaining({
        code: "INVALID_OPTIONS",
        message: expect.stringContaining('did you mean "stateChange"?'),
      }),
    );
    expect(() => c.on("stateChange", 5 as never)).toThrow(
      'on("stateChange", listener): the listener must be a function, got number',
    );
    expect(c.on("stateChange", () => {})).toBe(c);
  });

  it("checkSession throws what spawnSession would and starts nothing", async () => {
    const c = conductor();
    const bad = [
      { id: "y", agent: "command", command: ["no-such-binary-here"] },
      { id: "w", agent: "command", command: ["/bin/true"], workdir: "/no/such/dir-7f3a" },
      { id: "z", agent: "command", command: ["/bin/true"], remote: true, host: "h" },
      { id: "p", agent: "command", command: ["/bin/true"], probeOpts: { stallMs: -1 } },
    ] as const;
    for (const config of bad) {
      const thrown = (call: () => unknown) => {
        try {
          call();
        } catch (e) {
          return e as Error & { code?: string };
        }
        return null;
      };
      const checked = thrown(() => c.checkSession(config as never));
      expect(checked).not.toBeNull();
      expect({ message: checked?.message, code: checked?.code }).toEqual({
        message: thrown(() => c.spawnSession(config as never))?.message,
        code: thrown(() => c.spawnSession(config as never))?.code,
      });
    }
    c.checkSession({ id: "ok", agent: "command", command: ["/bin/true"] });
    expect(c.getSnapshot()).toEqual([]);
    expect(c.sessionCount).toBe(0);
    c.spawnSession({ id: "ok", agent: "command", command: ["/bin/true"] });
    expect(() => c.checkSession({ id: "ok", agent: "command", command: ["/bin/true"] })).toThrow(/already exists/);
    await c.shutdown("test");
  });

  it("refuses new sessions once shutting down", async () => {
    const c = conductor();
    const p = c.shutdown("test");
    expect(c.isShuttingDown).toBe(true);
    expect(() => c.spawnSession({ id: "late", agent: "command", command: ["/bin/true"] })).toThrow(/shutting down/);
    await p;
  });
});
