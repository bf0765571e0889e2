import { afterEach, describe, expect, it } from "vitest";
import { EventEmitter } from "node:events";
import { createConductorRegistry, getConductorRegistry, type ConductorApi } from "../src/conductor-registry.js";
import { createConductorMeshBridge, createMeshRegistry, type MeshMessage } from "../src/mesh-registry.js";

function fakeConductor(accept = true) {
  const sent: Array<[string, string]> = [];
  const api: ConductorApi = {
    sendInput(id, text) {
      sent.push([id, text]);
      return accept;
    },
  };
  return { api, sent };
}

describe("conductor registry", () => {
  afterEach(() => getConductorRegistry().clear());

  it("getConductorRegistry always returns the same, existing registry (no optional chaining needed)", () => {
    const a = getConductorRegistry();
    expect(a).toBeDefined();
    expect(getConductorRegistry()).toBe(a);
    expect(a.list()).toEqual([]);
  });

  it("regression 10.3.0: registering a null/undefined API is a TypeError at the call, naming what to pass", () => {
    const reg = getConductorRegistry();
    expect(() => reg.register("s1", null as never)).toThrow(TypeError);
    expect(() => reg.register("s1", null as never)).toThrow(/sendInput\(id, text\)/);
    expect(() => reg.register("s1", undefined as never)).toThrow(TypeError);
    expect(() => reg.register("s1", {} as never)).toThrow(/conductor's API/);
    expect(() => reg.register("", fakeConductor().api)).toThrow(TypeError);
    // Nothing half-registered that would crash a later sendInput.
    expect(reg.lookup("s1")).toBeUndefined();
    expect(reg.sendInput("s1", "hi")).toBe(false);
  });

  it("routes lookup and sendInput to the owning conductor; unknown ids give false", () => {
    const reg = createConductorRegistry();
    const c1 = fakeConductor();
    const c2 = fakeConductor(false);
    reg.register("a", c1.api);
    reg.register("b", c2.api);
    expect(reg.lookup("a")).toBe(c1.api);
    expect(reg.sendInput("a", "yes")).toBe(true);
    expect(reg.sendInput("b", "no")).toBe(false); // the owner's answer is passed through
    expect(reg.sendInput("zzz", "x")).toBe(false);
    expect(c1.sent).toEqual([["a", "yes"]]);
    expect(c2.sent).toEqual([["b", "no"]]);
    expect(reg.list().sort()).toEqual(["a", "b"]);
    expect(reg.size).toBe(2);
  });

  it("unregister by a non-owner is ignored; by the owner it removes", () => {
    const reg = createConductorRegistry();
    const owner = fakeConductor();
    const other = fakeConductor();
    reg.register("s", owner.api);
    expect(reg.unregister("s", other.api)).toBe(false);
    expect(reg.lookup("s")).toBe(owner.api);
    expect(reg.unregister("s", owner.api)).toBe(true);
    expect(reg.lookup("s")).toBeUndefined();
    expect(reg.unregister("s", owner.api)).toBe(false);
  });

  it("defect: two conductors with a session of one id: when the later lets go, the earlier (still live) owns it again", () => {
    const reg = createConductorRegistry();
    const a = fakeConductor();
    const b = fakeConductor();
    reg.register("job", a.api);
    reg.register("job", b.api);
    expect(reg.lookup("job")).toBe(b.api);
    expect(reg.unregister("job", b.api)).toBe(true);
    expect(reg.lookup("job")).toBe(a.api); // was: gone, while a's session still ran
    expect(reg.list()).toEqual(["job"]);
    // The earlier one letting go first leaves the later the owner; the seed's one-argument call takes the owner's.
    reg.register("job", b.api);
    expect(reg.unregister("job", a.api)).toBe(true);
    expect(reg.lookup("job")).toBe(b.api);
    expect(reg.unregister("job")).toBe(true);
    expect(reg.lookup("job")).toBeUndefined();
    expect(reg.size).toBe(0);
  });

  it("clear empties it", () => {
    const reg = createConductorRegistry();
    reg.register("x", fakeConductor().api);
    reg.clear();
    expect(reg.list()).toEqual([]);
  });
});

describe("mesh registry", () => {
  it("registers, discovers by capability, looks up, lists, unregisters, clears", () => {
    const mesh = createMeshRegistry();
    mesh.register("a", ["session", "code"], { host: "h" });
    mesh.register("b", ["code"]);
    expect(mesh.discover("code").sort()).toEqual(["a", "b"]);
    expect(mesh.discover("session")).toEqual(["a"]);
    expect(mesh.discover("nope")).toEqual([]);
    expect(mesh.discoverAgents("session").map((a) => a.meta)).toEqual([{ host: "h" }]);
    expect(mesh.getAgent("a")).toMatchObject({ agentId: "a", capabilities: ["session", "code"] });
    expect(mesh.describe("a")).toMatchObject({ agentId: "a", meta: { host: "h" } });
    expect(mesh.getAgent("zz")).toBeNull();
    expect(mesh.describe("zz")).toBeNull();
    // Frozen records: a caller cannot change the registry through what it was given.
    const record = mesh.getAgent("a") as unknown as { capabilities: string[] };
    expect(() => record.capabilities.push("hacked")).toThrow(TypeError);
    expect(Object.isFrozen(mesh.describe("a")?.meta)).toBe(true);
    expect(mesh.getAgent("a")?.capabilities).toEqual(["session", "code"]);
    expect(mesh.unregister("b")).toBe(true);
    expect(mesh.unregister("b")).toBe(false);
    expect(mesh.listAll().map((a) => a.agentId)).toEqual(["a"]);
    mesh.clear();
    expect(mesh.listAll()).toEqual([]);
  });

  it("broadcasts to subscribers; disposers unsubscribe; a throwing subscriber does not stop others", () => {
    const warnings: string[] = [];
    const mesh = createMeshRegistry({ warn: (m) => warnings.push(m) });
    const got1: MeshMessage[] = [];
    const got2: MeshMessage[] = [];
    const off1 = mesh.subscribe((m) => got1.push(m));
    mesh.subscribe(() => {
      throw new Error("bad subscriber");
    });
    mesh.subscribe((m) => got2.push(m));
    mesh.broadcast({ from: "x", type: "hello", payload: 1 });
    off1();
    off1();
    mesh.broadcast({ from: "x", type: "again" });
    expect(got1.map((m) => m.type)).toEqual(["hello"]);
    expect(got2.map((m) => m.type)).toEqual(["hello", "again"]);
    expect(warnings).toHaveLength(2);
  });
});

describe("conductor mesh bridge", () => {
  function setup() {
    const source = new EventEmitter();
    const mesh = createMeshRegistry();
    const messages: MeshMessage[] = [];
    mesh.subscribe((m) => messages.push(m));
    const bridge = createConductorMeshBridge(source, mesh);
    const move = (sessionId: string, from: string, to: string, reason = "test") =>
      source.emit("stateChange", { sessionId, from, to, reason });
    return { source, mesh, messages, bridge, move };
  }

  it("registers a session on its first starting, keeps it across a restart, removes it when final", () => {
    const { source, mesh, messages, bridge, move } = setup();
    bridge.attach();
    move("s1", "init", "starting");
    expect(mesh.describe("session:s1")).toMatchObject({ capabilities: ["session"], meta: { sessionId: "s1" } });
    move("s1", "starting", "healthy");
    move("s1", "healthy", "failed");
    move("s1", "failed", "restarting");
    move("s1", "restarting", "starting");
    expect(mesh.discover("session")).toEqual(["session:s1"]);

    move("s2", "init", "starting");
    move("s2", "starting", "healthy");
    move("s2", "healthy", "completed");
    source.emit("completed", { sessionId: "s2" });
    expect(mesh.getAgent("session:s2")).toBeNull();

    move("s1", "starting", "failed");
    move("s1", "failed", "dead");
    source.emit("dead", { sessionId: "s1", reason: "max restarts" });
    expect(mesh.listAll()).toEqual([]);

    expect(messages.filter((m) => m.type === "stateChange")).toHaveLength(10);
    expect(messages[0]).toEqual({
      from: "session:s1",
      type: "stateChange",
      payload: { sessionId: "s1", from: "init", to: "starting", reason: "test" },
    });
    expect(messages.find((m) => m.type === "completed")).toEqual({
      from: "session:s2",
      type: "completed",
      payload: { sessionId: "s2" },
    });
    expect(messages.at(-1)).toEqual({
      from: "session:s1",
      type: "dead",
      payload: { sessionId: "s1", reason: "max restarts" },
    });
  });

  it("attach and detach are idempotent; detach removes its listeners and only its own agents", () => {
    const { source, mesh, messages, bridge, move } = setup();
    mesh.register("manual-agent", ["session"]);
    bridge.attach();
    bridge.attach();
    expect(source.listenerCount("stateChange")).toBe(1);
    expect(source.listenerCount("completed")).toBe(1);
    expect(source.listenerCount("dead")).toBe(1);
    move("s1", "init", "starting");
    expect(messages).toHaveLength(1); // not doubled by the second attach

    bridge.detach();
    bridge.detach();
    expect(bridge.attached).toBe(false);
    expect(source.listenerCount("stateChange")).toBe(0);
    expect(source.listenerCount("completed")).toBe(0);
    expect(source.listenerCount("dead")).toBe(0);
    expect(mesh.listAll().map((a) => a.agentId)).toEqual(["manual-agent"]);
    move("s9", "init", "starting");
    expect(mesh.getAgent("session:s9")).toBeNull();
    expect(messages).toHaveLength(1);
  });

  it("two bridges on one registry do not clear each other's agents", () => {
    const a = setup();
    const otherSource = new EventEmitter();
    const other = createConductorMeshBridge(otherSource, a.mesh);
    a.bridge.attach();
    other.attach();
    a.move("a1", "init", "starting");
    otherSource.emit("stateChange", { sessionId: "b1", from: "init", to: "starting", reason: "r" });
    a.bridge.detach();
    expect(a.mesh.listAll().map((x) => x.agentId)).toEqual(["session:b1"]);
    other.detach();
    expect(a.mesh.listAll()).toEqual([]);
  });
});

describe("conductor mesh bridge, as the seed called it", () => {
  it("defect: takes the seed's options (onMessage, bridgeAgentId), has isAttached, and needs no broadcast of the registry", () => {
    const source = new EventEmitter();
    // The seed's registry: register/unregister/discover/getAgent/listAll/clear, no broadcast.
    const agents = new Map<string, readonly string[]>();
    const seedRegistry = {
      register: (id: string, caps: readonly string[] = []) => {
        agents.set(id, caps);
        return { agentId: id, capabilities: caps, registeredAt: 0 };
      },
      unregister: (id: string) => agents.delete(id),
    };
    const messages: unknown[] = [];
    const bridge = createConductorMeshBridge(source, seedRegistry, { onMessage: (m) => messages.push(m) });
    expect(bridge.isAttached).toBe(false);
    bridge.attach();
    expect(bridge.isAttached).toBe(true);
    source.emit("stateChange", { sessionId: "s", from: "init", to: "starting", reason: "initial" });
    expect([...agents.keys()]).toEqual(["session:s"]);
    source.emit("stateChange", { sessionId: "s", from: "starting", to: "dead", reason: "max" }); // was: a throw
    source.emit("dead", { sessionId: "s", reason: "max" });
    expect(agents.size).toBe(0);
    expect(messages).toHaveLength(3);
    expect(messages[0]).toMatchObject({
      type: "event",
      from: "conductor",
      to: "*",
      payload: { event: "stateChange", sessionId: "s", from: "init", to: "starting", reason: "initial" },
    });
    expect(messages[2]).toMatchObject({ from: "conductor", payload: { event: "dead", sessionId: "s", reason: "max" } });
    expect(Object.isFrozen(messages[0])).toBe(true);
    const other = new EventEmitter();
    const named = createConductorMeshBridge(other, seedRegistry, {
      bridgeAgentId: "hub",
      onMessage: (m) => messages.push(m),
    });
    named.attach();
    other.emit("completed", { sessionId: "t" });
    expect(messages[3]).toMatchObject({ from: "hub", payload: { event: "completed", sessionId: "t" } });
    bridge.detach();
    expect(bridge.isAttached).toBe(false);
  });
});
