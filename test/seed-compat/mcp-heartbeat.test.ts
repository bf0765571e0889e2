/**
 * L2, the MCP heartbeat of later seed releases (`probeOpts.enableL2`, `l2ThresholdMs`, `probeTimeoutMs`),
 * against real MCP servers (test/fixtures/mcp-server.mjs, loopback only) and a real agent process that
 * starts its stdio servers itself (test/fixtures/mcp-agent.mjs, run as the claude preset's `bin`).
 * A stdio server's heartbeat: running in the agent's tree and not stopped. A URL server's: a JSON-RPC
 * `ping` answered over HTTP. Policy: a failing heartbeat is reported (health.l2, onProbe, event probe,
 * the event log) and the session goes on; acting on it is the embedder's call (here: restartSession).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runsServer } from "../../actors/mcp-heartbeat.js";
import { type Conductor, createConductor, type ProbeVerdict, planLaunch, readEventLog } from "../../src/index.js";

const NODE = process.execPath;
const SERVER = resolve("test/fixtures/mcp-server.mjs");
const AGENT = resolve("test/fixtures/mcp-agent.mjs");

const open: Conductor[] = [];
const servers: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.shutdown("test_end")));
  for (const s of servers.splice(0)) s.kill("SIGKILL");
});

function conductor(onProbe: (v: ProbeVerdict) => void): Conductor {
  const c = createConductor({
    logsDir: mkdtempSync(join(tmpdir(), "seed-mcp-")),
    graceMs: 1_000,
    handleSignals: false,
    probeOpts: { enableL2: true, l2ThresholdMs: 250, probeTimeoutMs: 2_000, onProbe },
  });
  open.push(c);
  return c;
}

/** A session of the fake agent (the claude preset's argv, `--mcp-config` included) with these servers. */
const agentSession = (c: Conductor, id: string, mcpServers: Record<string, unknown>) =>
  c.spawnSession({
    id,
    agent: "claude",
    prompt: "use the tools",
    bin: AGENT,
    approvals: "prompt",
    output: "text",
    mcpServers: mcpServers as never,
  });

/** Resolves with the first l2 verdict after `after` (a verdict already seen) that `pred` accepts. */
function l2Verdict(
  verdicts: ProbeVerdict[],
  pred: (v: ProbeVerdict) => boolean,
  after?: ProbeVerdict,
): Promise<ProbeVerdict> {
  return new Promise((resolve) => {
    const tick = () => {
      const from = after ? verdicts.indexOf(after) + 1 : 0;
      const hit = verdicts.slice(from).find((v) => v.level === "l2" && pred(v));
      if (hit) resolve(hit);
      else setTimeout(tick, 20);
    };
    tick();
  });
}

/** Processes under `root` (the session's pid: the pty shim or the agent) whose command line runs `args`. */
function serversUnder(root: number, args: string[]): number[] {
  const procs = readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .flatMap((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, "latin1");
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        const argv = readFileSync(`/proc/${name}/cmdline`, "latin1").split("\0").slice(0, -1);
        return [{ pid: Number(name), ppid, argv }];
      } catch {
        return []; // gone meanwhile
      }
    });
  const under = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) if (under.has(p.ppid) && !under.has(p.pid)) grew = Boolean(under.add(p.pid));
  }
  return procs.filter((p) => under.has(p.pid) && runsServer(p.argv, { command: NODE, args })).map((p) => p.pid);
}

async function httpServer(hangAfter?: number): Promise<string> {
  const portFile = join(mkdtempSync(join(tmpdir(), "seed-mcp-port-")), "port");
  const args = [SERVER, "http", portFile, ...(hangAfter === undefined ? [] : [String(hangAfter)])];
  servers.push(spawn(NODE, args, { stdio: "ignore" }));
  while (!existsSync(portFile) || readFileSync(portFile, "utf8") === "") await new Promise((r) => setTimeout(r, 20));
  return `http://127.0.0.1:${readFileSync(portFile, "utf8")}/mcp`;
}

describe("L2: stdio MCP servers (children of the agent)", () => {
  it("ok while the server runs; stopped → fail (session goes on); continued → ok; gone → fail", async () => {
    const verdicts: ProbeVerdict[] = [];
    const c = conductor((v) => verdicts.push(v));
    const args = [SERVER, "stdio"];
    agentSession(c, "stdio", { files: { command: NODE, args } });
    expect(c.getSnapshot()[0]?.health.l2).toBe("pending");

    // The agent starts its server after it starts: no verdict before it is seen (no false alarm).
    const ok = await l2Verdict(verdicts, () => true);
    expect(ok.ok).toBe(true);
    expect(ok).toMatchObject({ sessionId: "stdio", reason: "mcp_ok:files" });
    expect(c.getSnapshot()[0]?.health.l2).toBe("ok");

    const agentPid = c.getSnapshot()[0]?.pid ?? 0;
    const [server] = serversUnder(agentPid, args);
    expect(server).toBeGreaterThan(0);
    process.kill(server as number, "SIGSTOP");
    const stopped = await l2Verdict(verdicts, (v) => !v.ok, ok);
    expect(stopped.reason).toBe("mcp_fail:files=stopped");
    const snap = c.getSnapshot()[0];
    expect(snap?.health.l2).toBe("fail");
    expect(snap?.state).toBe("healthy"); // reported, not acted on

    process.kill(server as number, "SIGCONT");
    const again = await l2Verdict(verdicts, (v) => v.ok, stopped);
    process.kill(server as number, "SIGKILL");
    const gone = await l2Verdict(verdicts, (v) => !v.ok, again);
    expect(gone.reason).toMatch(/^mcp_fail:files=(not_running|exited)$/);
    expect(c.getSnapshot()[0]?.state).toBe("healthy");

    // Each change is one event-log line; verdicts are sent on change, not every round.
    const lines = (await readEventLog(c.eventLogPath)).filter((l) => l.event === "session.mcp_probe");
    expect(lines.map((l) => l.l2)).toEqual(["ok", "fail", "ok", "fail"]);
  });
});

describe("L2: URL MCP servers (JSON-RPC ping over HTTP on 127.0.0.1)", () => {
  it("ok while it answers; a server that stops answering → fail within the timeout; the embedder may restart", async () => {
    const url = await httpServer(2);
    const verdicts: ProbeVerdict[] = [];
    let restarted = false;
    const c = conductor((v) => {
      verdicts.push(v);
      // The documented recipe: act on an L2 failure yourself, once here.
      if (v.level === "l2" && !v.ok && !restarted) {
        restarted = true;
        c.restartSession(v.sessionId).catch(() => undefined); // refused once the test shuts down
      }
    });
    agentSession(c, "web", { web: { url } });
    const first = await l2Verdict(verdicts, () => true);
    expect(first, JSON.stringify(verdicts)).toMatchObject({ ok: true, reason: "mcp_ok:web" });
    const hung = await l2Verdict(verdicts, (v) => !v.ok, first);
    expect(hung.reason).toBe("mcp_fail:web=no_answer_within_2000ms");
    await expect.poll(() => c.getSnapshot()[0]?.restarts, { timeout: 30_000 }).toBe(1);
    // The new run starts its heartbeat again: pending until its first round.
    expect(["pending", "ok", "fail"]).toContain(c.getSnapshot()[0]?.health.l2);
  });

  it("an unreachable URL fails the round", async () => {
    const url = await httpServer();
    servers[0]?.kill("SIGKILL");
    await new Promise((r) => servers[0]?.once("exit", r));
    const verdicts: ProbeVerdict[] = [];
    const c = conductor((v) => verdicts.push(v));
    agentSession(c, "down", { web: { url } });
    expect((await l2Verdict(verdicts, () => true)).reason).toBe("mcp_fail:web=unreachable");
  });
});

describe("L2 without a heartbeat", () => {
  it("l2 is skip when mcpHeartbeat is off, even with servers", () => {
    const c = createConductor({ logsDir: mkdtempSync(join(tmpdir(), "seed-mcp-")), handleSignals: false });
    open.push(c);
    agentSession(c, "off", { files: { command: NODE, args: [SERVER, "stdio"] } });
    expect(c.getSnapshot()[0]?.health.l2).toBe("skip");
  });

  it("runsServer: the command by base name, then exactly its args", () => {
    expect(runsServer(["/usr/bin/node", "/usr/bin/npx", "-y", "pkg"], { command: "npx", args: ["-y", "pkg"] })).toBe(
      true,
    );
    expect(runsServer(["node", "srv.mjs", "stdio"], { command: "node", args: ["srv.mjs", "stdio"] })).toBe(true);
    expect(runsServer(["node", "srv.mjs", "stdio", "x"], { command: "node", args: ["srv.mjs", "stdio"] })).toBe(false);
    expect(runsServer(["python", "srv.py"], { command: "node", args: ["srv.py"] })).toBe(false);
  });
});

describe("URL servers reach the agent's command line", () => {
  it("claude: --mcp-config with type http; codex: -c mcp_servers.<name>.url", () => {
    const url = "http://127.0.0.1:8931/mcp";
    const claude = planLaunch({ agent: "claude", prompt: "x", approvals: "prompt", mcpServers: { web: { url } } });
    const config = claude.argv[claude.argv.indexOf("--mcp-config") + 1] ?? "";
    expect(JSON.parse(config)).toEqual({ mcpServers: { web: { type: "http", url } } });
    const codex = planLaunch({ agent: "codex", prompt: "x", mcpServers: { web: { url } } });
    expect(codex.argv).toContain(`mcp_servers.web.url=${JSON.stringify(url)}`);
  });
});
