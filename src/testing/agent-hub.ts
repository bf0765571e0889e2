/**
 * The controlling side of a scripted test agent: agents connect to a unix socket (path in
 * their environment), say hello with their session id and attempt, then do what they are told.
 * Protocol, one JSON object a line — to the agent: {"op":"print"|"ask","text"} | {"op":"exit","code"};
 * from it: {"ev":"hello","session","attempt","pid"} | {"ev":"input","data"}.
 * `SCRIPTED_AGENT` is such an agent, shipped with the package: run it with node as the session's
 * command, with SCRIPTED_AGENT_SOCKET=hub.path in its environment (the session id and attempt it
 * says hello with are the CONDUCTOR_SESSION_ID and CONDUCTOR_ATTEMPT every child gets).
 */
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Path of the scripted agent (`node <path>`): it does only what the hub, or SCRIPTED_AGENT_PLAN, says. */
export const SCRIPTED_AGENT = fileURLToPath(new URL("./scripted-agent.mjs", import.meta.url));

export interface AgentHub {
  /** Put this in the agent's environment as SCRIPTED_AGENT_SOCKET. */
  readonly path: string;
  listen(): Promise<void>;
  close(): Promise<void>;
  /** Resolves when agent `<session>#<attempt>` has connected (it is running, its tty raw). */
  ready(agent: string): Promise<void>;
  send(agent: string, command: { op: "print" | "ask"; text: string } | { op: "exit"; code: number }): Promise<void>;
  /** The next line the agent received on its terminal. */
  input(agent: string): Promise<string>;
}

interface Conn {
  sock: Socket;
  inputs: string[];
  wake?: () => void;
}

export function createAgentHub(dir: string, opts: { timeoutMs?: number } = {}): AgentHub {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const path = join(dir, "agents.sock");
  const conns = new Map<string, Conn>();
  const arrivals = new Map<string, () => void>();
  /** Every connection, said hello or not: `close` ends them all (server.close waits for each). */
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    let buf = "";
    let key = "";
    sock.on("data", (d) => {
      buf += d.toString("utf8");
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        const msg = JSON.parse(buf.slice(0, i)) as { ev: string; session?: string; attempt?: number; data?: string };
        buf = buf.slice(i + 1);
        if (msg.ev === "hello") {
          key = `${msg.session}#${msg.attempt}`;
          conns.set(key, { sock, inputs: [] });
          arrivals.get(key)?.();
        } else if (msg.ev === "input") {
          const c = conns.get(key);
          if (!c) continue;
          c.inputs.push(msg.data ?? "");
          c.wake?.();
        }
      }
    });
    sock.on("error", () => {}); // an agent killed mid-write is normal here
  });
  /** Event-driven wait with a deadline (no polling loop left behind). */
  const until = async <T>(what: string, get: () => T | undefined, arm: (wake: () => void) => void): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = get();
      if (v !== undefined) return v;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        arm(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  };
  const conn = (agent: string) =>
    until(
      `agent ${agent} to connect`,
      () => conns.get(agent),
      (w) => arrivals.set(agent, w),
    );
  return {
    path,
    listen: () => new Promise<void>((r) => server.listen(path, r)),
    close: () =>
      new Promise<void>((r) => {
        for (const sock of sockets) sock.destroy();
        server.close(() => r());
      }),
    ready: async (agent) => void (await conn(agent)),
    async send(agent, command) {
      (await conn(agent)).sock.write(`${JSON.stringify(command)}\n`);
    },
    async input(agent) {
      const c = await conn(agent);
      return until(
        `input to reach agent ${agent}`,
        () => c.inputs.shift(),
        (w) => (c.wake = w),
      );
    },
  };
}
