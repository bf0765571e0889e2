/**
 * The commands in flight on a tmux control channel (CommandFifo): answers are matched in order, and
 * a line left unanswered is never silent: it is reported as slow, then as timed out, naming the
 * command, how long it waited, what waits behind it and what the channel answered last.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ChannelResetError, CommandFifo, describeLine, type StallReport } from "../actors/tmux-commands.js";

describe("CommandFifo", () => {
  beforeEach(() => void vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] }));
  afterEach(() => void vi.useRealTimers());

  function fifo(timeoutMs = 60_000) {
    const slow: StallReport[] = [];
    const timedOut: StallReport[] = [];
    const written: string[] = [];
    const f = new CommandFifo(timeoutMs, { slow: (r) => slow.push(r), timedOut: (r) => timedOut.push(r) });
    const send = (commands: string[][]) => f.send((l) => written.push(l), commands);
    return { f, send, slow, timedOut, written };
  }

  it("describes a line by command names and targets only: typed text never appears", () => {
    expect(
      describeLine([
        ["send-keys", "-t", "%3", "-l", "my secret prompt"],
        ["kill-window", "-t", "@4"],
        ["refresh-client", "-B", "x"],
      ]),
    ).toBe("send-keys -t %3 ; kill-window -t @4 ; refresh-client");
  });

  it("an unanswered line is reported slow, then timed out, with what ran before it and what waits behind", async () => {
    const { f, send, slow, timedOut } = fifo();
    const first = send([["run-shell", "kill -KILL -42"]]);
    f.answer(true, []);
    await expect(first).resolves.toEqual([[]]);
    vi.advanceTimersByTime(5);
    void send([["kill-window", "-t", "@4"]]).catch(() => undefined);
    void send([["kill-session", "-t", "=s:"]]).catch(() => undefined);
    vi.advanceTimersByTime(10_000);
    expect(slow[0]).toEqual({
      command: "kill-window -t @4",
      waitedMs: 10_000,
      behind: 1,
      lastAnswered: { command: "run-shell", agoMs: 10_005 },
    });
    expect(timedOut).toEqual([]);
    vi.advanceTimersByTime(50_000);
    expect(timedOut[0]).toMatchObject({ command: "kill-window -t @4", waitedMs: 60_000, behind: 1 });
  });

  it("an answered line reports nothing; answers go to lines in order; a reset fails the rest", async () => {
    const { f, send, slow, timedOut } = fifo();
    const a = send([["list-panes", "-t", "%1"]]);
    const b = send([
      ["has-session", "-t", "=x:"],
      ["display-message", "-p", "#{pid}"],
    ]);
    const c = send([["kill-window", "-t", "@1"]]);
    f.answer(true, ["%1 100 0"]);
    f.answer(false, ["can't find session: x"]);
    await expect(a).resolves.toEqual([["%1 100 0"]]);
    await expect(b).rejects.toThrow("can't find session: x");
    f.reset("test");
    await expect(c).rejects.toBeInstanceOf(ChannelResetError);
    vi.advanceTimersByTime(120_000);
    expect([slow, timedOut]).toEqual([[], []]);
  });
});
