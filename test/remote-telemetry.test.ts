/**
 * The telemetry probe of a remote session (actors/remote-telemetry.ts): gemini's file on the host,
 * read by one exec per host and poll. Its scripts run in a real /bin/sh here (a host whose `exec` is
 * a local shell), then end to end: a recorded gemini TUI retrying a 429 behind its spinner, replayed
 * in a tmux pane behind a real sshd on 127.0.0.1, is judged rate-limited from its telemetry.
 */
import { execFile } from "node:child_process";
import {
  appendFileSync,
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { remoteTelemetrySettled, remoteTelemetryWatch } from "../actors/remote-telemetry.js";
import type { ExecResult } from "../actors/ssh-host.js";
import type { TelemetryApiError } from "../actors/telemetry-records.js";
import type { AnyActorRef } from "xstate";
import { sessionSystemId } from "../machines/conductor.machine.js";
import { createConductor } from "../src/conductor.js";
import { readEventLog } from "../src/event-log.js";
import { remoteTelemetryRunFile } from "../src/presets/gemini-telemetry.js";
import type { ExpectFile } from "./agents/record-case.js";
import { replayCommand, watchSession } from "./agents/replay-run.js";
import { haveRemoteTools, killTmuxServer, startSshd } from "./helpers/sshd.js";
import { waitUntil } from "./helpers/wait-until.js";

/** A host whose exec is this machine's /bin/sh (stdin too): the scripts meet a real shell, tail, head and wc. */
function shellHost() {
  const scripts: string[] = [];
  /** The command lines, as the host's `ps` would show them. */
  const commands: string[] = [];
  let failNext = 0;
  return {
    scripts,
    commands,
    failNext: (n: number) => {
      failNext = n;
    },
    exec(command: string, opts: { stdin?: string } = {}): Promise<ExecResult> {
      scripts.push(opts.stdin ?? command);
      commands.push(command);
      if (failNext > 0) {
        failNext -= 1;
        return Promise.reject(new Error("host unreachable"));
      }
      return new Promise((resolve) => {
        const child = execFile("/bin/sh", ["-c", command], (err, stdout, stderr) =>
          resolve({ code: err ? 1 : 0, signal: null, stdout, stderr }),
        );
        child.stdin?.end(opts.stdin ?? "");
      });
    },
  };
}

/** A record as gemini's file exporter writes it (JSON.stringify with an indent of 2, a newline after). */
const record = (o: unknown) => `${JSON.stringify(o, null, 2)}\n`;
const apiError = (status: number, message: string) =>
  record({ attributes: { "event.name": "gemini_cli.api_error", status_code: status, "error.message": message } });

describe("a remote session's telemetry, read by one exec per host and poll", () => {
  const dir = () => mkdtempSync(join(tmpdir(), "remote-telemetry-"));
  const input = (path: string) => ({ sessionId: "s1", generation: 1, path, owned: true });

  it("makes the run's file private, then sends the API errors appended to it", async () => {
    const host = shellHost();
    const d = dir();
    const path = join(d, "t.json");
    const got: TelemetryApiError[] = [];
    const watch = remoteTelemetryWatch(host, { pollMs: 30 });
    const stop = watch(input(path), (e) => got.push(...e));
    await waitUntil(() => existsSync(path), "the file made");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    // The script goes over stdin to /bin/sh: no file's name is on a command line of the host.
    expect(host.commands.length).toBeGreaterThan(0);
    expect(host.commands.filter((c) => c.includes("t.json") || c !== "exec /bin/sh -s")).toEqual([]);
    // A CLI that made its file first (0644, as gemini's stream makes it): read from the top, made 0600.
    const early = join(d, "early.json");
    writeFileSync(early, apiError(503, "before the first poll"));
    chmodSync(early, 0o644);
    const stopEarly = watch(input(early), (e) => got.push(...e));
    await waitUntil(() => got.length === 1, "the early file's error");
    expect(statSync(early).mode & 0o777).toBe(0o600);
    stopEarly();
    // A record written in two pieces, across polls, is read whole.
    const text = apiError(429, "quota");
    appendFileSync(path, record({ name: "span", status: { code: 2 } }) + text.slice(0, 40));
    await waitUntil(() => host.scripts.length > 4, "a few polls");
    appendFileSync(path, text.slice(40));
    await waitUntil(() => got.length === 2, "the API error");
    expect(got[1]).toEqual({ event: "gemini_cli.api_error", status: 429, message: "quota" });
    stop();
  });

  it("reads every file of a host in one exec, cuts a file grown past maxBytes, removes a run's file at its end", async () => {
    const host = shellHost();
    const d = dir();
    const [a, b] = [join(d, "a.json"), join(d, "b.json")];
    const got: Record<string, string[]> = { a: [], b: [] };
    const watch = remoteTelemetryWatch(host, { pollMs: 30, maxBytes: 2_000 });
    const stopA = watch(input(a), (e) => got.a?.push(...e.map((x) => x.message)));
    const stopB = watch(input(b), (e) => got.b?.push(...e.map((x) => x.message)));
    await waitUntil(() => existsSync(a) && existsSync(b), "both files made");
    appendFileSync(a, apiError(503, "a1"));
    appendFileSync(b, apiError(429, "b1"));
    await waitUntil(() => got.a?.length === 1 && got.b?.length === 1, "one error from each");
    // Each poll read both files: no script after the first two (one per watch start) names only one.
    const both = host.scripts.slice(2).filter((s) => s.includes("a.json") && s.includes("b.json"));
    expect(both.length).toBe(host.scripts.length - 2);
    // Past maxBytes the file is cut back, and what gemini appends next is read from the top.
    appendFileSync(a, record({ filler: "x".repeat(3_000) }));
    await waitUntil(() => statSync(a).size === 0, "the big file cut");
    appendFileSync(a, apiError(500, "a2"));
    await waitUntil(() => got.a?.length === 2, "the error after the cut");
    expect(got.a).toEqual(["a1", "a2"]);
    // The run ends: its file goes. The session's next run makes it anew, after the removal.
    stopA();
    await waitUntil(() => !existsSync(a), "a's file removed");
    const again = watch(input(a), (e) => got.a?.push(...e.map((x) => x.message)));
    stopB();
    await waitUntil(() => !existsSync(b), "b's file removed");
    // Made by the poll after the removal (maybe the same script, a moment later): and not removed.
    await waitUntil(() => existsSync(a), "a's file made for its next run");
    // Two polls more (each begins once the one before is over), not remoteTelemetrySettled(): with a
    // 30 ms poll on a loaded machine each poll chains the next, and it did not settle for 20 s.
    const seen = host.scripts.length;
    await waitUntil(() => host.scripts.length >= seen + 2, "two polls more");
    expect(existsSync(a)).toBe(true);
    appendFileSync(a, apiError(429, "a3"));
    await waitUntil(() => got.a?.length === 3, "the next run's error");
    again();
    await waitUntil(() => !existsSync(a), "a's file removed again");
    const polls = host.scripts.length;
    await new Promise((r) => setTimeout(r, 150));
    expect(host.scripts.length).toBe(polls); // nothing watched: no more execs
  });

  it("a run that ends has its file removed before a shutdown closes the host's connection", async () => {
    const host = shellHost();
    const path = join(dir(), "t.json");
    const stop = remoteTelemetryWatch(host, { pollMs: 60_000 })(input(path), () => {});
    await remoteTelemetrySettled();
    expect(existsSync(path)).toBe(true);
    stop();
    await remoteTelemetrySettled();
    expect(existsSync(path)).toBe(false);
  });

  it("waits for a host still connecting, so the first poll makes the file before the CLI can", async () => {
    let connect = () => {};
    const connected = new Promise<void>((r) => {
      connect = r;
    });
    const host = { ...shellHost(), whenConnected: () => connected };
    const path = join(dir(), "t.json");
    const stop = remoteTelemetryWatch(host, { pollMs: 60_000 })(input(path), () => {});
    await new Promise((r) => setTimeout(r, 50));
    expect(host.scripts).toEqual([]); // not an exec that fails at once, leaving the file to the CLI
    connect();
    await waitUntil(() => existsSync(path), "the file made once connected");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    stop();
    await remoteTelemetrySettled();
  });

  it("a file it cannot make or must not trust stops no other file: no link followed, no one else's file read", async () => {
    const host = shellHost();
    const d = dir();
    const good = join(d, "good.json");
    const noDir = join(d, "missing", "t.json");
    // A link planted at a run's path, to a file of ours: it must be neither read, nor made 0600, nor cut.
    const target = join(d, "ours.log");
    writeFileSync(target, apiError(429, "not telemetry").repeat(200));
    chmodSync(target, 0o644);
    const linked = join(d, "linked.json");
    symlinkSync(target, linked);
    const dangling = join(d, "dangling.json");
    symlinkSync(join(d, "nowhere"), dangling);
    const got: string[] = [];
    const watch = remoteTelemetryWatch(host, { pollMs: 30, maxBytes: 1_000 });
    const stops = [noDir, linked, dangling, good].map((path) =>
      watch(input(path), (e) => got.push(...e.map((x) => `${path}: ${x.message}`))),
    );
    await waitUntil(() => existsSync(good), "the good file made after the ones that cannot be");
    appendFileSync(good, apiError(429, "quota"));
    await waitUntil(() => got.length === 1, "the good file's error");
    expect(got).toEqual([`${good}: quota`]);
    expect(statSync(target).mode & 0o777).toBe(0o644);
    expect(statSync(target).size).toBeGreaterThan(1_000);
    expect(existsSync(join(d, "nowhere"))).toBe(false); // not made through the dangling link
    if (process.getuid?.() === 0) {
      // Another user's file at the path (root can make one): its contents are no verdict of ours.
      const foreign = join(d, "foreign.json");
      writeFileSync(foreign, apiError(429, "planted: retry in 86400s"));
      chownSync(foreign, 1001, 1001);
      const stop = watch(input(foreign), (e) => got.push(...e.map((x) => `${foreign}: ${x.message}`)));
      const polls = host.scripts.length;
      await waitUntil(() => host.scripts.length > polls + 3, "a few polls");
      expect(got).toEqual([`${good}: quota`]);
      stop();
    }
    for (const stop of stops) stop();
    await remoteTelemetrySettled();
  });

  it("a removal whose exec failed is tried again, though nothing is watched any more", async () => {
    const host = shellHost();
    const path = join(dir(), "t.json");
    const stop = remoteTelemetryWatch(host, { pollMs: 30 })(input(path), () => {});
    await waitUntil(() => existsSync(path), "the file made");
    // Not after remoteTelemetrySettled(): on a loaded machine an exec outlasts the 30 ms poll, each poll
    // chains the next and it never settled (the test ran into its 60 s bound). A poll under way has
    // called exec already: the next two execs, the removal's, are the ones that fail.
    host.failNext(2);
    stop();
    await waitUntil(() => !existsSync(path), "the file removed by a retry");
    expect(host.scripts.length).toBeGreaterThanOrEqual(3);
  });

  it("an exec that fails is no verdict: the next poll reads on from the same offset", async () => {
    const host = shellHost();
    const path = join(dir(), "t.json");
    const got: string[] = [];
    const stop = remoteTelemetryWatch(host, { pollMs: 30 })(input(path), (e) => got.push(...e.map((x) => x.message)));
    await waitUntil(() => existsSync(path), "the file made");
    await waitUntil(() => host.scripts.length >= 2, "a poll after the start");
    host.failNext(3);
    appendFileSync(path, apiError(429, "during the outage"));
    await waitUntil(() => got.length === 1, "the error after the outage");
    expect(got).toEqual(["during the outage"]);
    stop();
  });
});

const FIXTURES = fileURLToPath(new URL("./fixtures/agents/", import.meta.url));

describe.runIf(haveRemoteTools)("a remote gemini TUI retrying a 429 behind its spinner", () => {
  // gemini waits out a 429 whose RetryInfo it can (39 s here) and tries again: its own retry, read from
  // its telemetry on the host (its screen shows only the spinner). Before, it failed the run at once.
  it("reads its retries from its telemetry on the host: an agentRetry with the API's words and wait, the run left alone", {
    timeout: 120_000,
  }, async () => {
    const id = "gemini/tui-rate-429";
    const expected = JSON.parse(readFileSync(join(FIXTURES, `${id}.expect.json`), "utf8")) as ExpectFile;
    const socket = `cond-telemetry-${process.pid}`;
    const sshd = await startSshd();
    const logsDir = mkdtempSync(join(tmpdir(), "remote-telemetry-replay-"));
    const before = new Set(telemetryFiles());
    const conductor = createConductor({
      logsDir,
      handleSignals: false,
      enableMesh: false,
      graceMs: 1_000,
      timeZone: "UTC",
      hosts: sshd.hostsFile("box"),
      tmuxSocketName: socket,
      restart: { rateLimitMaxWaitMs: 3_600_000 },
      // Without the telemetry the spinner keeps the run busy for busyStallMs (120 s here).
      probeOpts: { inputQuietMs: 500, stallMs: 120_000, busyStallMs: 120_000 },
    });
    try {
      const doneFile = join(logsDir, "replay.done");
      const watch = watchSession(conductor, id, expected.conductor, doneFile);
      conductor.spawnSession({
        id: "gemini-tui-rate-429",
        agent: "command",
        judgeAs: "gemini",
        command: replayCommand(join(FIXTURES, `${id}.cast`), expected, doneFile),
        remote: true,
        host: "box",
      });
      // The file is on the host while the run lasts (made 0600 by the probe's first poll: the tests above).
      await waitUntil(() => made().length === 1, "the telemetry file on the host");
      const file = join("/tmp", made()[0] ?? "");
      // The run's own file, not the session's secret name (which never reaches the host).
      const session = conductor.actor.system.get(sessionSystemId("gemini-tui-rate-429")) as AnyActorRef;
      const secret = (session.getSnapshot().context as { spec: { agentTelemetry: string } }).spec.agentTelemetry;
      expect(file).toBe(remoteTelemetryRunFile(secret, 1));
      expect(file).not.toBe(secret);
      // Without the telemetry nothing says so before the busy stall (120 s): what the session said by then.
      await waitUntil(
        () => conductor.getSnapshot()[0]?.lastError?.includes("the CLI retries") === true,
        "the retry read from the host's telemetry",
        90_000,
      );
      const snap = conductor.getSnapshot()[0];
      expect(snap).toMatchObject({ state: "healthy", failureMode: null, restarts: 0 });
      expect(snap?.lastError).toMatch(/^You exceeded your current quota.*\(HTTP 429\); the CLI retries in 39 s$/);
      const log = await readEventLog(conductor.eventLogPath);
      expect(log.filter((l) => l.event === "session.spawn").length).toBe(1);
      expect(log.find((l) => l.event === "session.agent_retry")).toMatchObject({ status: 429, delayMs: 39_000 });
      void watch;
      await conductor.shutdown("test_end");
      // The run is over: its file is gone from the host.
      await waitUntil(() => !existsSync(file), "the telemetry file removed");
    } finally {
      await conductor.shutdown("test_end");
      await killTmuxServer(socket);
      await sshd.stop();
    }

    function made(): string[] {
      return telemetryFiles().filter((f) => !before.has(f));
    }
  });

  it("a session still running at shutdown leaves no file on the host", { timeout: 60_000 }, async () => {
    const socket = `cond-telemetry-end-${process.pid}`;
    const sshd = await startSshd();
    const before = new Set(telemetryFiles());
    const conductor = createConductor({
      logsDir: mkdtempSync(join(tmpdir(), "remote-telemetry-end-")),
      handleSignals: false,
      enableMesh: false,
      graceMs: 1_000,
      hosts: sshd.hostsFile("box"),
      tmuxSocketName: socket,
    });
    try {
      conductor.spawnSession({
        id: "g-running",
        agent: "command",
        judgeAs: "gemini",
        command: ["/bin/sh", "-c", "echo up; exec sleep 100"],
        remote: true,
        host: "box",
      });
      await waitUntil(() => telemetryFiles().some((f) => !before.has(f)), "the telemetry file on the host");
    } finally {
      await conductor.shutdown("test_end");
      await killTmuxServer(socket);
      await sshd.stop();
    }
    expect(telemetryFiles().filter((f) => !before.has(f))).toEqual([]);
  });
});

function telemetryFiles(): string[] {
  return readdirSync("/tmp").filter((f) => f.startsWith("statechart-conductor-telemetry-"));
}
