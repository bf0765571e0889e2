/** Shared by the commands that talk to a running conductor: finding it, connecting, formatting. */
import { type ControlClient, ControlTimeoutError, connectControl } from "../control/client.js";
import { ControlError, type Hello } from "../control/protocol.js";
import { type RegistryEntry, resolveConductor } from "../control/registry.js";
import { type FlagSpec, type Flags, UsageError } from "./args.js";

export const TARGET_FLAGS: Record<string, FlagSpec> = {
  name: { type: "string", hint: "a conductor name, e.g. --name nightly (see conductor ls)" },
  socket: { type: "string", hint: "a socket path, e.g. --socket ./logs/control.sock" },
};

export const TARGET_HELP = `  --name NAME       the conductor to talk to (default: the only one running; $CONDUCTOR_NAME)
  --socket PATH     talk to the control socket at PATH instead of looking the name up`;

export type Target = Pick<RegistryEntry, "name" | "socket"> & Partial<RegistryEntry>;

/**
 * How long a conductor may stay silent (5 s; the CONDUCTOR_TIMEOUT environment variable, in
 * seconds, changes it): to accept the connection, to answer a first request, and, while a request
 * takes longer (a kill waits out the config's graceMs, 10 s by default, and any length can be
 * configured), to answer the `hello` it is asked meanwhile. A stopped (SIGSTOP) or hung conductor
 * accepts connections in the kernel and then never answers: without a bound every command waited forever.
 */
export function answerTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.CONDUCTOR_TIMEOUT;
  if (raw === undefined || raw === "") return 5_000;
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0)
    throw new UsageError(`CONDUCTOR_TIMEOUT must be a number of seconds above 0 (got ${JSON.stringify(raw)})`);
  return Math.round(s * 1000);
}

/** "conductor "day" (pid 123, socket /x/control.sock)": which conductor a message is about. */
export function describeTarget(t: Target): string {
  return `conductor "${t.name}" (${t.pid ? `pid ${t.pid}, ` : ""}socket ${t.socket})`;
}

/** What a request that was not answered asked for, which may still happen if the conductor resumes. */
const SENT: Record<string, string> = {
  send: "text",
  keys: "keys",
  kill: "kill",
  restart: "restart",
  shutdown: "stop",
};

/** A silent conductor named, with what to check and what to do; other errors as they are. */
export function silentError(t: Target, err: unknown): unknown {
  if (!(err instanceof ControlTimeoutError)) return err;
  const sent = err.op && SENT[err.op] ? `; the ${SENT[err.op]} was sent and may still take effect if it resumes` : "";
  const check = t.pid
    ? `Check it with ps -o stat= -p ${t.pid} (T: stopped, kill -CONT ${t.pid} resumes it) and conductor ls`
    : "Check it with conductor ls";
  return new Error(
    `${describeTarget(t)} did not answer within ${err.timeoutMs / 1000}s: it is stopped (kill -STOP?) or hung${sent}. ` +
      `${check}; CONDUCTOR_TIMEOUT=SECONDS waits longer`,
  );
}

/** A client of `t` that answered a `hello` within the bound, and `t` with the pid it said (--socket has none). */
async function connectWithHello(t: Target, timeoutMs: number): Promise<{ client: ControlClient; target: Target }> {
  // Every request of the client is bounded by the conductor's silence, not by its length.
  const client = await connectControl(t.socket, { timeoutMs, silenceMs: timeoutMs }).catch((err: unknown) => {
    throw silentError(t, err);
  });
  try {
    const hello = await client.request<Hello>({ op: "hello" }, { timeoutMs });
    return { client, target: t.pid || !hello?.pid ? t : { ...t, pid: hello.pid } };
  } catch (err) {
    client.close();
    throw silentError(t, err);
  }
}

/** A client of `t` that has answered a `hello` within the bound; a silent one is named in the error. */
export async function connectAnswering(t: Target, timeoutMs = answerTimeoutMs()): Promise<ControlClient> {
  return (await connectWithHello(t, timeoutMs)).client;
}

export function targetOf(flags: Flags): Target {
  return typeof flags.socket === "string"
    ? { name: typeof flags.name === "string" ? flags.name : flags.socket, socket: flags.socket }
    : resolveConductor(typeof flags.name === "string" ? flags.name : process.env.CONDUCTOR_NAME || undefined);
}

export async function withConductor<T>(
  flags: Flags,
  fn: (client: ControlClient, entry: Target) => Promise<T>,
): Promise<T> {
  const { client, target: entry } = await connectWithHello(targetOf(flags), answerTimeoutMs());
  let lost = false;
  void client.closed.then(() => (lost = true));
  try {
    return await fn(client, entry);
  } catch (err) {
    if (err instanceof ControlTimeoutError) throw silentError(entry, err);
    // A request cut short by the conductor's end (killed, crashed): say which conductor was lost.
    if (lost && !(err instanceof ControlError))
      throw new Error(`connection to ${describeTarget(entry)} lost (it died?)`);
    throw err;
  } finally {
    client.close();
  }
}

export const STATE_COLORS: Record<string, string> = {
  init: "90",
  starting: "36",
  healthy: "32",
  stalled: "33",
  input_wait: "35",
  failed: "31",
  restarting: "33",
  dead: "31;1",
  completed: "32;1",
};

export const paint = (on: boolean, code: string | undefined, text: string) =>
  on && code ? `\x1b[${code}m${text}\x1b[0m` : text;

/** 42s, 3m12s, 2h05m, 3d04h. */
export function age(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return "-";
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
  return `${Math.floor(s / 86_400)}d${String(Math.floor(s / 3600) % 24).padStart(2, "0")}h`;
}

/** A plain text table; `colorOf` paints a cell after padding so colour codes never skew columns. */
export function table(
  head: string[],
  rows: string[][],
  colorOf: (row: number, col: number) => string | undefined = () => undefined,
  color = false,
): string {
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: string[], r: number) =>
    cells
      .map((cell, c) => {
        const padded = c === cells.length - 1 ? cell : cell.padEnd(widths[c] ?? 0);
        return r < 0 ? padded : paint(color, colorOf(r, c), padded);
      })
      .join("  ")
      .trimEnd();
  return [paint(color, "1", line(head, -1)), ...rows.map((r, i) => line(r, i))].join("\n");
}
