/**
 * The host's control client (actors/tmux-hub.ts, the runtime of machines/tmux-channel.machine.ts)
 * against a fake `tmux -C` on a fake ssh channel: what its callers and pane watchers see when the
 * channel drops, when tmux never answers, when the server restarted, when one watcher throws.
 * The real thing (sshd, tmux) is in the remote-*.test.ts files.
 */
import { describe, expect, it } from "vitest";
import type { SshStream } from "../actors/ssh-host.js";
import { TmuxControl } from "../actors/tmux-hub.js";
import type { PaneWatcher } from "../actors/tmux-hub.types.js";

/** A `tmux -C` client on a channel: a block per command (flags 1: ours), `display-message` says its pid. */
class FakeTmux {
  readonly lines: string[] = [];
  private data: (b: Buffer) => void = () => {};
  private stderrTo: (b: Buffer) => void = () => {};
  private closeTo: (i: { code: number | null; signal: string | null }) => void = () => {};
  private n = 0;
  private closed = false;
  readonly stream: SshStream = {
    write: (line) => {
      this.lines.push(line);
      if (!this.answers) return;
      // Commands are joined by ` ; `; every argument is quoted, with `;` escaped inside (tmuxQuote).
      const names = line.replace(/"[^"]*"/g, '""').split(" ; ");
      for (const cmd of names) this.block(cmd.startsWith("display-message") ? [this.pid] : []);
    },
    close: () => this.exit(),
    pause: () => {},
    resume: () => {},
    onData: (fn) => {
      this.data = fn;
    },
    onStderr: (fn) => {
      this.stderrTo = fn;
    },
    onClose: (fn) => {
      this.closeTo = fn;
    },
  };

  constructor(
    private readonly pid: string,
    private readonly answers: boolean,
    helloAfterMs = 0,
  ) {
    // Attached to the hub (after the login shell's rc files, helloAfterMs).
    if (answers) setTimeout(() => this.emit("%session-changed $1 conductor-hub\n"), helloAfterMs);
  }

  output(pane: string, text: string): void {
    this.emit(`%output ${pane} ${text}\n`);
  }

  stderr(text: string): void {
    setImmediate(() => this.stderrTo(Buffer.from(text)));
  }

  /** The remote client exits (or the channel is closed from our side). */
  exit(): void {
    if (this.closed) return;
    this.closed = true;
    setImmediate(() => this.closeTo({ code: 0, signal: null }));
  }

  private block(lines: string[]): void {
    const n = this.n++;
    this.emit(`%begin 1 ${n} 1\n${lines.map((l) => `${l}\n`).join("")}%end 1 ${n} 1\n`);
  }

  /** Later, as a channel's data would come: never inside the write that asked. */
  private emit(text: string): void {
    setImmediate(() => this.closed || this.data(Buffer.from(text)));
  }
}

/**
 * A host whose channels are fake tmux clients, with the given server pids in turn: connected until
 * `setStatus` says otherwise; its first `failOpens` channel opens fail; tmux answers `helloAfterMs`
 * after a channel opens (never with `answers: false`).
 */
function fakeHost(pids: string[], o: { answers?: boolean; failOpens?: number; helloAfterMs?: number } = {}) {
  const channels: FakeTmux[] = [];
  const listeners = new Set<(s: string) => void>();
  let status = "connected";
  let opens = 0;
  const host = {
    name: "box",
    status: () => status,
    lastError: () => null,
    onStatus: (fn: (s: string) => void) => {
      listeners.add(fn);
      return () => void listeners.delete(fn);
    },
    openStream: async () => {
      opens++;
      if (opens <= (o.failOpens ?? 0)) throw new Error("open failed: administratively prohibited");
      const pid = pids[Math.min(channels.length, pids.length - 1)] ?? "1";
      const t = new FakeTmux(pid, o.answers ?? true, o.helloAfterMs);
      channels.push(t);
      return t.stream;
    },
  };
  const setStatus = (s: string) => {
    status = s;
    for (const fn of [...listeners]) fn(s);
  };
  return { host, channels, setStatus, opens: () => opens };
}

const logged: { event: string; data: Record<string, unknown> }[] = [];
const control = (host: ReturnType<typeof fakeHost>["host"], openTimeoutMs = 10_000) =>
  new TmuxControl({
    host,
    program: "tmux",
    socketName: "test",
    openTimeoutMs,
    reopenDelayMs: 10,
    log: (event, data) => void logged.push({ event, data }),
  });
const watcher = (over: Partial<PaneWatcher> = {}): PaneWatcher => ({
  output: () => {},
  paneState: () => {},
  windowChanged: () => {},
  sessionsChanged: () => {},
  attached: () => {},
  detached: () => {},
  lost: () => {},
  ...over,
});
async function until(pred: () => boolean, what: string) {
  for (let i = 0; i < 2_000 && !pred(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(pred(), what).toBe(true);
}

describe("TmuxControl against a fake tmux -C", () => {
  it("a watcher that runs a command as it hears of the drop waits for the reattach, then gets its answer", async () => {
    const { host, channels } = fakeHost(["100"]);
    const ctl = control(host);
    await ctl.ensure(10_000);
    let answer: Promise<string[][]> | undefined;
    ctl.watch(
      "%1",
      "@1",
      watcher({
        detached: () => {
          answer = ctl.run([["list-panes"]]);
        },
      }),
    );
    channels[0]!.exit();
    await until(() => answer !== undefined, "the watcher heard the drop");
    // Before: the chart still read attached inside its own transition, and the line failed at once.
    await expect(answer).resolves.toEqual([[]]);
    expect(channels).toHaveLength(2);
    expect(channels[1]!.lines.some((l) => l.startsWith("list-panes"))).toBe(true);
    ctl.close();
  });

  it("tmux that never answers is given up on after openTimeoutMs: the caller hears why, with the shell's stderr", async () => {
    const { host, channels } = fakeHost(["100"], { answers: false });
    const ctl = control(host, 100);
    const waiting = ctl.ensure(60_000);
    await until(() => channels.length === 1, "the channel opened");
    channels[0]!.stderr("pyenv: cannot rehash: lock held\n");
    await expect(waiting).rejects.toThrow(
      /tmux control mode failed on box: no answer from tmux within 100 ms \(a login shell rc file may be blocking\): pyenv: cannot rehash: lock held/,
    );
    expect(logged.some((l) => l.event === "remote.control_open_slow")).toBe(true);
    ctl.close();
  });

  it("a server with another pid after a drop: the panes are lost, not resynced; the same pid keeps them", async () => {
    const { host, channels } = fakeHost(["100", "100", "200"]);
    const ctl = control(host);
    await ctl.ensure(10_000);
    const heard: string[] = [];
    ctl.watch("%1", "@1", watcher({ attached: () => heard.push("attached"), lost: (why) => heard.push(why) }));
    channels[0]!.exit();
    await until(() => heard.length === 1, "reattached to the same server");
    expect(heard).toEqual(["attached"]);
    channels[1]!.exit();
    await until(() => heard.length === 2, "reattached to a new server");
    expect(heard).toEqual(["attached", "the remote tmux server restarted"]);
    expect(logged.find((l) => l.event === "remote.tmux_server_restarted")?.data).toMatchObject({
      was: "100",
      now: "200",
    });
    ctl.close();
  });

  it("one watcher that throws stops no other session's output, and is said in the log", async () => {
    const { host, channels } = fakeHost(["100"]);
    const ctl = control(host);
    await ctl.ensure(10_000);
    const got: string[] = [];
    ctl.watch(
      "%1",
      "@1",
      watcher({
        output: () => {
          throw new Error("a bug in one session");
        },
      }),
    );
    ctl.watch("%2", "@2", watcher({ output: (b) => got.push(b.toString()) }));
    channels[0]!.output("%1", "one");
    channels[0]!.output("%2", "two");
    await until(() => got.length === 1, "the other pane's output");
    expect(got).toEqual(["two"]);
    expect(logged.find((l) => l.event === "remote.watcher_error")?.data).toMatchObject({
      pane: "%1",
      error: "Error: a bug in one session",
    });
    ctl.close();
  });

  it("an open that fails is tried again reopenDelayMs later while a caller waits", async () => {
    const { host, opens } = fakeHost(["100"], { failOpens: 2 });
    const ctl = control(host);
    await ctl.ensure(10_000);
    expect(opens()).toBe(3);
    expect(logged.filter((l) => l.event === "remote.control_open_failed").at(-1)?.data).toMatchObject({
      error: "open failed: administratively prohibited",
    });
    ctl.close();
  });

  it("nothing opens while the host is down; its return opens the channel for the caller waiting", async () => {
    const { host, opens, setStatus } = fakeHost(["100"]);
    setStatus("reconnecting");
    const ctl = control(host);
    const waiting = ctl.ensure(10_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(opens()).toBe(0);
    setStatus("connected");
    await waiting;
    expect(opens()).toBe(1);
    ctl.close();
  });

  it("a caller's bound is extended while tmux is on its way (a slow login shell is not an unreachable host)", async () => {
    const { host } = fakeHost(["100"], { helloAfterMs: 300 });
    const ctl = control(host);
    await expect(ctl.ensure(50)).resolves.toBeUndefined();
    ctl.close();
  });

  it("an effect that throws stops the client saying why: callers are refused, none waits forever", async () => {
    const { host, channels } = fakeHost(["100"]);
    const ctl = new TmuxControl({
      host,
      program: "tmux",
      socketName: "test",
      reopenDelayMs: 10,
      log: (event, data) => {
        if (event === "remote.control_closed") throw new Error("the log's disk is gone");
        logged.push({ event, data });
      },
    });
    await ctl.ensure(10_000);
    channels[0]!.exit();
    await until(() => logged.some((l) => l.event === "remote.control_failed"), "the failure said");
    await expect(ctl.run([["list-panes"]])).rejects.toThrow(
      /tmux control client on box failed: Error: the log's disk is gone/,
    );
    await expect(ctl.ensure(10_000)).rejects.toThrow(/failed: Error: the log's disk is gone/);
    ctl.close();
  });

  it("close(): a command waiting for the channel fails saying so; nothing reopens", async () => {
    const { host, channels } = fakeHost(["100"]);
    const ctl = control(host);
    await ctl.ensure(10_000);
    ctl.watch("%1", "@1", watcher());
    channels[0]!.exit();
    await until(() => !ctl.attached, "dropped");
    const waiting = ctl.run([["list-panes"]]);
    ctl.close();
    await expect(waiting).rejects.toThrow(/tmux control client closed/);
    await new Promise((r) => setTimeout(r, 50));
    expect(channels.length).toBeLessThanOrEqual(2);
    expect(ctl.attached).toBe(false);
  });
});
