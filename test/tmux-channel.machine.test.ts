/**
 * The tmux control channel's statechart (machines/tmux-channel.machine.ts): model-based paths from
 * xstate/graph run on a real actor with recording stand-ins for its effects and SimulatedClock,
 * then the behaviours one by one. Its runtime (actors/tmux-hub.ts) is exercised against a real
 * sshd and tmux by the remote-*.test.ts files.
 */
import { describe, expect, it } from "vitest";
import { createActor, type InspectionEvent, SimulatedClock, type SnapshotFrom } from "xstate";
import { type TmuxChannelEvent, type TmuxChannelInput, tmuxChannelMachine } from "../machines/tmux-channel.machine.js";
import { recordTransitions } from "../src/testing/coverage.js";
import { expectFullCoverage } from "./helpers/model-coverage.js";
import { edgeCoverPaths, type ModelPath, predictTransition } from "../src/testing/paths.js";

type Snap = SnapshotFrom<typeof tmuxChannelMachine>;
type ModelEvent = TmuxChannelEvent | { type: `xstate.after.${string}` };
const INPUT: TmuxChannelInput = { host: "box", openTimeoutMs: 30_000, reopenDelayMs: 1_000 };
const EFFECTS = [
  "openChannel",
  "noteOpenFailed",
  "abandonChannel",
  "askServerPid",
  "forgetPanes",
  "announceAttached",
  "noteClosed",
  "failAttach",
  "refuseWaiters",
  "wakeIfWanted",
  "shutDown",
] as const;
type Effect = { type: (typeof EFFECTS)[number]; params: unknown };

/** The chart with every effect recorded (name and params), on a simulated clock. */
function start(input: TmuxChannelInput = INPUT, inspect?: (e: InspectionEvent) => void) {
  const clock = new SimulatedClock();
  const effects: Effect[] = [];
  const actions = Object.fromEntries(
    EFFECTS.map((type) => [type, (_: unknown, params: unknown) => void effects.push({ type, params })]),
  );
  const actor = createActor(tmuxChannelMachine.provide({ actions: actions as never }), { input, clock, inspect });
  actor.start();
  const names = () => effects.map((e) => e.type);
  return { actor, clock, effects, names, send: (e: TmuxChannelEvent) => actor.send(e) };
}

const top = (s: Snap) => (typeof s.value === "string" ? s.value : Object.keys(s.value)[0]!);
const after = (delay: string, state: string): ModelEvent => ({ type: `xstate.after.${delay}.tmuxChannel.${state}` });

/** What the host, the callers and the channel can do in each state. */
function events(s: Snap): ModelEvent[] {
  if (s.status !== "active") return [];
  const host: ModelEvent[] = [
    { type: "HOST.STATUS", status: "connected" },
    { type: "HOST.STATUS", status: "reconnecting" },
    { type: "HOST.STATUS", status: "rejected" },
    { type: "CLOSE" },
  ];
  const closed: ModelEvent = { type: "CHANNEL.CLOSED", why: "exit 1" };
  if (s.matches({ opening: "connecting" }))
    return [...host, { type: "CHANNEL.OPENED" }, { type: "CHANNEL.OPEN_FAILED", error: "no session" }];
  if (s.matches({ opening: "handshake" }))
    return [...host, { type: "CHANNEL.READY" }, closed, after("openTimeout", "opening.handshake")];
  switch (top(s)) {
    case "idle":
      return [...host, { type: "WAKE" }];
    case "cooling":
      return [...host, { type: "WAKE" }, after("reopenDelay", "cooling")];
    case "verifying":
      return [...host, { type: "SERVER.PID", pid: "100" }, { type: "SERVER.PID", pid: "200" }, closed];
    case "attached":
      return [...host, closed];
    default:
      return [];
  }
}

/** The abstraction: the state, whether the host is up, whether a server is known and which. */
const serialize = (s: Snap) =>
  JSON.stringify({ v: s.value, up: s.context.hostUp, pid: s.context.serverPid, done: s.status });
const { graph, paths } = edgeCoverPaths<Snap, ModelEvent>(tmuxChannelMachine, {
  events,
  serializeState: serialize,
  input: INPUT,
  predict: (s, e) => predictTransition(tmuxChannelMachine, s, e),
});

/** The effect entering a state asks of the runtime. */
const ENTRY: Record<string, Effect["type"]> = {
  "opening.connecting": "openChannel",
  verifying: "askServerPid",
  attached: "announceAttached",
  closed: "shutDown",
};
const stateKey = (s: Snap) => (typeof s.value === "string" ? s.value : `${top(s)}.${Object.values(s.value)[0]}`);

const taken = new Set<string>();
const visited = new Set<string>();
function runPath(path: ModelPath<Snap, ModelEvent>, n: number) {
  const rec = recordTransitions();
  const h = start(INPUT, rec.inspect);
  const keysSoFar = () => rec.steps.flatMap((s) => s.keys);
  try {
    for (let i = 1; i < path.steps.length; i++) {
      const e = path.steps[i]!.event;
      const step = `path ${n} step ${i} (${e.type})`;
      const before = stateKey(h.actor.getSnapshot());
      const keysBefore = keysSoFar().length;
      const effectsBefore = h.effects.length;
      const delay = /^xstate\.after\.([^.]+)\./.exec(e.type)?.[1];
      if (delay) h.clock.increment(delay === "openTimeout" ? INPUT.openTimeoutMs : INPUT.reopenDelayMs);
      else h.send(e as TmuxChannelEvent);
      expect(keysSoFar().slice(keysBefore), step).toEqual(path.keys[i]);
      expect(serialize(h.actor.getSnapshot()), step).toBe(path.serialized[i]);
      const now = stateKey(h.actor.getSnapshot());
      const did = h.effects.slice(effectsBefore).map((x) => x.type);
      if (now !== before && ENTRY[now]) expect(did, `${step}: entering ${now}`).toContain(ENTRY[now]);
      // A channel that answered and closed: its watchers hear it, as attached.
      if (e.type === "CHANNEL.CLOSED" && (before === "verifying" || before === "attached"))
        expect(h.effects.at(-1), step).toEqual({ type: "noteClosed", params: { why: "exit 1", attached: true } });
      // Nothing opens while the host is down.
      if (did.includes("openChannel")) expect(h.actor.getSnapshot().context.hostUp, step).toBe(true);
    }
  } finally {
    for (const k of rec.taken("tmuxChannel")) taken.add(k);
    for (const v of rec.visited("tmuxChannel")) visited.add(v);
    h.actor.stop();
  }
}

describe("tmux control channel statechart, model-based, SimulatedClock", () => {
  it("every generated path runs as the machine predicts; every transition is taken", () => {
    for (const [n, path] of paths.entries()) runPath(path, n);
    expectFullCoverage("tmux-channel", tmuxChannelMachine, {
      taken,
      visited,
      graph,
      paths: paths.length,
    });
  });
});

describe("tmux control channel statechart", () => {
  const up = { type: "HOST.STATUS", status: "connected" } as const;

  it("opens only when something wants it and the host is up", () => {
    const h = start();
    h.send({ type: "WAKE" });
    expect(h.names()).toEqual([]);
    h.send(up);
    expect(h.actor.getSnapshot().value).toBe("idle"); // the host coming up alone opens nothing
    h.send({ type: "WAKE" });
    expect(h.actor.getSnapshot().value).toEqual({ opening: "connecting" });
    expect(h.names()).toEqual(["openChannel"]);
  });

  it("tmux that never answers (a login shell's rc file blocking) is abandoned after openTimeout; reopened a reopenDelay later, if wanted", () => {
    const h = start();
    h.send(up);
    h.send({ type: "WAKE" });
    h.send({ type: "CHANNEL.OPENED" });
    h.clock.increment(INPUT.openTimeoutMs - 1);
    expect(h.names()).toEqual(["openChannel"]);
    h.clock.increment(1);
    expect(h.effects.at(-1)).toEqual({ type: "abandonChannel", params: { waitedMs: 30_000 } });
    // The runtime closes the channel and says so; the host answers, so the waiters hear tmux failed.
    h.send({ type: "CHANNEL.CLOSED", why: "no answer from tmux within 30000 ms" });
    expect(h.names().slice(-2)).toEqual(["noteClosed", "failAttach"]);
    expect(h.actor.getSnapshot().value).toBe("cooling");
    h.clock.increment(INPUT.reopenDelayMs - 1);
    expect(h.names()).not.toContain("wakeIfWanted");
    h.clock.increment(1);
    expect(h.actor.getSnapshot().value).toBe("idle");
    expect(h.names().at(-1)).toBe("wakeIfWanted");
    h.send({ type: "WAKE" });
    expect(h.names().filter((x) => x === "openChannel")).toHaveLength(2);
  });

  it("a caller that needs the channel now does not wait out the reopen delay", () => {
    const h = start();
    h.send(up);
    h.send({ type: "WAKE" });
    h.send({ type: "CHANNEL.OPEN_FAILED", error: "channel open failure" });
    expect(h.effects.at(-1)).toEqual({ type: "noteOpenFailed", params: { error: "channel open failure" } });
    h.send({ type: "WAKE" });
    expect(h.actor.getSnapshot().value).toEqual({ opening: "connecting" });
  });

  it("closed before tmux answered while the host is down: the waiters keep waiting (their own bound decides)", () => {
    const h = start();
    h.send(up);
    h.send({ type: "WAKE" });
    h.send({ type: "CHANNEL.OPENED" });
    h.send({ type: "HOST.STATUS", status: "reconnecting" });
    h.send({ type: "CHANNEL.CLOSED", why: "connection lost" });
    expect(h.names()).not.toContain("failAttach");
    expect(h.effects.at(-1)).toEqual({ type: "noteClosed", params: { why: "connection lost", attached: false } });
  });

  it("attaches after the server's pid is read; another pid on a later attach forgets the panes, the same pid does not", () => {
    const h = start();
    const attach = (pid: string) => {
      h.send({ type: "WAKE" });
      h.send({ type: "CHANNEL.OPENED" });
      h.send({ type: "CHANNEL.READY" });
      expect(h.actor.getSnapshot().value).toBe("verifying");
      h.send({ type: "SERVER.PID", pid });
      expect(h.actor.getSnapshot().value).toBe("attached");
    };
    h.send(up);
    attach("100");
    h.send({ type: "CHANNEL.CLOSED", why: "exit 0" });
    attach("100");
    expect(h.names()).not.toContain("forgetPanes");
    h.send({ type: "CHANNEL.CLOSED", why: "server exited" });
    attach("200");
    const forgot = h.effects.filter((e) => e.type === "forgetPanes");
    expect(forgot).toEqual([{ type: "forgetPanes", params: { was: "100", now: "200" } }]);
    // Forgotten before the attach is announced: no resync of a pane id that now names another pane.
    expect(h.names().lastIndexOf("forgetPanes")).toBeLessThan(h.names().lastIndexOf("announceAttached"));
    expect(h.actor.getSnapshot().context.serverPid).toBe("200");
  });

  it("a host that refuses us fails the waiters at once; CLOSE is final from any state", () => {
    const h = start();
    h.send(up);
    h.send({ type: "WAKE" });
    h.send({ type: "HOST.STATUS", status: "rejected" });
    expect(h.names().at(-1)).toBe("refuseWaiters");
    h.send({ type: "CLOSE" });
    expect(h.actor.getSnapshot().status).toBe("done");
    expect(h.names().at(-1)).toBe("shutDown");
    expect(h.names().filter((x) => x === "openChannel")).toHaveLength(1);
  });
});
