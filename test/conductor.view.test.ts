/**
 * The facade as a view of the conductor chart, with real processes: a kill waits for its own
 * session's tree only; misuse (unknown or numeric ids) leaves nothing behind and says so; finished
 * sessions can be released; API events carry their time and arrive in a documented order.
 */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { sessionRows } from "../src/cli/ls.js";
import { type Conductor, createConductor } from "../src/conductor.js";
import { pidsWithCmdline } from "./helpers/marked.js";

const open: Conductor[] = [];
function conductor(extra: Partial<Parameters<typeof createConductor>[0]> = {}) {
  const logsDir = mkdtempSync(join(tmpdir(), "conductor-view-"));
  const c = createConductor({ logsDir, graceMs: 1_000, handleSignals: false, enableMesh: false, ...extra });
  open.push(c);
  return c;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.shutdown("test_end")));
});

const pidsWith = pidsWithCmdline;

const once = <T>(c: Conductor, event: "completed" | "dead" | "allCompleted", pred: (e: T) => boolean = () => true) =>
  new Promise<T>((resolve) => {
    const fn = (e: T) => {
      if (!pred(e)) return;
      c.off(event, fn);
      resolve(e);
    };
    c.on(event, fn);
  });

/** A shell that waits to be told it started, then runs `body`; its command line carries `marker`. */
const shell = (marker: string, body: string) => ["/bin/sh", "-c", `${body} # ${marker}`];

describe("the facade is a view of the conductor chart", () => {
  it("killSession(id) resolves when that session's tree is gone, not when every other tree is", async () => {
    // graceMs is the stubborn tree's wait; the polite one dies on SIGTERM and must not wait for it.
    const c = conductor({ graceMs: 8_000 });
    const stubborn = `stubborn-${process.pid}-${Date.now()}`;
    const polite = `polite-${process.pid}-${Date.now()}`;
    c.spawnSession({ id: "stubborn", agent: "command", command: shell(stubborn, "trap '' TERM; echo up; sleep 600") });
    c.spawnSession({ id: "polite", agent: "command", command: shell(polite, "echo up; sleep 600") });
    await waitUntil(() => pidsWith(stubborn).length > 0 && pidsWith(polite).length > 0);
    await waitUntil(() => c.getSnapshot().every((s) => s.state === "healthy"));

    const order: string[] = [];
    const stubbornGone = c.killSession("stubborn").then(() => order.push("stubborn"));
    await c.killSession("polite");
    order.push("polite");
    expect(pidsWith(polite)).toEqual([]);
    // The stubborn tree ignores SIGTERM and is still in its grace: its kill has not resolved.
    expect(order).toEqual(["polite"]);
    expect(pidsWith(stubborn).length).toBeGreaterThan(0);
    await stubbornGone;
    expect(order).toEqual(["polite", "stubborn"]);
    expect(pidsWith(stubborn)).toEqual([]);
  }, 60_000);

  it("unknown ids: killSession resolves as the seed's did, and the event log says which ids exist; sendInput and removeSession return false", async () => {
    const c = conductor();
    c.spawnSession({ id: "known", agent: "command", command: ["/bin/sh", "-c", "sleep 30"] });
    await expect(c.killSession("nope")).resolves.toBeUndefined(); // was: a rejection, unhandled in seed code
    const line = readFileSync(c.eventLogPath, "utf8")
      .split("\n")
      .find((l) => l.includes('"session.kill_unknown"'));
    expect(JSON.parse(line ?? "{}")).toMatchObject({ session: "nope", reason: "user_kill", known: ["known"] });
    expect(c.sendInput("nope", "y")).toBe(false);
    expect(c.removeSession("nope")).toBe(false);
  });

  it("defect: a numeric id was created before it threw (a phantom init session); now nothing is left", async () => {
    const c = conductor();
    expect(() => c.spawnSession({ id: 5, agent: "command", command: ["/bin/true"] } as never)).toThrow(
      /id: expected string, got number 5/,
    );
    expect(c.sessionCount).toBe(0);
    expect(c.getSnapshot()).toEqual([]);
    // The phantom kept allCompleted from ever firing; with nothing left behind it fires.
    const all = once(c, "allCompleted");
    c.spawnSession({ id: "real", agent: "command", command: ["/bin/true"] });
    await all;
    expect(c.getSnapshot().map((s) => [s.id, s.state])).toEqual([["real", "completed"]]);
  });

  it("removeSession releases a finished session (actor, record, id); a live one is refused", async () => {
    const c = conductor();
    c.spawnSession({ id: "live", agent: "command", command: ["/bin/sh", "-c", "sleep 30"] });
    expect(() => c.removeSession("live")).toThrow(/still (init|starting|healthy); killSession\("live"\) first/);
    await c.killSession("live");
    expect(c.removeSession("live")).toBe(true);
    expect(c.sessionCount).toBe(0);
    expect(c.actor.system.get("session:live")).toBeUndefined();
    expect(c.actor.getSnapshot().context.placement).toEqual({});
    // The id is free again.
    const done = once(c, "completed");
    c.spawnSession({ id: "live", agent: "command", command: ["/bin/true"] });
    await done;
    expect(c.getSnapshot()).toHaveLength(1);
  });

  it("getSnapshot, sessionCount and createdAt are read from the conductor chart's context", () => {
    const c = conductor();
    const before = Date.now();
    c.spawnSession({ id: "v", agent: "command", command: ["/bin/sh", "-c", "sleep 30"] });
    const ctx = c.actor.getSnapshot().context;
    expect(Object.keys(ctx.sessions)).toEqual(["v"]);
    expect(c.sessionCount).toBe(1);
    const [view] = c.getSnapshot();
    // The seed's type: epoch milliseconds; the ISO string the chart records is beside it.
    expect(view!.createdAtIso).toBe(ctx.placement.v!.createdAt);
    expect(view!.createdAt).toBe(Date.parse(ctx.placement.v!.createdAt));
    expect(view!.createdAt).toBeGreaterThanOrEqual(before - 1);
    expect(view).toMatchObject({ remote: false, host: null });
  });

  it("events carry `at` (wall and monotonic) and arrive in order: failed, dead, then `dead`", async () => {
    const c = conductor({ maxRestarts: 0 });
    const seen: { what: string; at: { wallMs: number; monoMs: number } }[] = [];
    c.on("stateChange", (e) => seen.push({ what: `->${e.to}`, at: e.at }));
    c.on("dead", (e) => seen.push({ what: "dead", at: e.at }));
    c.on("allCompleted", (e) => seen.push({ what: "allCompleted", at: e.at }));
    const all = once(c, "allCompleted");
    c.spawnSession({ id: "fails", agent: "command", command: ["/bin/sh", "-c", "echo no; exit 3"] });
    await all;
    expect(seen.map((s) => s.what).slice(-4)).toEqual(["->failed", "->dead", "dead", "allCompleted"]);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.at.monoMs).toBeGreaterThanOrEqual(seen[i - 1]!.at.monoMs);
    for (const s of seen) expect(Math.abs(s.at.wallMs - Date.now())).toBeLessThan(10 * 60_000);
  });
});

async function waitUntil(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 25));
}

describe("listener errors", () => {
  it("a throwing listener is caught, logged with where it threw and, the first of each listener, warned about on stderr; one of `shutdown` (after the log closed) too", async () => {
    const c = conductor();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on("warning", onWarning);
    try {
      c.on("stateChange", function stateListener() {
        throw new Error("state listener broke");
      });
      c.on("shutdown", () => {
        throw new Error("shutdown listener broke");
      });
      const done = new Promise<void>((r) => c.on("completed", () => r()));
      c.spawnSession({ id: "t", agent: "command", command: ["/bin/true"] });
      await done;
      await c.shutdown("test");
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off("warning", onWarning);
    }
    const lines = readFileSync(c.eventLogPath, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((l) => l.event === "conductor.listener_error");
    // Every throw a line (init→starting, starting→completed at least), each saying where it threw.
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines)
      expect(l).toMatchObject({
        listener: "stateChange",
        error: "state listener broke",
        where: expect.stringMatching(/^stateListener \(.*conductor\.view\.test\.ts:\d+:\d+\)$/),
      });
    // A warning for the first only, then one for the shutdown listener (the log closed by then).
    const listenerWarnings = warnings.filter((w) => w.startsWith("ConductorListenerError"));
    expect(listenerWarnings).toEqual([
      expect.stringMatching(
        /^ConductorListenerError: a "stateChange" listener threw: state listener broke \(at stateListener \(.*conductor\.view\.test\.ts:\d+:\d+\)\); caught, the sessions go on; each throw is a conductor\.listener_error line$/,
      ),
      expect.stringMatching(/^ConductorListenerError: a "shutdown" listener threw: shutdown listener broke \(at /),
    ]);
    expect(warnings.join("\n")).not.toContain("after close");
  });
});

describe("a session waiting to run again says when", () => {
  it("defect: nextRunAt while restarting (a wait of hours), in the snapshot and in `ls`; null once it is not waiting (was: `restarting` only, looking hung)", async () => {
    const c = conductor();
    const HOURS_3 = 3 * 3_600_000;
    const waiting = new Promise<void>((resolve) => c.on("stateChange", (e) => e.to === "restarting" && resolve()));
    const before = Date.now();
    c.spawnSession({
      id: "w",
      agent: "command",
      command: ["/bin/sh", "-c", "exit 3"],
      restart: { backoffInitialMs: HOURS_3, backoffMaxMs: HOURS_3 },
    });
    await waiting;
    const after = Date.now();
    const s = c.getSnapshot()[0]!;
    expect(s.state).toBe("restarting");
    const due = Date.parse(s.nextRunAt ?? "");
    expect(due).toBeGreaterThanOrEqual(before + HOURS_3);
    expect(due).toBeLessThanOrEqual(after + HOURS_3);
    const [row] = sessionRows([{ ...s, runStartedAt: null, lastOutputAt: null }], after);
    expect(row?.[6]).toMatch(/; next run in (2h59m|3h00m)$/);
    await c.killSession("w");
    expect(c.getSnapshot()[0]).toMatchObject({ state: "dead", nextRunAt: null });
  });
});

describe("a session waiting for an account says until when", () => {
  it("accountWait.etaAt: the time the wait's etaMs points at, which does not go stale as etaMs does", async () => {
    const dir = mkdtempSync(join(tmpdir(), "conductor-view-eta-"));
    const bin = join(dir, "codex");
    writeFileSync(bin, "#!/bin/sh\nexec sleep 30\n");
    chmodSync(bin, 0o755);
    const c = conductor({
      accounts: { providers: { codex: [{ id: "only", mode: "profile", profile: "p" }] } },
      brokerStateFile: join(dir, "broker.json"),
      credentialsDir: join(dir, "creds"),
    });
    const held = new Promise<void>((resolve) => c.on("account", () => resolve()));
    const waiting = new Promise<{ etaMs: number | null }>((resolve) => c.on("accountWait", (e) => resolve(e)));
    const spawn = (id: string) =>
      c.spawnSession({ id, agent: "codex", prompt: "task", bin, account: true, approvals: "prompt" });
    spawn("first");
    await held;
    const before = Date.now();
    spawn("second");
    const wait = await waiting;
    const after = Date.now();
    const s = c.getSnapshot().find((x) => x.id === "second")!;
    expect(s.accountWait).toMatchObject({ etaMs: wait.etaMs });
    // The only account is leased: free again at the lease's end (~30 min).
    const eta = wait.etaMs as number;
    expect(eta).toBeGreaterThan(0);
    const at = Date.parse(s.accountWait?.etaAt ?? "");
    expect(at).toBeGreaterThanOrEqual(before + eta);
    expect(at).toBeLessThanOrEqual(after + eta);
    expect(c.getSnapshot().find((x) => x.id === "first")?.accountWait).toBeNull();
  });
});

describe("a flapping session says why it restarted", () => {
  it("defect: previousRun keeps how the run before ended, in the snapshot and ls's error cell (was: `healthy` and `-` between crashes); a final session has no pid (was: its last, reusable pid)", async () => {
    const c = conductor({ maxRestarts: 1 });
    // Run 1 prints its error and exits 2; run 2 (CONDUCTOR_ATTEMPT=2) prints and stays up.
    const body = `if [ "$CONDUCTOR_ATTEMPT" = 1 ]; then echo 'Error: connection reset by peer' >&2; exit 2; fi; echo up; exec sleep 30`;
    const second = new Promise<void>((resolve) =>
      c.on("stateChange", (e) => e.to === "healthy" && c.getSnapshot()[0]?.restarts === 1 && resolve()),
    );
    c.spawnSession({ id: "f", agent: "command", command: shell("flap", body), restart: { backoffInitialMs: 50 } });
    await second;
    const s = c.getSnapshot()[0]!;
    expect(s).toMatchObject({ state: "healthy", lastError: null });
    expect(s.previousRun).toEqual({
      attempt: 1,
      exit: { exitCode: 2, signal: null },
      failureMode: "exit_nonzero",
      lastError: "Error: connection reset by peer",
      restartedOnRequest: false,
    });
    expect(s.pid).toBeGreaterThan(0);
    const [row] = sessionRows([{ ...s, runStartedAt: null, lastOutputAt: null }]);
    expect(row?.[7]).toBe("run 1: Error: connection reset by peer");
    await c.killSession("f");
    expect(c.getSnapshot()[0]).toMatchObject({ state: "dead", pid: null });
  });
});
