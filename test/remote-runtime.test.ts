// src/remote-runtime.ts loads the SSH/tmux runner with the first remote run (issue 13: import cost).
// What a run is told before those modules are in must reach the runner in order; a run stopped
// before then never starts.
import { describe, expect, it, vi } from "vitest";
import type { ChildCommand, ChildEvent } from "../machines/session.types.js";

const seen: string[] = [];
vi.mock("../actors/remote-session.js", () => ({
  createRemoteChildRunner: () =>
    Object.assign(
      ({ input, receive }: { input: { sessionId: string }; receive: (fn: (c: ChildCommand) => void) => void }) => {
        seen.push(`start ${input.sessionId}`);
        receive((cmd) => seen.push(`${input.sessionId} ${cmd.type}`));
        return () => seen.push(`stop ${input.sessionId}`);
      },
      { close: async () => void seen.push("close") },
    ),
}));

const { createRemoteRuntime } = await import("../src/remote-runtime.js");

function run(runtime: ReturnType<typeof createRemoteRuntime>, sessionId: string) {
  let deliver: ((cmd: ChildCommand) => void) | undefined;
  const events: ChildEvent[] = [];
  const stop = runtime.runner({
    input: { sessionId, generation: 1 } as never,
    sendBack: (e) => events.push(e),
    receive: (fn) => {
      deliver = fn;
    },
  });
  return { send: (cmd: ChildCommand) => deliver?.(cmd), stop, events };
}

describe("remote runtime", () => {
  it("hands a run's early commands to the runner in order once it is loaded; a run stopped before never starts", async () => {
    seen.length = 0;
    const runtime = createRemoteRuntime({
      hosts: { hosts: { box: { host: "h", user: "u", identityFile: "/keys/id" } } },
      log: () => {},
      placementOf: () => undefined,
    });
    const a = run(runtime, "a");
    a.send({ type: "CHILD.RESIZE", cols: 80, rows: 24 });
    a.send({ type: "CHILD.WRITE", data: "x" });
    const b = run(runtime, "b");
    b.stop();
    await vi.waitFor(() => expect(seen).toContain("a CHILD.WRITE"));
    a.send({ type: "CHILD.TERMINATE", reason: "test", graceMs: 0 });
    a.stop();
    const c = run(runtime, "c");
    c.stop();
    await runtime.close();
    expect(seen).toEqual([
      "start a",
      "a CHILD.RESIZE",
      "a CHILD.WRITE",
      "a CHILD.TERMINATE",
      "stop a",
      "start c",
      "stop c",
      "close",
    ]);
    expect(a.events).toEqual([]);
  });
});
