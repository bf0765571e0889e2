import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pty from "node-pty";
import { afterAll, describe, expect, it } from "vitest";
import {
  CLOSE_FDS_SCRIPT,
  LOCAL_SHIM_SCRIPT,
  MarkerScanner,
  makeNonce,
  READY_OSC,
  shimArgs,
  shimChildless,
  shimLaunch,
  statusToExit,
} from "../actors/pty-shim.js";
import { processesRunning } from "./helpers/marked.js";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "shim-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function scanAll(scanner: MarkerScanner, chunks: string[]) {
  let before = "";
  let after = "";
  let status: number | undefined;
  for (const c of chunks) {
    const r = scanner.push(c);
    if (status === undefined) before += r.before;
    else after += r.before;
    if (r.status !== undefined) {
      expect(status).toBeUndefined();
      status = r.status;
      after += r.after;
    }
  }
  return { before, after, status };
}

describe("MarkerScanner", () => {
  const nonce = "0123456789abcdef";
  const marker = `\x1b]7770;${nonce};143\x07`;
  // Contains a near-miss (other nonce) and the marker prefix's first bytes in plain output.
  const head = `hello \x1b]0;title\x07 \x1b]7770;ffffffffffffffff;1\x07 \x1b]77 world`;
  const stream = `${head}${marker}tail`;

  it("finds the marker across every single split point", () => {
    for (let i = 0; i <= stream.length; i++) {
      const r = scanAll(new MarkerScanner(nonce), [stream.slice(0, i), stream.slice(i)]);
      expect(r, `split at ${i}`).toEqual({ before: head, after: "tail", status: 143 });
    }
  });

  it("finds it when fed one character at a time, and across every pair of splits", () => {
    expect(scanAll(new MarkerScanner(nonce), [...stream])).toEqual({ before: head, after: "tail", status: 143 });
    const m0 = head.length - 3;
    for (let i = m0; i < stream.length; i++) {
      for (let j = i; j <= stream.length; j++) {
        const r = scanAll(new MarkerScanner(nonce), [stream.slice(0, i), stream.slice(i, j), stream.slice(j)]);
        expect(r.status).toBe(143);
        expect(`${r.before}|${r.after}`).toBe(`${head}|tail`);
      }
    }
  });

  it("holds back only a possible partial marker, and flush returns it", () => {
    const s = new MarkerScanner(nonce);
    expect(s.push("abc\x1b]77").before).toBe("abc");
    expect(s.push("x").before).toBe("\x1b]77x");
    expect(s.push("\x1b]7770;0123").before).toBe("");
    expect(s.flush()).toBe("\x1b]7770;0123");
    expect(s.markerSeen).toBe(false);
  });
});

describe("shimLaunch", () => {
  const tools = { setpriv: "/usr/bin/setpriv", bash: "/bin/bash", cgroup: "/sys/fs/cgroup/x" };
  it("closes inherited fds with bash where node-pty forks this process", () => {
    const { file, args } = shimLaunch("/bin/sh", "n", ["agent"], tools);
    expect(file).toBe("/usr/bin/setpriv");
    expect(args).toContain(CLOSE_FDS_SCRIPT);
    expect(args.slice(-2)).toEqual(["n", "agent"]);
  });
  it("starts no bash under the spawn helper, whose children inherit only their tty", () => {
    const { args } = shimLaunch("/bin/sh", "n", ["agent"], { ...tools, setsid: "/usr/bin/setsid" });
    expect(args).not.toContain(CLOSE_FDS_SCRIPT);
    expect(args).not.toContain("/bin/bash");
    expect(args.slice(0, 4)).toEqual(["--pdeathsig", "KILL", "--", "/usr/bin/setsid"]);
    expect(args.slice(-2)).toEqual(["n", "agent"]);
  });
});

describe("statusToExit", () => {
  it("maps 128+n to signals like bash does (exit 130 and SIGINT look alike)", () => {
    expect(statusToExit(0)).toEqual({ exitCode: 0, signal: null });
    expect(statusToExit(3)).toEqual({ exitCode: 3, signal: null });
    expect(statusToExit(130)).toEqual({ exitCode: null, signal: "SIGINT" });
    expect(statusToExit(143)).toEqual({ exitCode: null, signal: "SIGTERM" });
    expect(statusToExit(137)).toEqual({ exitCode: null, signal: "SIGKILL" });
    expect(statusToExit(255)).toEqual({ exitCode: 255, signal: null });
  });
});

describe("shimChildless", () => {
  /**
   * A parent shell with one child that lives until the parent is killed; resolves once the child is
   * there and runs `exe` (until its exec, a fork is the shell's own: the shim's pre-exec fork, which is
   * taken; a loaded machine stretches that window, and a test that looked then saw `true`).
   */
  async function parentWith(script: string, exe?: string) {
    const p = spawn("/bin/sh", ["-c", script], { stdio: "ignore", detached: true });
    const children = () => readFileSync(`/proc/${p.pid}/task/${p.pid}/children`, "latin1").trim();
    const runs = () => {
      const [c] = children().split(" ");
      if (!c) return false;
      try {
        return exe === undefined || readlinkSync(`/proc/${c}/exe`).endsWith(`/${exe}`);
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 2000 && !runs(); i++) await new Promise((r) => setTimeout(r, 5));
    expect(runs()).toBe(true);
    return p;
  }
  const kill = (p: ReturnType<typeof spawn>) =>
    new Promise((r) => {
      p.once("exit", r);
      process.kill(-(p.pid as number), "SIGKILL");
    });

  it("takes a marker from a shim with no child, or whose only child is its stty", async () => {
    expect(shimChildless(undefined)).toBe(true);
    const bin = mkdtempSync(join(tmpdir(), "shim-bin-"));
    const stty = join(bin, "stty");
    copyFileSync("/bin/sleep", stty); // an executable named stty, alive long enough to be looked at
    const p = await parentWith(`exec 2>/dev/null; ${stty} 30; :`, "stty");
    try {
      expect(shimChildless(p.pid)).toBe(true);
    } finally {
      await kill(p);
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it("refuses one while the shim still has another child (the agent printed it)", async () => {
    const p = await parentWith("sleep 30; :", "sleep");
    try {
      expect(shimChildless(p.pid)).toBe(false);
    } finally {
      await kill(p);
    }
  });

  it("takes the shim's own fork before its exec: same executable, same command line", async () => {
    const p = await parentWith("(sleep 30; :); :"); // the subshell is a fork of the shell, not exec'd
    try {
      expect(shimChildless(p.pid)).toBe(true);
    } finally {
      await kill(p);
    }
  });
});

/** Runs the shim on pipes (no pty): stty fails quietly, the protocol still holds. */
function runShim(argv: string[], nonce = makeNonce()) {
  const child = spawn("/bin/sh", shimArgs(nonce, argv), { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  child.stdout.setEncoding("latin1").on("data", (d: string) => (out += d));
  const done = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const marker = new Promise<void>((r) => {
    const check = () => (out.includes(`\x1b]7770;${nonce};`) ? r() : child.stdout.once("data", check));
    check();
  });
  return { child, nonce, done, marker, out: () => out };
}

describe("the shim script", () => {
  it("a hangup (its terminal gone: a closed master, a killed tmux pane) ends the agent, as a shell's would", async () => {
    // The hangup reaches only the session leader, the shim. While it trapped HUP (to report the status
    // after a signal to the group) it waited on the agent, which never got one: the agent lived on.
    const secs = `${1000 + (process.pid % 800)}.25`;
    const naps = () => processesRunning(["sleep", secs]);
    const until = async (done: () => boolean) => {
      const deadline = Date.now() + 60_000;
      while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    };
    const p = pty.spawn("/bin/sh", shimArgs(makeNonce(), ["sleep", secs]), { cols: 80, rows: 24 });
    await until(() => naps().length === 1);
    expect(naps()).toHaveLength(1);
    // Closes the master, no signal sent (kill() would signal the shim): the hangup alone. Not in the typings.
    (p as unknown as { destroy(): void }).destroy();
    await until(() => naps().length === 0);
    expect(naps()).toEqual([]);
  });

  it("passes hostile argv to the program literally and runs none of it", async () => {
    const hostile = [
      `$(touch ${tmp}/p1)`,
      `\`touch ${tmp}/p2\``,
      `"; touch ${tmp}/p3; "`,
      `'; touch ${tmp}/p4; '`,
      "$HOME * ~ \\n",
      "multi\nline",
      "",
    ];
    const s = runShim([process.execPath, fixture("argv-json.mjs"), ...hostile]);
    await s.marker;
    s.child.stdin.write(`${s.nonce}\n`);
    expect(await s.done).toBe(0);
    const line = s
      .out()
      .split("\n")
      .find((l) => l.startsWith("ARGV:"))!;
    expect(JSON.parse(line.slice(5))).toEqual(hostile);
    expect(readdirSync(tmp)).toEqual([]);
    expect(existsSync(`${tmp}/p1`)).toBe(false);
  });

  it("waits for the nonce: typed-ahead lines do not end it; exits with the agent's status", async () => {
    const s = runShim(["/bin/sh", "-c", "exit 7"]);
    await s.marker;
    expect(s.out()).toContain(`;${s.nonce};7\x07`);
    s.child.stdin.write("leftover input\nnot-the-nonce\n");
    await new Promise((r) => setTimeout(r, 150));
    expect(s.child.exitCode).toBeNull();
    s.child.stdin.write(`partial${s.nonce}\n`); // an unterminated typed line may precede it
    expect(await s.done).toBe(7);
  });

  it("does not hand SIGTERM to the agent as ignored; a late SIGTERM does not end the wait", async () => {
    const s = runShim(["/bin/sh", "-c", "kill -TERM $$; echo survived"]);
    await s.marker;
    expect(s.out()).not.toContain("survived");
    expect(s.out()).toContain(`;${s.nonce};143\x07`);
    s.child.kill("SIGTERM"); // dash's read returns 1 on a trapped signal, like EOF
    await new Promise((r) => setTimeout(r, 150));
    expect(s.child.exitCode).toBeNull();
    s.child.stdin.write(`${s.nonce}\n`);
    expect(await s.done).toBe(143);
  });

  it("ends on EOF (master closed) without an ack", async () => {
    const s = runShim(["/bin/true"]);
    await s.marker;
    s.child.stdin.end();
    expect(await s.done).toBe(0);
  });

  it("under a real pty: stderr reaches the pty, marker after all output, ack not echoed, shim exit = agent status", async () => {
    const nonce = makeNonce();
    const agent = ["/bin/sh", "-c", "printf 'hi there'; printf ' on stderr' >&2; exit 5"];
    const { exit, out } = await ackedInPty(nonce, shimArgs(nonce, agent), (o) =>
      o.includes("\x07", o.indexOf(`;${nonce};`)),
    );
    expect(exit.exitCode).toBe(5);
    expect(out).toBe(`hi there on stderr\x1b]7770;${nonce};5\x07`);
  });

  it("local shim: the marker before stty, the ready marker after it; an ack after ready is not echoed", async () => {
    const nonce = makeNonce();
    // A TUI that left the tty raw with echo on: only `stty sane -echo` makes the ack a quiet line.
    const agent = ["/bin/sh", "-c", "stty raw echo; printf 'done'; exit 4"];
    const { exit, out } = await ackedInPty(nonce, shimArgs(nonce, agent, LOCAL_SHIM_SCRIPT), (o) =>
      o.includes(`\x1b]${READY_OSC};${nonce};0\x07`),
    );
    expect(exit.exitCode).toBe(4);
    expect(out).toBe(`done\x1b]7770;${nonce};4\x07\x1b]${READY_OSC};${nonce};0\x07`);
  });
});

/** Runs a shim in a real pty and types the ack once `ackNow(output so far)` says so. */
async function ackedInPty(nonce: string, args: string[], ackNow: (out: string) => boolean) {
  const p = pty.spawn("/bin/sh", args, { name: "xterm-256color", cols: 80, rows: 24, encoding: null });
  let out = "";
  let acked = false;
  p.onData((d) => {
    out += (d as unknown as Buffer).toString("latin1");
    if (!acked && ackNow(out)) {
      acked = true;
      p.write(`${nonce}\n`);
    }
  });
  const exit = await new Promise<{ exitCode: number }>((r) => p.onExit(r));
  return { exit, out };
}
