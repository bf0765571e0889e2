/**
 * The spawn helper's two programs (actors/spawn-helper-perl.ts, actors/spawn-helper-program.ts) speak
 * one protocol (actors/spawn-helper-protocol.ts) and must start a child alike: the same argv and
 * environment byte for byte, the same answers for an exit, a signal, a program or a cwd that is not
 * there, a tty that cannot be opened; and for a user who is not root, the first child must get its
 * terminal. And a perl that cannot run the Perl program gives way to Node's.
 * Real processes on real ptys; every wait is a generous bound, never a verdict.
 */
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type HelperExit, SpawnHelper, type SpawnHelperOptions } from "../actors/spawn-helper.js";
import { decodeAnswer, encodeRequest } from "../actors/spawn-helper-protocol.js";
import { ptyNative } from "../actors/spawn-pty-term.js";
import { distModule } from "./helpers/dist.js";

const linux = process.platform === "linux";
const perl = ["/usr/bin/perl", "/bin/perl"].find((p) => {
  try {
    return readFileSync(p).length > 0;
  } catch {
    return false;
  }
});
const helpers: SpawnHelper[] = [];
const masters: number[] = [];
afterAll(() => {
  for (const h of helpers) h.stop();
  for (const m of masters) closeSync(m);
});

function helperWith(opts: Partial<SpawnHelperOptions>): SpawnHelper {
  const h = new SpawnHelper({ setsid: "/usr/bin/setsid", ...opts });
  helpers.push(h);
  return h;
}

function tty(): string {
  const { master, slave, pty } = ptyNative().open(80, 24);
  closeSync(slave);
  masters.push(master); // kept open: a child writing to a pty whose master is closed gets EIO
  return pty;
}

function run(h: SpawnHelper, file: string, args: string[], more: { cwd?: string; env?: Record<string, string> } = {}) {
  let onExit: (e: HelperExit) => void = () => {};
  const exit = new Promise<HelperExit>((r) => {
    onExit = r;
  });
  const env = more.env ?? { PATH: "/usr/bin:/bin" };
  const pid = h.spawn({ tty: tty(), file, args, cwd: more.cwd ?? "/", env }, onExit);
  return { pid, exit };
}

const programs = [
  { name: "perl", opts: { perl } },
  { name: "node", opts: {} },
] as const;

describe.skipIf(!linux)("spawn helper programs", () => {
  describe.each(programs)("$name", ({ name, opts }) => {
    const h = name === "perl" && !perl ? undefined : helperWith(opts);

    it.skipIf(!h)("runs the program it was asked to", async () => {
      const helper = h as SpawnHelper;
      expect((await run(helper, "/bin/sh", ["-c", "exit 0"]).exit).code).toBe(0);
      expect(helper.program).toBe(name);
    });

    it.skipIf(!h)("passes argv and the environment byte for byte, and nothing else", async () => {
      const dir = mkdtempSync(join(tmpdir(), "helper-argv-"));
      const args = ["plain", "two words", "line\nbreak", "a=b", "ünïcødé ✓", ""];
      const env = { PATH: "/usr/bin:/bin", EMPTY: "", WITH_EQ: "x=y=z", MULTI: "one\ntwo", UTF: "é✓" };
      const script = `printf '%s\\0' "$@" > ${dir}/argv; env -0 > ${dir}/env`;
      const r = run(h as SpawnHelper, "/bin/sh", ["-c", script, "sh", ...args], { cwd: dir, env });
      expect(await r.exit).toEqual({ code: 0, signal: null });
      expect(readFileSync(join(dir, "argv"), "utf8").split("\0").slice(0, -1)).toEqual(args);
      const seen = Object.fromEntries(
        readFileSync(join(dir, "env"), "utf8")
          .split("\0")
          .filter(Boolean)
          .map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
      );
      // sh adds PWD (and may add SHLVL, _) itself: everything the helper passed arrived, unchanged.
      for (const [k, v] of Object.entries(env)) expect(seen[k]).toBe(v);
      expect(Object.keys(seen).filter((k) => !(k in env) && !["PWD", "SHLVL", "_", "OLDPWD"].includes(k))).toEqual([]);
    });

    it.skipIf(!h)("runs in the cwd it was given, by a name looked up in the child's PATH", async () => {
      const dir = mkdtempSync(join(tmpdir(), "helper-cwd-"));
      writeFileSync(join(dir, "here"), "#!/bin/sh\npwd > where\n", { mode: 0o755 });
      const r = run(h as SpawnHelper, "here", [], { cwd: dir, env: { PATH: `${dir}:/usr/bin:/bin` } });
      expect(await r.exit).toEqual({ code: 0, signal: null });
      expect(readFileSync(join(dir, "where"), "utf8").trim()).toBe(dir);
    });

    it.skipIf(!h)("children exiting all the while: every spawn still gets its own answer", async () => {
      // Perl restarts no system call a signal interrupts: a SIGCHLD during the wait for an exec's
      // verdict read as success, so a program that was not there got a pid and an exit 127.
      const runs = Array.from({ length: 60 }, (_, i) =>
        i % 2 ? run(h as SpawnHelper, "/nonexistent/prog", []) : run(h as SpawnHelper, "/bin/true", []),
      );
      const verdicts = await Promise.all(
        runs.map((r) =>
          r.pid.then(
            () => r.exit,
            (e: Error) => e.message,
          ),
        ),
      );
      expect(verdicts).toEqual(
        runs.map((_, i) => (i % 2 ? "spawn /nonexistent/prog ENOENT" : { code: 0, signal: null })),
      );
    });

    it.skipIf(!h)("sleeps while its children run: woken by an exit, not by a clock", async () => {
      // The Perl program ticked every 20 ms while any child ran (2–3 ms of CPU a second, a soak): a
      // SIGCHLD in the instant before select() woke nothing. It waits on each child's pidfd now.
      const helper = h as SpawnHelper;
      const r = run(helper, "/bin/sh", ["-c", "read line"]); // runs until its tty gets a line: never here
      const pid = await r.pid;
      const switches = () => {
        const status = readFileSync(`/proc/${helper.pid}/status`, "utf8");
        return Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1]);
      };
      const before = switches();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const woken = switches() - before;
      process.kill(pid, "SIGTERM");
      expect(await r.exit).toEqual({ code: null, signal: "SIGTERM" });
      // A tick of 20 ms is ~50 wakes in that second, however loaded the machine; sleeping, none.
      expect(woken).toBeLessThan(5);
    });

    it.skipIf(!h)("says which signal ended a child, by name", async () => {
      const r = run(h as SpawnHelper, "/bin/sh", ["-c", "kill -TERM $$; sleep 5"]);
      expect(await r.exit).toEqual({ code: null, signal: "SIGTERM" });
    });

    it.skipIf(!h)(
      "a program or a cwd that is not there: the spawn fails with its errno, as Node's spawn says it",
      async () => {
        await expect(run(h as SpawnHelper, "/nonexistent/prog", []).pid).rejects.toThrow(
          "spawn /nonexistent/prog ENOENT",
        );
        await expect(
          run(h as SpawnHelper, "/bin/sh", ["-c", "exit 0"], { cwd: "/nonexistent/dir" }).pid,
        ).rejects.toThrow(/^spawn \/bin\/sh ENOENT/);
        const notExecutable = join(mkdtempSync(join(tmpdir(), "helper-noexec-")), "data");
        writeFileSync(notExecutable, "#!/bin/sh\n", { mode: 0o644 });
        await expect(run(h as SpawnHelper, notExecutable, []).pid).rejects.toThrow(`spawn ${notExecutable} EACCES`);
        // ... and it keeps serving.
        expect((await run(h as SpawnHelper, "/bin/sh", ["-c", "exit 4"]).exit).code).toBe(4);
      },
    );
  });

  // The helper leads its own session: opening a tty without O_NOCTTY made the first one its controlling
  // terminal, and the first child's `setsid --ctty` failed (EPERM) for any user but root, who may steal
  // it. Run as nobody when the suite runs as root, since root never sees it.
  const { built } = distModule("actors/spawn-helper.js");
  const asRoot = process.getuid?.() === 0;
  const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => spawnSync(p, ["--version"]).status === 0);
  const nobody = ["--reuid=65534", "--regid=65534", "--clear-groups"];
  // A checkout nobody may not read (under /root, mode 700) cannot be run as nobody: skipped there.
  const nobodyReads =
    !asRoot ||
    (setpriv !== undefined &&
      spawnSync(setpriv, [...nobody, "test", "-r", distModule("actors/spawn-helper.js").path]).status === 0);
  it.skipIf(!built || (asRoot && !setpriv) || !nobodyReads).each(programs.filter((p) => p.name === "node" || perl))(
    "$name: the first child takes its terminal (setsid --ctty) for a user who is not root",
    ({ opts }) => {
      const script = `
        const { closeSync } = await import("node:fs");
        const { SpawnHelper } = await import(${JSON.stringify(distModule("actors/spawn-helper.js").path)});
        const { ptyNative } = await import(${JSON.stringify(distModule("actors/spawn-pty-term.js").path)});
        const h = new SpawnHelper({ setsid: "/usr/bin/setsid", ...${JSON.stringify(opts)} });
        const env = { PATH: "/usr/bin:/bin" };
        for (let i = 0; i < 2; i++) {
          const { master, slave, pty } = ptyNative().open(80, 24);
          closeSync(slave);
          const exit = await new Promise((r) =>
            h.spawn({ tty: pty, file: "/usr/bin/setsid", args: ["--ctty", "/bin/sh", "-c", "exit 3"], cwd: "/", env }, r)
              .catch((e) => r(String(e))));
          closeSync(master);
          console.log(JSON.stringify(exit));
        }
        h.stop();`;
      const user = asRoot ? [setpriv as string, ...nobody] : [];
      const [file, ...args] = [...user, process.execPath, "--input-type=module", "-e", script];
      const r = spawnSync(file as string, args, { encoding: "utf8", cwd: "/", timeout: 60_000 });
      expect(r.stderr).toBe("");
      expect(r.stdout.trim().split("\n")).toEqual(Array(2).fill(JSON.stringify({ code: 3, signal: null })));
    },
  );

  it("a perl that cannot run the Perl program: Node's program serves, with the requests already sent", async () => {
    const dir = mkdtempSync(join(tmpdir(), "helper-noperl-"));
    // A "perl" that is not Perl: it exits at once, as a perl without its POSIX module would.
    const fake = join(dir, "perl");
    writeFileSync(fake, "#!/bin/sh\necho 'Can't locate POSIX.pm' >&2\nexit 2\n", { mode: 0o755 });
    const h = helperWith({ perl: fake });
    expect(h.program).toBe("perl");
    const first = run(h, "/bin/sh", ["-c", "exit 6"]); // sent before the fake perl died
    expect(await first.exit).toEqual({ code: 6, signal: null });
    expect(h.program).toBe("node");
    expect(h.failed).toBeUndefined();
    expect(h.started).toBe(2);
  });
});

describe("spawn helper protocol", () => {
  it("refuses what execve(2) could not take, before anything is sent", () => {
    const req = { tty: "/dev/pts/1", file: "/bin/sh", args: ["a\0b"], cwd: "/", env: {} };
    expect(() => encodeRequest(1, req)).toThrow(/null bytes/);
    expect(() => encodeRequest(1, { ...req, args: [], env: { "A=B": "c" } })).toThrow(/"A=B" is not valid/);
  });

  it("reads every answer the programs give, and no other line", () => {
    expect(decodeAnswer("ready")).toEqual({ id: 0, ready: true });
    expect(decodeAnswer("pid 3 4242")).toEqual({ id: 3, pid: 4242 });
    expect(decodeAnswer("error 3 spawn /x ENOENT")).toEqual({ id: 3, error: "spawn /x ENOENT" });
    expect(decodeAnswer("exit 3 7 -")).toEqual({ id: 3, exit: { code: 7, signal: null } });
    expect(decodeAnswer("exit 3 - SIGKILL")).toEqual({ id: 3, exit: { code: null, signal: "SIGKILL" } });
    expect(decodeAnswer('{"id":3}')).toBeUndefined();
  });
});
