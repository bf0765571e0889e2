/**
 * The runtime of an SSH host: `sshHostMachine` with a real ssh2 connection, and the API remote
 * sessions use on it. One ssh2 Client per host, shared by every session there; keepalives find
 * a dead link, the machine reconnects with backoff. Host keys are checked against known_hosts;
 * authentication is by key or agent only.
 */
import type { Client, ClientChannel } from "ssh2";
import { type ActorRefFrom, createActor } from "xstate";
import { createWallClock } from "./wall-clock.js";
import {
  type HostStatus,
  hostStatusOf,
  sshHostMachine,
  type SshHostMachineInput,
} from "../machines/ssh-host.machine.js";
import type { HostConfig, HostsConfig } from "./host-config.js";
import { sshConnection } from "./ssh-connection.js";

export type { HostStatus };
export const hostSystemId = (name: string) => `host:${name}`;

/** A long-lived channel (e.g. one tmux control client), reduced to what its users need. */
export interface SshStream {
  write(data: string): void;
  close(): void;
  /** Flow control: a paused channel stops the ssh window, so the remote side slows down. */
  pause(): void;
  resume(): void;
  onData(fn: (chunk: Buffer) => void): void;
  onStderr(fn: (chunk: Buffer) => void): void;
  onClose(fn: (info: { code: number | null; signal: string | null }) => void): void;
}

export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface SshHostOptions extends Omit<SshHostMachineInput, "name"> {
  log?: (event: string, data: Record<string, unknown>) => void;
  /** SSH keepalive period; 3 unanswered ones drop the link (default 5 000 ms). */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** Handshake + auth must finish within this (default 10 000 ms). */
  readyTimeoutMs?: number;
  /** Concurrent `exec` channels (sshd's MaxSessions is 10 per connection by default). */
  maxExecChannels?: number;
  /** Default timeout of `exec` (default 30 000 ms). */
  execTimeoutMs?: number;
}

export interface SshHost {
  readonly name: string;
  readonly config: HostConfig;
  /** The host statechart (run it with systemId `host:<name>` to find it from other actors). */
  readonly actor: ActorRefFrom<typeof sshHostMachine>;
  status(): HostStatus;
  lastError(): string | null;
  /** Epoch ms the link last went up (`connected`) or down (lost, or the first try began). */
  since(): number;
  /** Each status change, with the connection's error as it was then. */
  onStatus(fn: (status: HostStatus, error: string | null) => void): () => void;
  whenConnected(timeoutMs: number): Promise<void>;
  /**
   * Runs a command line (the user's shell on the host) on the live connection. ~140 ms each: not per
   * tick. `stdin` is written to the command, then closed: what goes there is on no command line.
   */
  exec(command: string, opts?: { timeoutMs?: number; stdin?: string }): Promise<ExecResult>;
  /** Opens a long-lived exec channel for streaming; closes when the connection drops. */
  openStream(command: string): Promise<SshStream>;
  /** Try to connect now (after fixing known_hosts, or to skip a backoff wait). */
  retry(): void;
  stop(): void;
}

export class HostUnavailableError extends Error {
  override name = "HostUnavailableError";
}

export function createSshHost(config: HostConfig, opts: SshHostOptions = {}): SshHost {
  const log = opts.log ?? (() => {});
  let client: Client | undefined;
  let execSlots = opts.maxExecChannels ?? 6;
  const slotWaiters: (() => void)[] = [];

  const connection = sshConnection(config, opts, log, {
    ready: (c) => (client = c),
    gone: (c) => {
      if (client === c) client = undefined;
    },
  });

  const actor = createActor(sshHostMachine.provide({ actors: { connection } }), {
    // giveUpAfterMs across a suspend: the link's long waits also end on the wall clock.
    clock: createWallClock(),
    systemId: hostSystemId(config.name),
    input: { name: config.name, ...pickMachineInput(opts) },
  });
  // First listener: every other one reads the new `since` (an emitted event precedes the snapshot).
  let since = Date.now();
  let up = false;
  actor.on("status", (e) => {
    if ((e.status === "connected") !== up) since = Date.now();
    up = e.status === "connected";
  });
  actor.on("status", (e) =>
    log("ssh.status", { host: e.host, status: e.status, ...(e.error ? { error: e.error } : {}) }),
  );
  actor.start();

  const status = () => hostStatusOf(actor.getSnapshot());
  const live = (): Client => {
    if (!client || status() !== "connected")
      throw new HostUnavailableError(
        `host "${config.name}" is ${status()}${host.lastError() ? `: ${host.lastError()}` : ""}`,
      );
    return client;
  };
  const withSlot = async <T>(fn: () => Promise<T>): Promise<T> => {
    while (execSlots === 0) await new Promise<void>((r) => slotWaiters.push(r));
    execSlots--;
    try {
      return await fn();
    } finally {
      execSlots++;
      slotWaiters.shift()?.();
    }
  };
  const openChannel = (command: string) =>
    new Promise<ClientChannel>((resolve, reject) => {
      try {
        live().exec(command, (err, ch) => {
          if (err) return reject(err);
          ch.on("error", () => {}); // reported through close; an unhandled 'error' would crash the conductor
          resolve(ch);
        });
      } catch (e) {
        reject(e);
      }
    });

  const host: SshHost = {
    name: config.name,
    config,
    actor,
    status,
    lastError: () => actor.getSnapshot().context.lastError,
    since: () => since,
    onStatus(fn) {
      const sub = actor.on("status", (e) => fn(e.status, e.error));
      return () => sub.unsubscribe();
    },
    whenConnected(timeoutMs) {
      if (status() === "connected") return Promise.resolve();
      return new Promise((resolve, reject) => {
        const settle = (error?: HostUnavailableError) => {
          clearTimeout(timer);
          off();
          if (error) reject(error);
          else resolve();
        };
        const timer = setTimeout(
          () =>
            settle(
              new HostUnavailableError(`host "${config.name}" not connected within ${timeoutMs} ms (${status()})`),
            ),
          timeoutMs,
        );
        const off = host.onStatus((s) => {
          if (s === "connected") settle();
          if (s === "rejected") settle(new HostUnavailableError(host.lastError() ?? "rejected"));
        });
      });
    },
    exec(command, { timeoutMs = opts.execTimeoutMs ?? 30_000, stdin } = {}) {
      return withSlot(async () => {
        const ch = await openChannel(command);
        if (stdin !== undefined) ch.end(stdin);
        return new Promise<ExecResult>((resolve, reject) => {
          const out: Buffer[] = [];
          const err: Buffer[] = [];
          const timer = setTimeout(() => {
            ch.close();
            reject(new Error(`exec on "${config.name}" timed out after ${timeoutMs} ms`));
          }, timeoutMs);
          ch.on("data", (b: Buffer) => out.push(b));
          ch.stderr.on("data", (b: Buffer) => err.push(b));
          ch.on("close", (code: number | null, signal?: string) => {
            clearTimeout(timer);
            const text = (bs: Buffer[]) => Buffer.concat(bs).toString("utf8");
            resolve({ code: code ?? null, signal: signal ?? null, stdout: text(out), stderr: text(err) });
          });
        });
      });
    },
    async openStream(command) {
      const ch = await openChannel(command);
      return {
        write: (data) => void (ch.writable && ch.write(data)),
        close: () => ch.close(),
        pause: () => void ch.pause(),
        resume: () => void ch.resume(),
        onData: (fn) => void ch.on("data", fn),
        onStderr: (fn) => void ch.stderr.on("data", fn),
        onClose: (fn) =>
          void ch.once("close", (code: number | null, signal?: string) =>
            fn({ code: code ?? null, signal: signal ?? null }),
          ),
      };
    },
    retry: () => actor.send({ type: "HOST.RETRY" }),
    stop: () => actor.stop(),
  };
  return host;
}

const pickMachineInput = (o: SshHostOptions): Omit<SshHostMachineInput, "name"> => ({
  ...(o.backoffInitialMs !== undefined ? { backoffInitialMs: o.backoffInitialMs } : {}),
  ...(o.backoffFactor !== undefined ? { backoffFactor: o.backoffFactor } : {}),
  ...(o.backoffMaxMs !== undefined ? { backoffMaxMs: o.backoffMaxMs } : {}),
  ...(o.giveUpAfterMs !== undefined ? { giveUpAfterMs: o.giveUpAfterMs } : {}),
});

export interface SshHostPool {
  /** The host's shared runtime, connecting on first use. Throws for a name not in the hosts file. */
  get(name: string): SshHost;
  /** The host's runtime if it was used already (`get` would create it and connect). */
  peek(name: string): SshHost | undefined;
  names(): string[];
  /** Every host's connection closed (shutdown). */
  close(): void;
}

export function createSshHostPool(config: HostsConfig, opts: SshHostOptions = {}): SshHostPool {
  const live = new Map<string, SshHost>();
  return {
    get(name) {
      const existing = live.get(name);
      if (existing) return existing;
      const hc = config.hosts[name];
      if (!hc) {
        const known = Object.keys(config.hosts);
        throw new HostUnavailableError(
          `unknown host "${name}": the hosts file has ${known.length ? known.map((k) => `"${k}"`).join(", ") : "no hosts"}`,
        );
      }
      const h = createSshHost(hc, opts);
      live.set(name, h);
      return h;
    },
    peek: (name) => live.get(name),
    names: () => Object.keys(config.hosts),
    close() {
      for (const h of live.values()) h.stop();
      live.clear();
    },
  };
}
