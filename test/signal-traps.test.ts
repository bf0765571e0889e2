import { afterEach, describe, expect, it } from "vitest";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { distModule as distModuleOf } from "./helpers/dist.js";
import {
  configureSignalTraps,
  installedSignalListenerCount,
  registerForSignals,
  resetSignalTraps,
  signalRegistrationCount,
} from "../src/signal-traps.js";

const { path: distModule, built: hasDist } = distModuleOf("src/signal-traps.js");
const haveTmux = (() => {
  try {
    execFileSync("tmux", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

afterEach(() => resetSignalTraps());

/** A fake conductor whose shutdown takes `ms` and records when it finished. */
function fakeTarget(ms = 20, log: string[] = []) {
  const reasons: string[] = [];
  let finished = false;
  return {
    reasons,
    get finished() {
      return finished;
    },
    async shutdown(reason: string) {
      reasons.push(reason);
      log.push(`start:${reason}`);
      await new Promise((r) => setTimeout(r, ms));
      finished = true;
      log.push(`done:${reason}`);
    },
  };
}

/** An exit that does not end the test process, resolving with the code it was given. */
function captureExit() {
  const codes: number[] = [];
  let resolveFirst!: (code: number) => void;
  const first = new Promise<number>((r) => (resolveFirst = r));
  const exit = (code: number) => {
    codes.push(code);
    resolveFirst(code);
  };
  return { codes, first, exit };
}

describe("signal traps", () => {
  it("50 registrations install exactly one listener per signal; all unregistered leaves none", () => {
    const before = { int: process.listenerCount("SIGINT"), term: process.listenerCount("SIGTERM") };
    const disposers = Array.from({ length: 50 }, () => registerForSignals(fakeTarget()));
    expect(installedSignalListenerCount("SIGINT")).toBe(1);
    expect(installedSignalListenerCount("SIGTERM")).toBe(1);
    expect(process.listenerCount("SIGINT")).toBe(before.int + 1);
    expect(process.listenerCount("SIGTERM")).toBe(before.term + 1);
    expect(signalRegistrationCount()).toBe(50);

    for (const d of disposers.slice(0, 49)) d();
    expect(installedSignalListenerCount("SIGHUP")).toBe(1);
    expect(installedSignalListenerCount()).toBe(3); // still one target: still trapped
    disposers[49]!();
    disposers[49]!(); // idempotent
    expect(installedSignalListenerCount()).toBe(0);
    expect(process.listenerCount("SIGINT")).toBe(before.int);
    expect(process.listenerCount("SIGTERM")).toBe(before.term);

    // A later registration installs them again.
    const again = registerForSignals(fakeTarget());
    expect(installedSignalListenerCount()).toBe(3);
    again();
    expect(installedSignalListenerCount()).toBe(0);
  });

  it("rejects a target without shutdown()", () => {
    expect(() => registerForSignals(null as never)).toThrow(TypeError);
    expect(installedSignalListenerCount()).toBe(0);
  });

  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
    ["SIGHUP", 129], // a closed terminal or a dropped ssh connection
  ] as const)("%s shuts every target down in parallel, then exits %i", async (sig, code) => {
    const { codes, first, exit } = captureExit();
    configureSignalTraps({ exit });
    const order: string[] = [];
    const targets = [fakeTarget(60, order), fakeTarget(60, order), fakeTarget(60, order)];
    for (const t of targets) registerForSignals(t);
    process.emit(sig);
    expect(await first).toBe(code);
    for (const t of targets) {
      expect(t.reasons).toEqual([`signal:${sig}`]);
      expect(t.finished).toBe(true); // exit came only after every shutdown finished
    }
    // Parallel, not one after another: every shutdown started before the first one finished.
    expect(order.map((e) => e.split(":")[0])).toEqual(["start", "start", "start", "done", "done", "done"]);
    expect(codes).toEqual([code]);
  });

  it("shuts a target registered twice down once", async () => {
    const { first, exit } = captureExit();
    configureSignalTraps({ exit });
    const t = fakeTarget(1);
    registerForSignals(t);
    registerForSignals(t);
    process.emit("SIGTERM");
    await first;
    expect(t.reasons).toHaveLength(1);
  });

  it("a second signal during shutdown exits at once with the first signal's code", async () => {
    const { codes, first, exit } = captureExit();
    configureSignalTraps({ exit });
    const slow = fakeTarget(400);
    const unregister = registerForSignals({
      async shutdown(reason) {
        unregister(); // conductors unregister themselves while shutting down
        await slow.shutdown(reason);
      },
    });
    process.emit("SIGINT");
    await new Promise((r) => setTimeout(r, 20));
    // The listeners stay while shutting down, so the second Ctrl-C still meets our handler.
    expect(installedSignalListenerCount("SIGINT")).toBe(1);
    process.emit("SIGINT");
    expect(await first).toBe(130);
    expect(codes).toEqual([130]);
    expect(slow.finished).toBe(false);
  });

  it("a second hangup during shutdown is the same hangup: the shutdown goes on, then exits 129", async () => {
    // A closed terminal sends SIGHUP more than once (the kernel's, the shell's to its jobs); taken
    // as "out now", it cut `conductor run`'s shutdown short (its event log without its end).
    const { codes, first, exit } = captureExit();
    configureSignalTraps({ exit });
    const slow = fakeTarget(300);
    registerForSignals(slow);
    process.emit("SIGHUP");
    await new Promise((r) => setTimeout(r, 20));
    process.emit("SIGHUP");
    process.emit("SIGHUP");
    expect(await first).toBe(129);
    expect(codes).toEqual([129]);
    expect(slow.finished).toBe(true);
  });

  it("exits after the timeout when a shutdown hangs, and survives a failing shutdown", async () => {
    const { first, exit } = captureExit();
    const warnings: string[] = [];
    configureSignalTraps({ exit, timeoutMs: 100, warn: (m) => warnings.push(m) });
    registerForSignals({ shutdown: () => new Promise<void>(() => {}) });
    registerForSignals({ shutdown: async () => Promise.reject(new Error("boom")) });
    const ok = fakeTarget(1);
    registerForSignals(ok);
    const t0 = Date.now();
    process.emit("SIGTERM");
    expect(await first).toBe(143);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    expect(ok.finished).toBe(true);
    expect(warnings.some((w) => w.includes("boom"))).toBe(true);
    expect(warnings.some((w) => w.includes("100 ms"))).toBe(true);
  });

  it.skipIf(!hasDist).each([
    ["SIGTERM", 143],
    ["SIGHUP", 129],
  ] as const)("a real child gets %s, finishes its shutdown, and exits %i", async (sig, code) => {
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL("fixtures/signal-trap-child.mjs", import.meta.url)), "300"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal })),
    );
    await new Promise<void>((resolve, reject) => {
      child.on("error", reject);
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString();
        if (out.includes("ready")) resolve();
      });
    });
    expect(out).toContain("ready 3"); // two targets registered, one listener per signal (INT, TERM, HUP)
    const sentAt = Date.now();
    child.kill(sig);
    const result = await exited;
    expect(err).toBe("");
    expect(result).toEqual({ code, signal: null });
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(290);
    expect(out).toContain(`shutdown-start signal:${sig}`);
    expect(out).toMatch(/shutdown-done \d+/);
  });
  it.skipIf(!hasDist || !haveTmux)(
    "a terminal closed under it (its tmux server killed): the shutdown ends, and the exit is 129, not Node's abort",
    async () => {
      // Node's exit restores a terminal's modes and aborted on a hung-up one (tcsetattr EIO,
      // nodejs/node#51519): `Assertion failed` in node::ResetStdio, after the shutdown's last line.
      const dir = mkdtempSync(join(tmpdir(), "sigtrap-tty-"));
      const [out, err] = [join(dir, "out"), join(dir, "err")];
      const socket = `sigtrap-${process.pid}`;
      const child = fileURLToPath(new URL("fixtures/signal-trap-child.mjs", import.meta.url));
      const read = (f: string) => (existsSync(f) ? readFileSync(f, "utf8") : "");
      const until = async (ok: () => boolean, what: string) => {
        for (const end = Date.now() + 30_000; !ok(); await new Promise((r) => setTimeout(r, 50)))
          if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${read(out)}`);
      };
      // Its stdin and stdout are the pane's terminal; stderr goes to a file, where an abort says so.
      const cmd = `exec env OUT='${out}' '${process.execPath}' '${child}' 300 2>'${err}'`;
      execFileSync("tmux", ["-L", socket, "-f", "/dev/null", "new-session", "-d", "-x", "80", "-y", "24", cmd]);
      try {
        await until(() => read(out).includes("ready"), "the child");
        const pid = Number(/^pid (\d+)$/m.exec(read(out))?.[1]);
        execFileSync("tmux", ["-L", socket, "kill-server"]);
        const alive = () => {
          try {
            process.kill(pid, 0);
            return true;
          } catch {
            return false;
          }
        };
        await until(() => !alive(), "its end");
        expect(read(out)).toMatch(/shutdown-start signal:SIGHUP\n[\s\S]*shutdown-done \d+\nexit 129\n$/);
        expect(read(err)).toBe("");
      } finally {
        try {
          execFileSync("tmux", ["-L", socket, "kill-server"], { stdio: "ignore" });
        } catch {
          // gone already
        }
      }
    },
    60_000,
  );
  if (!hasDist) {
    it.skip(`real-signal child test needs ${distModule}: run \`npx tsc -p tsconfig.build.json\` first`, () => {});
  }
});
