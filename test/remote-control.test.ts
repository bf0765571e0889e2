/**
 * Pure pieces of remote sessions: the tmux control-mode parser, pane death parsing, and the
 * SSH host statechart (backoff, give-up, refusal) driven by SimulatedClock.
 */
import { execFileSync, spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { createActor, type EventObject, fromCallback, SimulatedClock } from "xstate";
import type { PaneContext } from "../actors/remote-pane.js";
import { createPane } from "../actors/remote-pane-create.js";
import { parseDeadState } from "../actors/remote-session.js";
import { CancelledError, ChannelResetError, type TmuxControl, TmuxCommandError } from "../actors/tmux-hub.js";
import { openRunPane } from "../actors/tmux-pane-open.js";
import { type ControlEvent, ControlParser, decodeOctal, parseSubscription } from "../actors/tmux-control.js";
import { type ConnectionInput, hostStatusOf, type SshHostEvent, sshHostMachine } from "../machines/ssh-host.machine.js";

const parseAll = (...chunks: (string | Buffer)[]) => {
  const p = new ControlParser();
  const out: ControlEvent[] = [];
  for (const c of chunks) p.push(Buffer.isBuffer(c) ? c : Buffer.from(c, "latin1"), (e) => out.push(e));
  return out;
};

describe("tmux control-mode parser", () => {
  it("decodes %output octal escapes back to the exact bytes (UTF-8 passes raw)", () => {
    expect(decodeOctal("a\\134b\\011c\\001\\015\\012")).toEqual(Buffer.from("a\\b\tc\x01\r\n", "latin1"));
    expect(decodeOctal("\\12x\\")).toEqual(Buffer.from("\\12x\\", "latin1")); // not 3 digits: literal
    const [e] = parseAll(
      Buffer.concat([Buffer.from("%output %3 h"), Buffer.from("é", "utf8"), Buffer.from("\\015\\012\n")]),
    );
    expect(e).toEqual({ kind: "output", pane: "%3", data: Buffer.from("hé\r\n", "utf8") });
  });

  it("reassembles lines split across chunks, and blocks whose lines look like notifications", () => {
    const events = parseAll(
      "%begin 17 5 1\n%1 1 3\n%outp",
      "ut %1 not output\n%end 17 5 1\n%out",
      "put %2 x\n%window-close @4\n%exit too far behind\n",
    );
    expect(events).toEqual([
      { kind: "block", ok: true, lines: ["%1 1 3", "%output %1 not output"], fromClient: true },
      { kind: "output", pane: "%2", data: Buffer.from("x") },
      { kind: "notify", name: "%window-close", args: "@4" },
      { kind: "exit", reason: "too far behind" },
    ]);
  });

  it("an %end with another command's tag does not close the block; %error marks failure", () => {
    const events = parseAll("%begin 1 9 1\n%end 1 8 1\ncan't find session: x\n%error 1 9 1\n");
    expect(events).toEqual([
      { kind: "block", ok: false, lines: ["%end 1 8 1", "can't find session: x"], fromClient: true },
    ]);
  });

  it("defect: a real tmux answers a deferred `if-shell -b` command in a block of flags 0: not an answer to a line of ours", async () => {
    const socket = `ctl-flags-${process.pid}`;
    const tmux = (...a: string[]) => execFileSync("tmux", ["-L", socket, "-f", "/dev/null", ...a]);
    tmux("new-session", "-d", "-s", "s", "sleep 60");
    try {
      const client = spawn("tmux", ["-L", socket, "-f", "/dev/null", "-C", "attach", "-t", "s"]);
      const p = new ControlParser();
      const blocks: { fromClient: boolean; lines: string[] }[] = [];
      client.stdout.on("data", (b: Buffer) =>
        p.push(b, (e) => e.kind === "block" && blocks.push({ fromClient: e.fromClient, lines: e.lines })),
      );
      // As the hub does: lines only once the attach has answered (its own block, flags 0).
      for (let i = 0; i < 1200 && blocks.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
      client.stdin.write(
        'display-message -p one\nif-shell -b true "display-message -p deferred"\ndisplay-message -p two\n',
      );
      // The attach's own block (flags 0, empty), then, once if-shell's job ends, the deferred command's.
      const others = () => blocks.filter((b) => !b.fromClient);
      for (let i = 0; i < 1200 && others().length < 2; i++) await new Promise((r) => setTimeout(r, 25));
      client.stdin.end();
      const ours = blocks.filter((b) => b.fromClient).map((b) => b.lines.join(","));
      expect(ours).toEqual(["one", "", "two"]); // the three lines, in order (if-shell's own answer is empty)
      expect(others()).toHaveLength(2);
      expect(blocks.findIndex((b) => b.lines.includes("deferred"))).not.toBe(-1);
      expect(blocks.find((b) => b.lines.includes("deferred"))?.fromClient).toBe(false);
    } finally {
      tmux("kill-server");
    }
  });

  it("subscription notifications", () => {
    expect(parseSubscription("conductor-dead $0 @3 2 %7 : 1 3 ")).toEqual({
      name: "conductor-dead",
      window: "@3",
      pane: "%7",
      value: "1 3 ",
    });
    expect(parseSubscription("s $0 @3 2 %7 future args : 0")).toMatchObject({ pane: "%7", value: "0" });
    expect(parseSubscription("s $0 - - - : x")).toMatchObject({ pane: "-" });
  });

  it("pane death: status, signal, alive", () => {
    expect(parseDeadState("0  ")).toBeNull();
    expect(parseDeadState("1 7 ")).toEqual({ exitCode: 7, signal: null });
    expect(parseDeadState("1 0 ")).toEqual({ exitCode: 0, signal: null });
    expect(parseDeadState("1  9")).toEqual({ exitCode: null, signal: "SIGKILL" });
  });
});

describe("ssh host statechart", () => {
  function start() {
    const clock = new SimulatedClock();
    const attempts: number[] = [];
    const senders: ((e: SshHostEvent) => void)[] = [];
    const connection = fromCallback<EventObject, ConnectionInput>(({ input: i, sendBack }) => {
      attempts.push(i.attempt);
      senders.push((e) => sendBack(e));
    });
    const actor = createActor(sshHostMachine.provide({ actors: { connection } }), {
      clock,
      input: { name: "box", backoffInitialMs: 100, backoffFactor: 2, backoffMaxMs: 1000, giveUpAfterMs: 5000 },
    });
    const statuses: string[] = [];
    actor.on("status", (e) => void statuses.push(e.status));
    actor.start();
    const last = () => senders[senders.length - 1]!;
    return {
      actor,
      clock,
      attempts,
      statuses,
      status: () => hostStatusOf(actor.getSnapshot()),
      ready: () => last()({ type: "CONN.READY" }),
      closed: (fatal = false, error = "boom") => last()({ type: "CONN.CLOSED", fatal, error }),
    };
  }

  it("connects, drops, backs off exponentially up to the cap, and reconnects", () => {
    const h = start();
    expect(h.status()).toBe("connecting");
    h.ready();
    expect(h.status()).toBe("connected");
    h.closed();
    expect(h.status()).toBe("reconnecting");
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = h.attempts.length;
      let waited = 0;
      while (h.attempts.length === before) {
        h.clock.increment(10);
        waited += 10;
      }
      waits.push(waited);
      if (i < 4) h.closed();
    }
    expect(waits).toEqual([100, 200, 400, 800, 1000]);
    h.ready();
    expect(h.status()).toBe("connected");
    expect(h.actor.getSnapshot().context.attempt).toBe(0);
    expect(h.statuses).toEqual(["connecting", "connected", "reconnecting", "connected"]);
  });

  it("without a connection for giveUpAfter → unreachable, yet keeps trying and recovers", () => {
    const h = start();
    h.closed(false, "ECONNREFUSED");
    for (let t = 0; t < 5000; t += 100) {
      h.clock.increment(100);
      if (h.status() === "unreachable") break;
      if (h.actor.getSnapshot().matches({ link: "linked" })) h.closed(false, "ECONNREFUSED");
    }
    expect(h.status()).toBe("unreachable");
    expect(h.actor.getSnapshot().context.lastError).toBe("ECONNREFUSED");
    h.clock.increment(1000);
    h.ready();
    expect(h.status()).toBe("connected");
  });

  it("a fatal refusal (host key, auth) stops retrying until HOST.RETRY", () => {
    const h = start();
    h.closed(true, "HOST KEY MISMATCH");
    expect(h.status()).toBe("rejected");
    const n = h.attempts.length;
    h.clock.increment(60_000);
    expect(h.attempts.length).toBe(n);
    expect(h.actor.getSnapshot().context.lastError).toBe("HOST KEY MISMATCH");
    h.actor.send({ type: "HOST.RETRY" });
    expect(h.attempts.length).toBe(n + 1);
    h.ready();
    expect(h.status()).toBe("connected");
  });
});

/**
 * A spawn's `new-session` line in flight when the control channel resets: it may or may not have
 * run. The real-sshd test (remote-reset.test.ts) sees the line run after the resume; the other two
 * answers the server can give are scripted here: no session (create it again), a session of that
 * name without our nonce (someone else's: a duplicate, as tmux would have said).
 */
describe("createPane after a channel reset", () => {
  const nonce = "0123456789abcdef0123456789abcdef";
  function scripted(answers: Array<(cmds: string[][], onBlock?: (i: number, l: string[]) => void) => string[][]>) {
    const sent: string[][][] = [];
    const ctl = {
      hub: "conductor-hub",
      later: (cmds: string[][]) => void sent.push(cmds),
      run: async (cmds: string[][], onBlock?: (i: number, l: string[]) => void) => {
        sent.push(cmds);
        const answer = answers.shift();
        if (!answer) throw new Error(`unexpected command ${cmds[0]?.[0]}`);
        return answer(cmds, onBlock);
      },
    } as unknown as TmuxControl;
    const watched: string[] = [];
    const ctx: PaneContext = {
      ctl,
      host: "box",
      socket: "s",
      watch: (p) => void watched.push(p.id),
      resize: () => {},
      log: () => {},
    };
    return { ctx, sent, watched };
  }
  const reset = () => {
    throw new ChannelResetError("tmux control channel closed with the command in flight (test)");
  };
  const created = (_: string[][], onBlock?: (i: number, l: string[]) => void) => {
    onBlock?.(0, ["@7 %9 4242"]);
    return [["@7 %9 4242"], [], []];
  };

  it("the line never ran: the session is created again, once", async () => {
    const { ctx, sent, watched } = scripted([
      reset,
      () => {
        throw new TmuxCommandError("can't find session: s1");
      },
      created,
    ]);
    const pane = await createPane(ctx, "s1", { argv: ["true"] }, nonce);
    expect(pane).toEqual({ window: "@7", id: "%9", pid: 4242 });
    expect(sent.map((c) => c[0]?.[0])).toEqual(["new-session", "list-panes", "new-session"]);
    expect(watched).toEqual(["%9"]);
  });

  it("a session of that name without our nonce is someone else's: a duplicate, nothing adopted or killed", async () => {
    const { ctx, sent, watched } = scripted([reset, () => [["@3 %4 777 1 /bin/sh -c their-own-thing"]]]);
    await expect(createPane(ctx, "s2", { argv: ["true"] }, nonce)).rejects.toThrow(/"s2" already exists on box/);
    expect(watched).toEqual([]);
    expect(sent.flat().some((c) => c[0] === "kill-session")).toBe(false);
  });

  it("defect: a run killed while its create waited for the host sends no new-session (its agent ran once the host was back)", async () => {
    const cancel = new AbortController();
    const seen: (AbortSignal | undefined)[] = [];
    const { ctx, sent } = scripted([
      reset,
      () => {
        throw new TmuxCommandError("can't find session: s3");
      },
      // TmuxControl.run, as it is once the channel is back: a cancelled caller's line is not sent.
      () => {
        throw new CancelledError('"new-session" not sent: cancelled while it waited');
      },
    ]);
    const run = ctx.ctl.run.bind(ctx.ctl);
    (ctx.ctl as { run: unknown }).run = (c: string[][], b?: () => void, signal?: AbortSignal) => {
      seen.push(signal);
      if (c[0]?.[0] === "new-session" && sent.length > 0) cancel.abort(); // killed during the wait
      return run(c, b);
    };
    (ctx.ctl as { ensure: unknown }).ensure = async () => undefined; // the host is back
    const opened = await openRunPane({
      ctl: ctx.ctl,
      host: { status: () => "connected" } as never,
      hostDownMs: 1000,
      cancelled: cancel.signal,
      ctx: { ...ctx, cancelled: cancel.signal },
      open: (c) => createPane(c, "s3", { argv: ["true"] }, nonce),
    });
    expect(opened).toEqual({ kind: "cancelled" }); // not a spawn error, and no pane to end
    expect(seen.filter((x) => x === cancel.signal)).toHaveLength(2); // each create line carried the run's signal
  });
});
