/**
 * The runner relays the common output event past the child-run chart (issue 13): only where the
 * chart's step would do nothing else than emit `outputReport`. Checked against the chart itself
 * (xstate's pure `transition`) in every state reachable with the events below, and end to end
 * through `createChildRunner` with a fake transport.
 */
import { describe, expect, it } from "vitest";
import { type AnyMachineSnapshot, initialTransition, transition } from "xstate";
import { createChildRunner, type TransportReport, transportLogic } from "../actors/child-run.js";
import { childRunMachine, OUTPUT_RELAY_STATES, outputReport, relaysOutput } from "../machines/child-run.machine.js";
import type { ChildRunEvent, TransportEvent } from "../machines/child-run.types.js";
import type { ChildEvent, PtyProcessInput } from "../machines/session.types.js";

const child: PtyProcessInput = { sessionId: "r", generation: 7, spec: { argv: ["/bin/true"] } };
const output: Extract<TransportEvent, { type: "RUN.OUTPUT" }> = {
  type: "RUN.OUTPUT",
  bytes: 5,
  lagMs: 3,
  screenTail: ["tick"],
  title: "t",
};
const exit = { exitCode: 1, signal: null };
const after = (delay: string, state: string) => ({ type: `xstate.after.${delay}.childRun.${state}` });
const EVENTS = [
  { type: "RUN.SPAWNED", pid: 42 },
  { type: "RUN.SPAWN_FAILED", message: "x" },
  { type: "RUN.CANCELLED" },
  { type: "RUN.EXITED", exit, settle: true },
  { type: "RUN.EXITED", exit, settle: false },
  { type: "RUN.MARKER", exit },
  { type: "RUN.MARKER", exit, drainNow: true },
  { type: "RUN.SIGNALLED" },
  { type: "RUN.LINK_DOWN", why: "t" },
  { type: "RUN.LINK_UP" },
  { type: "RUN.DRAINED", recentOutput: "", at: 0 },
  { type: "RUN.REAPED" },
  { type: "RUN.CLOSED" },
  { type: "CHILD.TERMINATE", reason: "t", graceMs: 10 },
  { type: "STOP" },
  after("grace", "terminating.grace"),
  after("ackTimeout", "acknowledging"),
  after("hostDownTimeout", "hostDown"),
] as ChildRunEvent[];

/** Every snapshot reachable with EVENTS, by state value and context (BFS). */
function reachable(): AnyMachineSnapshot[] {
  const [first] = initialTransition(childRunMachine, { child });
  const seen = new Map<string, AnyMachineSnapshot>();
  const queue: AnyMachineSnapshot[] = [first];
  while (queue.length > 0) {
    const s = queue.shift() as AnyMachineSnapshot;
    const key = JSON.stringify([s.value, s.status, s.context]);
    if (seen.has(key)) continue;
    seen.set(key, s);
    if (s.status === "active") for (const e of EVENTS) queue.push(transition(childRunMachine, s, e)[0]);
  }
  return [...seen.values()];
}

describe("child-run output relay", () => {
  it("names exactly the states that only report output", () => {
    expect([...OUTPUT_RELAY_STATES].sort()).toEqual(
      ["ackLost", "acknowledging", "draining", "forcing", "hostDown", "running", "terminating"].sort(),
    );
  });

  it("relays only where the chart's step would emit the same report and change nothing", () => {
    const states = reachable();
    let relayed = 0;
    let stepped = 0;
    for (const s of states) {
      if (s.status !== "active") continue;
      const [next, executed] = transition(childRunMachine, s, output);
      // XState's executable actions: builtins by their own type ("xstate.emit"), params as given.
      const actions = executed as unknown as { type: string; params: { event?: unknown } }[];
      const emitted = actions.filter((a) => a.type === "xstate.emit").map((a) => a.params.event);
      if (relaysOutput(s as Parameters<typeof relaysOutput>[0])) {
        relayed++;
        expect(next.value).toEqual(s.value);
        expect(next.context).toBe(s.context);
        expect(actions.map((a) => a.type)).toEqual(["xstate.emit"]);
        expect(emitted).toEqual([outputReport(s.context, output)]);
      } else stepped++;
    }
    // Both kinds occur: running relays; spawning, settling, detached or drained runs take the step.
    expect(relayed).toBeGreaterThan(5);
    expect(stepped).toBeGreaterThan(5);
  });

  it("a runner hands the session every output, in order, and none once stopped", () => {
    let report: TransportReport = () => undefined;
    const commands: string[] = [];
    const transport = transportLogic((_input, r) => {
      report = r;
      const done = () => Promise.resolve();
      return {
        write: () => {
          commands.push("WRITE");
          // Reported inside a command: the chart's mailbox takes it after the write's step.
          r({ ...output, bytes: 99 });
        },
        resize: () => undefined,
        signal: () => undefined,
        ack: () => undefined,
        resync: () => undefined,
        cancel: () => undefined,
        drain: () => Promise.resolve({ recentOutput: "", screen: [], title: null }),
        reap: done,
        close: done,
      };
    });
    const heard: ChildEvent[] = [];
    let receiver: ((cmd: never) => void) | undefined;
    const runner = createChildRunner(() => ({ transport }));
    const stop = runner({
      input: child,
      sendBack: (e) => heard.push(e),
      receive: (fn) => {
        receiver = fn as (cmd: never) => void;
      },
    });
    report({ type: "RUN.SPAWNED", pid: 42 } as TransportEvent);
    for (let i = 1; i <= 3; i++) report({ ...output, bytes: i });
    receiver?.({ type: "CHILD.WRITE", data: "x" } as never);
    expect(commands).toEqual(["WRITE"]);
    expect(heard.map((e) => [e.type, "bytes" in e ? e.bytes : null])).toEqual([
      ["CHILD.SPAWNED", null],
      ["CHILD.OUTPUT", 1],
      ["CHILD.OUTPUT", 2],
      ["CHILD.OUTPUT", 3],
      ["CHILD.OUTPUT", 99],
    ]);
    expect(heard[1]).toEqual({ ...output, bytes: 1, type: "CHILD.OUTPUT", generation: 7 });
    stop();
    report({ ...output, bytes: 4 });
    expect(heard).toHaveLength(5);
  });
});
