/**
 * L2: the agent's MCP servers answer a heartbeat. One round every `intervalMs` while a run lasts,
 * its verdict sent to the session as `PROBE.L2` (ok only when every server passed).
 *
 * - stdio server: the agent starts it as its own child and owns its stdin/stdout, so nobody else can
 *   speak JSON-RPC to it. Its heartbeat is what can be seen from outside: a process of the agent's
 *   tree runs its command line, and is not stopped (a SIGSTOPped or traced server cannot answer).
 *   The agent starts its servers after it starts: one not seen yet is no verdict (l2 stays pending)
 *   for the first `timeoutMs` of the run, then fails as `not_started`.
 * - URL server (MCP Streamable HTTP): `initialize` once (keeping the `Mcp-Session-Id` it may give),
 *   then a JSON-RPC `ping` each round; a JSON-RPC answer with our id within `timeoutMs` passes (an
 *   error object too: the server answered). The reply may be JSON or an SSE stream (spec 2025-06-18).
 */
import { basename } from "node:path";
import { fromCallback } from "xstate";
import type { McpHeartbeatInput, McpHeartbeatTarget, McpProbeEvent } from "../machines/session.types.js";
import { readProcFiles, snapshotProcesses } from "./process-table.js";

const PROTOCOL_VERSION = "2025-06-18";

interface RoundResult {
  name: string;
  ok: boolean;
  reason: string;
}

/** A stdio server's reasons for being gone (checkStdio). */
const GONE = new Set(["not_running", "exited"]);
/** How soon a server gone since the last round is looked at again (at most the interval). */
const GONE_RECHECK_MS = 2_000;

export function createMcpHeartbeatLogic() {
  return fromCallback<McpProbeEvent, McpHeartbeatInput>(({ input, sendBack }) => {
    const stop = new AbortController();
    const sessions = new Map<string, string | null>(); // URL server name → Mcp-Session-Id (null: none given)
    let timer: NodeJS.Timeout | undefined;
    let nextId = 1;
    const startedAt = Date.now();
    const seen = new Set<string>(); // stdio servers seen running in this run
    const doubted = new Set<string>(); // seen, then gone at the last round: failed if still gone at the next

    const round = async () => {
      const stdio = input.servers.filter((s) => s.kind === "stdio");
      const tree = stdio.length > 0 ? await agentTree(input.pid) : new Map<number, ProcLine>();
      const results = await Promise.all(
        input.servers.map((s) =>
          s.kind === "stdio" ? checkStdio(s, tree) : checkHttp(s, input.timeoutMs, sessions, () => nextId++, stop),
        ),
      );
      if (stop.signal.aborted) return;
      for (const r of results) {
        if (r.reason !== "running") continue;
        seen.add(r.name);
        doubted.delete(r.name);
      }
      // A server seen before and gone now is looked at again soon before it fails the round: a CLI
      // stops its servers as it ends, and a round in that window failed a run that was completing
      // (test/agents/mcp.live.ts, claude and codex). The run's end stops this actor: no verdict then.
      const gone = results.filter((r) => GONE.has(r.reason) && seen.has(r.name) && !doubted.has(r.name));
      if (gone.length > 0) {
        for (const r of gone) doubted.add(r.name);
        timer = setTimeout(() => void round(), Math.min(input.intervalMs, GONE_RECHECK_MS));
        return;
      }
      const unseen = results.filter((r) => r.reason === "not_running" && !seen.has(r.name));
      const young = Date.now() - startedAt < input.timeoutMs;
      if (unseen.length > 0 && young) {
        timer = setTimeout(() => void round(), input.intervalMs);
        return;
      }
      for (const r of unseen) r.reason = "not_started";
      const failed = results.filter((r) => !r.ok);
      const reason = failed.length
        ? `mcp_fail:${failed.map((r) => `${r.name}=${r.reason}`).join(",")}`
        : `mcp_ok:${results.map((r) => r.name).join(",")}`;
      sendBack({ type: "PROBE.L2", generation: input.generation, ok: failed.length === 0, reason });
      timer = setTimeout(() => void round(), input.intervalMs);
    };
    // The first round waits one interval: the agent needs that long to start its servers.
    timer = setTimeout(() => void round(), input.intervalMs);
    return () => {
      stop.abort();
      clearTimeout(timer);
    };
  });
}

interface ProcLine {
  state: string;
  argv: string[];
}

/** The agent and every descendant: pid → state and argv (from /proc). */
async function agentTree(root: number): Promise<Map<number, ProcLine>> {
  const table = await snapshotProcesses();
  const children = new Map<number, number[]>();
  for (const p of table.values()) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const pids: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    if (!table.has(pid)) continue;
    pids.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  const cmdlines = await readProcFiles(pids, "cmdline");
  const tree = new Map<number, ProcLine>();
  for (const pid of pids) {
    const argv = (cmdlines.get(pid) ?? "").split("\0").filter((a, i, all) => a !== "" || i < all.length - 1);
    tree.set(pid, { state: table.get(pid)?.state ?? "?", argv });
  }
  return tree;
}

/**
 * The server's command line: some element is the command (by base name: `npx` is `/usr/bin/npx` run
 * by node, a script is run by its interpreter) and the configured args follow it exactly.
 */
export function runsServer(argv: readonly string[], s: { command: string; args: readonly string[] }): boolean {
  const name = basename(s.command);
  for (let i = 0; i < argv.length; i++) {
    if (basename(argv[i] ?? "") !== name) continue;
    const rest = argv.slice(i + 1);
    if (rest.length === s.args.length && rest.every((a, j) => a === s.args[j])) return true;
  }
  return false;
}

function checkStdio(s: Extract<McpHeartbeatTarget, { kind: "stdio" }>, tree: Map<number, ProcLine>): RoundResult {
  const found = [...tree.values()].filter((p) => runsServer(p.argv, s));
  const live = found.filter((p) => p.state !== "Z" && p.state !== "X");
  if (live.length === 0) return { name: s.name, ok: false, reason: found.length ? "exited" : "not_running" };
  // T: stopped by a signal, t: stopped by a tracer; either way it answers nothing.
  if (live.every((p) => p.state === "T" || p.state === "t")) return { name: s.name, ok: false, reason: "stopped" };
  return { name: s.name, ok: true, reason: "running" };
}

async function checkHttp(
  s: Extract<McpHeartbeatTarget, { kind: "http" }>,
  timeoutMs: number,
  sessions: Map<string, string | null>,
  id: () => number,
  stop: AbortController,
): Promise<RoundResult> {
  const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(timeoutMs)]);
  try {
    if (!sessions.has(s.name)) {
      const init = await rpc(s.url, null, id(), "initialize", signal, {
        protocolVersion: PROTOCOL_VERSION,
        capabilities: {},
        clientInfo: { name: "statechart-conductor-heartbeat", version: "1" },
      });
      if (!init.answered) return { name: s.name, ok: false, reason: init.reason };
      sessions.set(s.name, init.session);
      await notify(s.url, init.session, "notifications/initialized", signal);
    }
    const session = sessions.get(s.name) ?? null;
    const ping = await rpc(s.url, session, id(), "ping", signal);
    // 404 on a session: it expired (the server restarted); initialize again next round.
    if (ping.status === 404 && session) sessions.delete(s.name);
    return ping.answered
      ? { name: s.name, ok: true, reason: "pong" }
      : { name: s.name, ok: false, reason: ping.reason };
  } catch (err) {
    const e = err as Error;
    const timedOut = e.name === "TimeoutError" || (e.name === "AbortError" && !stop.signal.aborted);
    return { name: s.name, ok: false, reason: timedOut ? `no_answer_within_${timeoutMs}ms` : "unreachable" };
  }
}

const headers = (session: string | null) => ({
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
  "mcp-protocol-version": PROTOCOL_VERSION,
  ...(session ? { "mcp-session-id": session } : {}),
});

async function rpc(
  url: string,
  session: string | null,
  id: number,
  method: string,
  signal: AbortSignal,
  params?: Record<string, unknown>,
): Promise<{ answered: boolean; reason: string; status: number; session: string | null }> {
  const body = JSON.stringify({ jsonrpc: "2.0", id, method, ...(params ? { params } : {}) });
  const res = await fetch(url, { method: "POST", headers: headers(session), body, signal });
  const text = await res.text();
  const given = res.headers.get("mcp-session-id");
  const answer = jsonRpcAnswer(text, res.headers.get("content-type") ?? "", id);
  if (answer) return { answered: true, reason: "answered", status: res.status, session: given ?? session };
  return { answered: false, reason: `http_${res.status}`, status: res.status, session: given ?? session };
}

async function notify(url: string, session: string | null, method: string, signal: AbortSignal): Promise<void> {
  const body = JSON.stringify({ jsonrpc: "2.0", method });
  await (await fetch(url, { method: "POST", headers: headers(session), body, signal })).text();
}

/** The JSON-RPC response with our id, from a JSON body or from the `data:` lines of an SSE stream. */
export function jsonRpcAnswer(text: string, contentType: string, id: number): Record<string, unknown> | null {
  const candidates = contentType.includes("text/event-stream")
    ? text
        .split(/\r?\n/)
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).trim())
    : [text];
  for (const c of candidates) {
    try {
      const parsed = JSON.parse(c) as unknown;
      for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
        const msg = m as Record<string, unknown>;
        if (msg?.jsonrpc === "2.0" && msg.id === id && ("result" in msg || "error" in msg)) return msg;
      }
    } catch {
      /* not JSON: not an answer */
    }
  }
  return null;
}
