/**
 * The seed's mesh registry and conductor bridge, through our public API: getAgent → null when
 * absent, discover → ids, register without capabilities → [], frozen records; the bridge
 * registers `session:<id>` with capability `session`, removes it when final, and shutdown()
 * detaches it (no mesh message afterwards).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createConductor, createMeshRegistry, type MeshMessage } from "../../src/index.js";

describe("seed mesh registry", () => {
  it("register, getAgent, discover, listAll, unregister, clear with the seed's shapes", () => {
    const mesh = createMeshRegistry();
    expect(mesh.register("a")).toMatchObject({ agentId: "a", capabilities: [] });
    mesh.register("b", ["code", "review"]);
    expect(mesh.getAgent("missing")).toBeNull();
    expect(mesh.discover("code")).toEqual(["b"]);
    expect(mesh.discover("none")).toEqual([]);
    const b = mesh.getAgent("b");
    expect(b).toMatchObject({ agentId: "b", capabilities: ["code", "review"] });
    expect(typeof b?.registeredAt).toBe("number");
    expect(Object.isFrozen(b)).toBe(true);
    expect(Object.isFrozen(b?.capabilities)).toBe(true);
    expect(mesh.listAll().map((x) => x.agentId)).toEqual(["a", "b"]);
    expect(mesh.unregister("a")).toBe(true);
    mesh.clear();
    expect(mesh.listAll()).toEqual([]);
  });

  it("the richer records are separate methods: describe(id), discoverAgents(capability)", () => {
    const mesh = createMeshRegistry();
    mesh.register("x", ["code"], { host: "h" });
    expect(mesh.describe("x")).toMatchObject({ agentId: "x", meta: { host: "h" } });
    expect(mesh.discoverAgents("code").map((a) => a.meta)).toEqual([{ host: "h" }]);
    expect(mesh.describe("y")).toBeNull();
  });
});

describe("seed conductor mesh bridge", () => {
  it("a session is agent session:<id> while it lives; final removes it; shutdown detaches", async () => {
    const mesh = createMeshRegistry();
    const messages: MeshMessage[] = [];
    mesh.subscribe((m) => messages.push(m));
    const c = createConductor({
      logsDir: mkdtempSync(join(tmpdir(), "seed-mesh-")),
      meshRegistry: mesh,
      handleSignals: false,
    });
    expect(c.getMeshRegistry()).toBe(mesh);
    const seen: string[][] = [];
    c.on("stateChange", (e) => {
      if (e.to === "healthy") seen.push(mesh.discover("session"));
    });
    const done = new Promise<void>((r) => c.on("completed", () => r()));
    c.spawnSession({
      id: "m1",
      agent: "command",
      command: [process.execPath, "-e", "console.log('hi'); setTimeout(() => {}, 300)"],
    });
    await done;
    expect(seen).toEqual([["session:m1"]]);
    expect(mesh.getAgent("session:m1")).toBeNull();
    expect(messages.map((m) => m.type)).toContain("completed");
    await c.shutdown("test");
    const before = messages.length;
    mesh.broadcast({ from: "x", type: "ping" });
    expect(messages.length).toBe(before + 1); // the registry still works; the bridge is gone
    const off = createConductor({
      logsDir: mkdtempSync(join(tmpdir(), "seed-mesh-")),
      enableMesh: false,
      handleSignals: false,
    });
    expect(off.getMeshRegistry()).toBeNull();
    await off.shutdown("test");
  });
});
