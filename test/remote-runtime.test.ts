// src/remote-runtime.ts loads the SSH/tmux runner with the first remote run (issue 13: import cost).
// What a run is told before those modules are in must reach the runner in order; a run stopped
// before then never starts.
import { describe, expect, it, vi } from "vitest";
import type { ChildCommand, ChildEvent, PtyProcessInput } from "../machines/session.types.js";
import { remoteTelemetryRunFile } from "../src/presets/gemini-telemetry.js";

const seen: string[] = [];
/** The environment each run reached the runner with. */
const envs: Record<string, Record<string, string> | undefined> = {};
vi.mock("../actors/remote-session.js", () => ({
  createRemoteChildRunner: () =>
    Object.assign(
      ({ input, receive }: { input: PtyProcessInput; receive: (fn: (c: ChildCommand) => void) => void }) => {
        seen.push(`start ${input.sessionId}`);
        envs[`${input.sessionId}#${input.generation}`] = input.spec.env;
        receive((cmd) => seen.push(`${input.sessionId} ${cmd.type}`));
        return () => seen.push(`stop ${input.sessionId}`);
      },
      { close: async () => void seen.push("close") },
    ),
}));

/** The host and file each remote telemetry watch was started for. */
const watched: string[] = [];
vi.mock("../actors/ssh-host.js", () => ({
  createSshHostPool: () => ({ get: (host: string) => ({ host }), close: () => {} }),
}));
vi.mock("../actors/remote-telemetry.js", () => ({
  remoteTelemetryWatch: (host: { host: string }) => (input: { path: string }) => {
    watched.push(`${host.host} ${input.path}`);
    return () => {};
  },
  remoteTelemetrySettled: async () => {},
}));

const { createRemoteRuntime } = await import("../src/remote-runtime.js");

function run(
  runtime: ReturnType<typeof createRemoteRuntime>,
  sessionId: string,
  spec: PtyProcessInput["spec"] = { argv: ["agent"] },
  generation = 1,
) {
  let deliver: ((cmd: ChildCommand) => void) | undefined;
  const events: ChildEvent[] = [];
  const stop = runtime.runner({
    input: { sessionId, generation, spec },
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

  it("a gemini run gets a telemetry file of its own on the host; a user's own outfile is left as it is", async () => {
    const runtime = createRemoteRuntime({
      hosts: { hosts: { box: { host: "h", user: "u", identityFile: "/keys/id" } } },
      log: () => {},
      placementOf: () => undefined,
    });
    const secret = "/tmp/statechart-conductor-telemetry-0123456789abcdef01234567.json";
    const ours = { argv: ["gemini"], agentTelemetry: secret, env: { GEMINI_TELEMETRY_OUTFILE: secret, K: "v" } };
    const runs = [1, 2].map((generation) => run(runtime, "g", ours, generation));
    const own = { argv: ["gemini"], agentTelemetry: secret, env: { GEMINI_TELEMETRY_OUTFILE: "/srv/t.json" } };
    runs.push(run(runtime, "u", own));
    await vi.waitFor(() => expect(Object.keys(envs)).toContain("u#1"));
    for (const r of runs) r.stop();
    expect(envs["g#1"]).toEqual({ GEMINI_TELEMETRY_OUTFILE: remoteTelemetryRunFile(secret, 1), K: "v" });
    expect(envs["g#2"]).toEqual({ GEMINI_TELEMETRY_OUTFILE: remoteTelemetryRunFile(secret, 2), K: "v" });
    expect(envs["u#1"]).toEqual({ GEMINI_TELEMETRY_OUTFILE: "/srv/t.json" });
    await runtime.close();
  });

  it("watches only a telemetry file the conductor made: the remote probe empties and removes what it watches", async () => {
    const runtime = createRemoteRuntime({
      hosts: { hosts: { box: { host: "h", user: "u", identityFile: "/keys/id" } } },
      log: () => {},
      placementOf: () => ({ host: "box" }),
    });
    const secret = "/tmp/statechart-conductor-telemetry-0123456789abcdef01234567.json";
    const watch = (generation: number, owned: boolean) => {
      const input = { sessionId: "g", generation, path: secret, owned };
      return runtime.telemetry(input)?.(input, () => {});
    };
    // The user's is asked for first: had it started, it would be in `watched` before ours.
    const stops = [watch(3, false), watch(4, true)];
    await vi.waitFor(() => expect(watched).toHaveLength(1));
    expect(watched).toEqual([`box ${remoteTelemetryRunFile(secret, 4)}`]);
    for (const stop of stops) stop?.();
    await runtime.close();
  });
});
