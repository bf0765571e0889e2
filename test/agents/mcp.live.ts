/**
 * `mcpServers` with each real CLI that takes them on its command line (claude `--mcp-config <json>`,
 * codex `-c mcp_servers.<name>.…`; gemini reads them from its settings.json only, refused up front):
 * the CLI must start the server and speak MCP to it (the fixture logs every method it receives),
 * and the session's L2 heartbeat (`mcpHeartbeat`) must find it running in the agent's tree while the
 * run lasts. Part of `npm run test:agents` (loopback-only namespace, the fake API).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { pidsWithCmdline } from "../helpers/marked.js";
import type { Cli } from "./agent-env.js";
import { liveSuite, sessionEnd } from "./live-suite.js";
import { tuiRun, until } from "./tui-run.js";

const SERVER = fileURLToPath(new URL("../fixtures/mcp-server.mjs", import.meta.url));

describe("mcpServers: the real CLI starts the server, and the L2 heartbeat sees it", () => {
  const live = liveSuite();

  test.each(["claude", "codex"] as const)(
    "%s: the server is initialized by the CLI, L2 is ok while the run lasts, the run completes, nothing is left",
    async (cli: Cli) => {
      // The answer streams for 16 s: heartbeat rounds (every second) happen while the run lasts.
      const { root, dirs, env, marker } = tuiRun(cli, "mcp", live.api(), "slow-16");
      const methods = join(root, "mcp-methods.log");
      const c = live.conductor(root);
      const id = `${cli}-mcp`;
      const l2: { ok: boolean; reason: string }[] = [];
      c.on("probe", (e) => e.sessionId === id && e.level === "l2" && l2.push({ ok: e.ok, reason: e.reason }));
      const done = sessionEnd(c, id);
      c.spawnSession(
        live.preset(
          cli,
          id,
          { dirs, env },
          {
            mcpServers: { fixture: { command: process.execPath, args: [SERVER, "stdio", methods] } },
            probeOpts: {
              mcpHeartbeat: true,
              mcpHeartbeatIntervalMs: 1_000,
              // The CLI starts its servers after its own start-up (seconds for these Node CLIs, more under load).
              mcpHeartbeatTimeoutMs: 60_000,
              startupTimeoutMs: 120_000,
            },
          },
        ),
      );
      try {
        const said = () => (existsSync(methods) ? readFileSync(methods, "utf8").split("\n").filter(Boolean) : []);
        await until(
          `${cli} to initialize the MCP server`,
          () => (said().includes("initialize") ? true : undefined),
          120_000,
        );
        await until(`an l2 verdict of ok`, () => (l2.some((v) => v.ok) ? true : undefined), 60_000);
        expect(await done).toBe("completed");
        expect(said()).toContain("notifications/initialized");
        // Every verdict once the server was up was ok: no failure while the run lasted.
        const firstOk = l2.findIndex((v) => v.ok);
        expect(l2.slice(firstOk).filter((v) => !v.ok)).toEqual([]);
      } finally {
        // The server was the CLI's child: gone with the run's tree. codex starts its servers with an
        // environment of its own (no marker): found by their argv, which names this run's log.
        const left = await live.close(c, marker);
        const servers = pidsWithCmdline(methods);
        for (const pid of servers) process.kill(pid, "SIGKILL");
        expect(left.map((p) => p.args)).toEqual([]);
        expect(servers).toEqual([]);
      }
    },
    420_000,
  );
});
