/**
 * Session options that act only beside another (`leaseWaitMs` needs `account`, the MCP heartbeat
 * needs `mcpServers`) were accepted alone and did nothing: now refused, at the call and in a file.
 */
import { describe, expect, it } from "vitest";
import { validateSpawnConfig } from "../src/conductor-options.js";
import { parseRunConfig } from "../src/config.js";
import { ConfigError, OptionsError } from "../src/errors.js";

const codex = { id: "s", agent: "codex", prompt: "p" } as const;
const servers = { files: { command: "npx" } };

function issuesOf(run: () => unknown) {
  try {
    run();
  } catch (e) {
    if (e instanceof ConfigError) return { error: e, issues: e.issues };
    throw e;
  }
  throw new Error("not refused");
}

describe("spawnSession: options that need a companion", () => {
  it("leaseWaitMs without account is refused, saying to add one", () => {
    const { error, issues } = issuesOf(() => validateSpawnConfig({ ...codex, leaseWaitMs: 5_000 }));
    expect(error).toBeInstanceOf(OptionsError);
    expect(error.code).toBe("INVALID_OPTIONS");
    expect(issues).toEqual([
      {
        path: "leaseWaitMs",
        problem: 'bounds the wait for an account, and this session leases none: add "account", or remove leaseWaitMs',
        example: '"account": true, "leaseWaitMs": 5000',
      },
    ]);
    expect(() => validateSpawnConfig({ ...codex, account: true, leaseWaitMs: 5_000 })).not.toThrow();
  });

  it("the MCP heartbeat and its tuning, in either spelling, without mcpServers are refused", () => {
    const probeOpts = { mcpHeartbeat: true, mcpHeartbeatIntervalMs: 1_000, probeTimeoutMs: 2_000 };
    const { issues } = issuesOf(() => validateSpawnConfig({ ...codex, probeOpts }));
    expect(issues.map((i) => i.path)).toEqual([
      "probeOpts.mcpHeartbeat",
      "probeOpts.mcpHeartbeatIntervalMs",
      "probeOpts.probeTimeoutMs",
    ]);
    expect(issues[0]?.problem).toMatch(/checks the session's "mcpServers", and this session has none/);
    expect(issues[0]?.example).toBe(
      '"mcpServers": { "files": { "command": "npx", "args": ["-y", "@acme/files-mcp"] } }',
    );
    const seed = issuesOf(() => validateSpawnConfig({ ...codex, probeOpts: { enableL2: true } })).issues;
    expect(seed.map((i) => i.path)).toEqual(["probeOpts.enableL2"]);
    // `false` asks for what runs (no heartbeat); with servers everything is taken.
    expect(() => validateSpawnConfig({ ...codex, probeOpts: { mcpHeartbeat: false } })).not.toThrow();
    expect(() => validateSpawnConfig({ ...codex, mcpServers: servers, probeOpts })).not.toThrow();
  });
});

describe("config file: the same refusal per session, conductor-wide defaults still free", () => {
  it("a session's leaseWaitMs without account and probe.mcpHeartbeat without mcpServers", () => {
    const session = { ...codex, leaseWaitMs: 1_000, probe: { mcpHeartbeat: true } };
    const { error, issues } = issuesOf(() => parseRunConfig({ sessions: [session] }, "c.json"));
    expect(error.code).toBe("INVALID_CONFIG");
    expect(issues.map((i) => i.path)).toEqual(["sessions[0].leaseWaitMs", "sessions[0].probe.mcpHeartbeat"]);
    expect(error.message).toContain('Example: "account": true, "leaseWaitMs": 1000');
  });

  it("top-level leaseWaitMs and probe.mcpHeartbeat are defaults for every session: accepted", () => {
    const config = { leaseWaitMs: 1_000, probe: { mcpHeartbeat: true }, sessions: [codex] };
    expect(() => parseRunConfig(config, "c.json")).not.toThrow();
  });
});
