/**
 * The seed's conductor, in the seed's spelling, through our public API: errors as the seed worded
 * them, the seed's probe option names (l1ThresholdMs, l3ThresholdMs, enableL2) reaching the
 * statechart, onProbe verdicts, the snapshot's seed fields, and the mesh bridge over a session's life.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  type Conductor,
  ConductorError,
  createConductor,
  createMeshRegistry,
  type MeshMessage,
  type ProbeVerdict,
  STATES,
} from "../../src/index.js";

const NODE = process.execPath;
const open: Conductor[] = [];
function conductor(extra: Record<string, unknown> = {}): Conductor {
  const c = createConductor({
    logsDir: mkdtempSync(join(tmpdir(), "seed-conductor-")),
    graceMs: 1_000,
    handleSignals: false,
    ...extra,
  });
  open.push(c);
  return c;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.shutdown("test_end")));
});

const thrown = (fn: () => unknown): ConductorError => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConductorError);
    return e as ConductorError;
  }
  throw new Error("expected a throw");
};

function policyOf(c: Conductor, id: string): Record<string, unknown> {
  const ref = c.actor.system.get(`session:${id}`);
  if (!ref) throw new Error(`no session actor ${id}`);
  return (ref.getSnapshot().context as { policy: Record<string, unknown> }).policy;
}

describe("seed errors", () => {
  it('spawnSession({}) → "agent is required"', () => {
    expect(thrown(() => conductor().spawnSession({} as never)).message).toMatch(/agent is required/);
    expect(thrown(() => conductor().spawnSession({ id: "a" } as never)).message).toMatch(/agent is required/);
  });

  it('unknown agent → "Unknown agent: X (expected one of codex, gemini, claude, command)"', () => {
    const e = thrown(() => conductor().spawnSession({ id: "a", agent: "cursor", prompt: "x" } as never));
    expect(e.message).toContain("Unknown agent: cursor (expected one of codex, gemini, claude, command)");
    expect(e.field).toBe("agent");
    // A near miss also says which agent was meant, once, without doubled punctuation.
    const near = thrown(() => conductor().spawnSession({ id: "a", agent: "codx", prompt: "x" } as never));
    expect(near.message).toContain('did you mean "codex"? Example');
  });

  it("a remote session without host and a duplicate id are refused as in the seed", () => {
    const c = conductor();
    expect(
      thrown(() => c.spawnSession({ id: "r", agent: "command", command: ["true"], remote: true })).message,
    ).toMatch(/host is required for remote sessions/);
    c.spawnSession({ id: "d", agent: "command", command: [NODE, "-e", "setTimeout(() => {}, 5000)"] });
    expect(thrown(() => c.spawnSession({ id: "d", agent: "command", command: ["true"] })).message).toMatch(
      /already exists/,
    );
  });

  it("STATES is the seed's frozen set of nine", () => {
    expect(Object.isFrozen(STATES)).toBe(true);
    expect(Object.values(STATES).sort()).toEqual(
      ["completed", "dead", "failed", "healthy", "init", "input_wait", "restarting", "stalled", "starting"].sort(),
    );
  });
});

describe("seed probe option names", () => {
  it("l1ThresholdMs and l3ThresholdMs reach the statechart as stallMs and startupTimeoutMs", () => {
    const c = conductor({ probeOpts: { intervalMs: 5_000, l1ThresholdMs: 700, l3ThresholdMs: 9_000 } });
    c.spawnSession({ id: "p", agent: "command", command: [NODE, "-e", "setTimeout(() => {}, 5000)"] });
    expect(policyOf(c, "p")).toMatchObject({ stallMs: 700, startupTimeoutMs: 9_000 });
    // A session's own seed names win over the conductor's.
    c.spawnSession({
      id: "q",
      agent: "command",
      command: [NODE, "-e", "setTimeout(() => {}, 5000)"],
      probeOpts: { l1ThresholdMs: 1_234 },
    });
    expect(policyOf(c, "q")).toMatchObject({ stallMs: 1_234, startupTimeoutMs: 9_000 });
  });

  it("both spellings with different values are an error naming both; equal values are fine", () => {
    const e = thrown(() => conductor({ probeOpts: { l1ThresholdMs: 500, stallMs: 600 } }));
    expect(e.message).toMatch(/l1ThresholdMs.*conflicts with stallMs \(500 vs 600\)/);
    expect(thrown(() => conductor({ probeOpts: { l3ThresholdMs: 1, startupTimeoutMs: 2 } })).message).toMatch(
      /conflicts with startupTimeoutMs/,
    );
    expect(thrown(() => conductor({ probeOpts: { enableL2: true, mcpHeartbeat: false } })).message).toMatch(
      /enableL2.*conflicts with mcpHeartbeat/,
    );
    expect(() => conductor({ probeOpts: { l1ThresholdMs: 500, stallMs: 500 } })).not.toThrow();
  });

  it("enableL2: l2 is 'skip' without MCP servers (the seed's value); on a remote session it is refused, not ignored", () => {
    const c = conductor({ probeOpts: { enableL2: true } });
    c.spawnSession({ id: "l2", agent: "command", command: [NODE, "-e", "setTimeout(() => {}, 5000)"] });
    expect(c.getSnapshot()[0]?.health.l2).toBe("skip");
    // The heartbeat itself: test/seed-compat/mcp-heartbeat.test.ts. A remote agent's servers run on its host.
    const e = thrown(() =>
      c.spawnSession({
        id: "mcp",
        agent: "claude",
        prompt: "x",
        approvals: "prompt",
        remote: true,
        host: "box",
        mcpServers: { hub: { command: "hub-server" } },
      }),
    );
    expect(e.code).toBe("OPTION_NOT_SUPPORTED");
    expect(e.field).toBe("probeOpts.enableL2");
    expect(c.sessionCount).toBe(1);
  });

  it("a stall at l1ThresholdMs (not the 30 s default), reported to onProbe and as event probe", async () => {
    const verdicts: ProbeVerdict[] = [];
    const c = conductor({
      probeOpts: { l1ThresholdMs: 300, inputQuietMs: 60_000, onProbe: (v: ProbeVerdict) => verdicts.push(v) },
    });
    const events: string[] = [];
    c.on("probe", (v) => events.push(`${v.level}:${v.ok}:${v.reason}`));
    const stalled = new Promise<void>((r) => c.on("stateChange", (e) => e.to === "stalled" && r()));
    c.spawnSession({
      id: "quiet",
      agent: "command",
      command: [NODE, "-e", "console.log('working'); setTimeout(() => {}, 60000)"],
    });
    await stalled;
    const seen = verdicts.map((v) => `${v.level}:${v.ok}:${v.reason}`);
    expect(seen).toEqual(["l0:true:spawned", "l3:true:first_output", "l1:false:L1_stall"]);
    expect(events).toEqual(seen);
    expect(verdicts[0]).toMatchObject({ sessionId: "quiet" });
    expect(typeof verdicts[0]?.at).toBe("number");
    expect(c.getSnapshot()[0]?.health).toMatchObject({ l0: "ok", l1: "stall", l2: "skip", l3: "ok" });
  });
});

describe("seed snapshot", () => {
  it("every field the seed returned, with the seed's types", () => {
    const c = conductor();
    const before = Date.now();
    c.spawnSession({ id: "s", agent: "command", command: [NODE, "-e", "setTimeout(() => {}, 5000)"] });
    const [s] = c.getSnapshot();
    for (const key of ["id", "agent", "state", "pid", "remote", "host", "restarts", "health", "outPath", "errPath"])
      expect(s).toHaveProperty(key);
    expect(typeof s?.createdAt).toBe("number");
    expect(s?.createdAt).toBeGreaterThanOrEqual(before - 1);
    expect(new Date(s?.createdAtIso ?? "").getTime()).toBe(s?.createdAt);
    expect(s).toMatchObject({ id: "s", agent: "command", remote: false, host: null, restarts: 0 });
  });
});

describe("seed mesh bridge over a session's life", () => {
  it("registered while alive, unregistered on dead, no mesh message after shutdown", async () => {
    const mesh = createMeshRegistry();
    const messages: MeshMessage[] = [];
    mesh.subscribe((m) => messages.push(m));
    const c = conductor({ meshRegistry: mesh, maxRestarts: 0 });
    const dead = new Promise<void>((r) => c.on("dead", () => r()));
    const alive: string[][] = [];
    c.on("stateChange", (e) => e.to === "healthy" && alive.push(mesh.discover("session")));
    c.spawnSession({ id: "crash", agent: "command", command: [NODE, "-e", "console.log('x'); process.exit(3)"] });
    await dead;
    expect(alive).toEqual([["session:crash"]]);
    expect(mesh.getAgent("session:crash")).toBeNull();
    expect(messages.filter((m) => m.type === "dead").map((m) => m.from)).toEqual(["session:crash"]);

    // A live session at shutdown: its agent is removed and nothing reaches the mesh afterwards.
    const healthy = new Promise<void>((r) =>
      c.on("stateChange", (e) => e.sessionId === "live" && e.to === "healthy" && r()),
    );
    c.spawnSession({
      id: "live",
      agent: "command",
      command: [NODE, "-e", "console.log('up'); setInterval(() => {}, 1e6)"],
    });
    await healthy;
    expect(mesh.discover("session")).toEqual(["session:live"]);
    await c.shutdown("test");
    const after = messages.length;
    expect(mesh.discover("session")).toEqual([]);
    // Events the conductor might still emit (a late listener call) no longer reach the mesh.
    await new Promise((r) => setTimeout(r, 200));
    expect(messages.length).toBe(after);
    expect(messages.some((m) => m.type === "stateChange" && (m.payload as { to: string }).to === "dead")).toBe(true);
  });
});
