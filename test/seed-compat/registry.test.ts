/**
 * The seed's conductor-registry tests (10.3.0: `createConductorRegistry`, `setConductorRegistry`,
 * `sendInputToConductorSession`), in the seed's spelling, with real conductors and real children:
 * a session is reachable by id alone while it lives, the input reaches the child, and the id is
 * gone once the session is final. The seed's MCP `send_input` tool and pipe command belong to its
 * hub, not to the conductor, and have no port (docs/seed-compatibility.md).
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type Conductor,
  type ConductorRegistry,
  createConductor,
  createConductorRegistry,
  getConductorRegistry,
  sendInputToConductorSession,
  setConductorRegistry,
} from "../../src/index.js";

const NODE = process.execPath;
/** Prints a prompt, reads one line, answers with it, exits 0. */
const ECHO_ONCE = [
  NODE,
  "-e",
  `process.stdout.write("name? ");
   process.stdin.once("data", (d) => { console.log("got:" + String(d).trim()); process.exit(0); });`,
];

let previous: ConductorRegistry | null;
let registry: ConductorRegistry;
const open: Conductor[] = [];
beforeEach(() => {
  registry = createConductorRegistry();
  previous = setConductorRegistry(registry);
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.shutdown("test_end")));
  setConductorRegistry(previous);
});

function conductor(): Conductor {
  const c = createConductor({
    logsDir: mkdtempSync(join(tmpdir(), "seed-registry-")),
    graceMs: 1_000,
    handleSignals: false,
  });
  open.push(c);
  return c;
}

const final = (c: Conductor, id: string) =>
  new Promise<string>((resolve) => {
    const on = (e: { sessionId: string }) => e.sessionId === id && resolve("completed");
    const dead = (e: { sessionId: string }) => e.sessionId === id && resolve("dead");
    c.on("completed", on);
    c.on("dead", dead);
  });
/** Resolves once the session's child has printed `text` to its output log. */
async function printed(c: Conductor, id: string, text: string): Promise<void> {
  const path = c.getSnapshot().find((s) => s.id === id)?.outPath ?? "";
  for (;;) {
    let out = "";
    try {
      out = readFileSync(path, "utf8");
    } catch {
      /* not created yet */
    }
    if (out.includes(text)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("seed conductor-registry: send_input by session id", () => {
  it("routes to the conductor that owns the session; the child gets the text; final → not found", async () => {
    const c = conductor();
    c.spawnSession({ id: "session-input-1", agent: "command", command: ECHO_ONCE });
    // Registered at spawn, with the conductor's own frozen API (10.3.0 registered a null API).
    expect(registry.get("session-input-1")).toBe(c);
    expect(registry.list()).toEqual(["session-input-1"]);
    await printed(c, "session-input-1", "name?");

    const done = final(c, "session-input-1");
    expect(sendInputToConductorSession("session-input-1", "continue please")).toEqual({
      ok: true,
      data: { session_id: "session-input-1", sent: true },
    });
    expect(await done).toBe("completed");
    expect(readFileSync(c.getSnapshot()[0]?.outPath ?? "", "utf8")).toContain("got:continue please");

    // Unregistered when final: the id no longer reaches anything.
    expect(registry.get("session-input-1")).toBeNull();
    expect(sendInputToConductorSession("session-input-1", "hello")).toEqual({
      ok: false,
      error: { code: "CONDUCTOR_SESSION_NOT_FOUND", message: expect.stringContaining("session-input-1") },
    });
  });

  it("two conductors: each id reaches its own owner", async () => {
    const a = conductor();
    const b = conductor();
    a.spawnSession({ id: "on-a", agent: "command", command: ECHO_ONCE });
    b.spawnSession({ id: "on-b", agent: "command", command: ECHO_ONCE });
    expect(registry.get("on-a")).toBe(a);
    expect(registry.get("on-b")).toBe(b);
    await Promise.all([printed(a, "on-a", "name?"), printed(b, "on-b", "name?")]);
    const done = Promise.all([final(a, "on-a"), final(b, "on-b")]);
    expect(sendInputToConductorSession(" on-b ", "bee").ok).toBe(true); // ids are trimmed, as the seed did
    expect(sendInputToConductorSession("on-a", "ay").ok).toBe(true);
    await done;
    expect(readFileSync(a.getSnapshot()[0]?.outPath ?? "", "utf8")).toContain("got:ay");
    expect(readFileSync(b.getSnapshot()[0]?.outPath ?? "", "utf8")).toContain("got:bee");
    expect(registry.list()).toEqual([]);
  });

  it("a killed session is unregistered too", async () => {
    const c = conductor();
    c.spawnSession({ id: "k", agent: "command", command: [NODE, "-e", "setInterval(() => {}, 1000)"] });
    expect(registry.get("k")).toBe(c);
    await c.killSession("k", "test");
    expect(registry.get("k")).toBeNull();
  });

  it("missing session_id or text → INVALID_SEND_INPUT; the owner refusing → SEND_INPUT_FAILED", () => {
    expect(sendInputToConductorSession("", "x").ok).toBe(false);
    expect(sendInputToConductorSession("s", "")).toMatchObject({ ok: false, error: { code: "INVALID_SEND_INPUT" } });
    // Any object with sendInput may own an id (the seed's test registered a plain one).
    const calls: Array<[string, string]> = [];
    registry.register("plain", {
      sendInput: (id, text) => {
        calls.push([id, text]);
        return false;
      },
    });
    expect(sendInputToConductorSession("plain", "hi")).toMatchObject({
      ok: false,
      error: { code: "SEND_INPUT_FAILED" },
    });
    expect(calls).toEqual([["plain", "hi"]]);
  });

  it("regression (10.3.0 defect): the registry always exists and refuses a null API", () => {
    // setConductorRegistry(null) made getConductorRegistry() return null in the seed: here a fresh one.
    setConductorRegistry(null);
    const fresh = getConductorRegistry();
    expect(fresh).not.toBeNull();
    expect(fresh.list()).toEqual([]);
    expect(() => fresh.register("s", null as never)).toThrow(TypeError);
    expect(fresh.get("s")).toBeNull();
    // unregister(id) without an owner removes whoever owns it (seed); with one, only that owner.
    const owner = { sendInput: () => true };
    expect(fresh.register("s", owner)).toBe(true);
    expect(fresh.unregister("s", { sendInput: () => true })).toBe(false);
    expect(fresh.unregister("s")).toBe(true);
  });

  it("a registry swapped while a session lives does not strand its entry", async () => {
    const c = conductor();
    c.spawnSession({ id: "swap", agent: "command", command: ECHO_ONCE });
    const other = createConductorRegistry();
    setConductorRegistry(other);
    await printed(c, "swap", "name?");
    const done = final(c, "swap");
    expect(c.sendInput("swap", "x")).toBe(true);
    await done;
    expect(registry.get("swap")).toBeNull();
    expect(other.list()).toEqual([]);
  });
});
