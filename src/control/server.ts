/**
 * `startControlServer(conductor)`: the conductor's control socket. A Unix socket (never TCP),
 * created 0600 so only its owner can connect (the kernel checks write permission on connect),
 * listed by name in the per-user registry so `conductor ls` finds it. Closed with the conductor.
 */
import { processStartTime } from "../../actors/process-identity.js";
import fs from "node:fs";
import net from "node:net";
import { resolve } from "node:path";
import {
  type ControlHandler,
  type ControlInfo,
  type ControlPeer,
  type ControlTarget,
  createControlHandler,
} from "./handler.js";
import { lineSplitter, type RequestId, type StreamMessage } from "./protocol.js";
import { claimName, freeName, type RegistryEntry, removeEntry, socketPathFor, writeEntry } from "./registry.js";

export interface ControlServerOptions {
  logsDir: string;
  /** Name in the registry, refused while a live conductor has it (default "conductor", or "conductor-2"… when taken). */
  name?: string;
  version?: string;
  /** Socket path (default `<logsDir>/control.sock`, or the registry dir when that is too long). */
  socketPath?: string;
  cols?: number;
  rows?: number;
  env?: NodeJS.ProcessEnv;
}

export interface ControlServer {
  readonly name: string;
  readonly socketPath: string;
  readonly handler: ControlHandler;
  /** Adds the viewer's URL to the registry entry, so `conductor ls` can print it. */
  setViewerUrl(url: string): void;
  /**
   * The socket file or the registry entry gone (the logsDir removed under the run; `ls` then drops
   * the entry of a conductor without a socket): listens again at the same path, writes the entry
   * again. What it repaired (empty: nothing was missing); rejects when it could not.
   */
  repair(): Promise<Array<"socket" | "entry">>;
  close(): Promise<void>;
}

/** Output a slow client has not read yet beyond this is dropped for it (it is told, once). */
const MAX_BUFFERED = 8 * 1024 * 1024;

export async function startControlServer(target: ControlTarget, opts: ControlServerOptions): Promise<ControlServer> {
  const env = opts.env ?? process.env;
  const logsDir = resolve(opts.logsDir);
  const name = opts.name !== undefined ? claimName(opts.name, env) : freeName("conductor", env);
  const socketPath = opts.socketPath ?? socketPathFor(logsDir, name, env);
  await clearStaleSocket(socketPath);
  const info: ControlInfo = { name, logsDir, version: opts.version ?? "0.0.0" };
  if (opts.cols) info.cols = opts.cols;
  if (opts.rows) info.rows = opts.rows;
  const handler = createControlHandler(target, info);
  const sockets = new Set<net.Socket>();

  const onConnection = (socket: net.Socket) => {
    sockets.add(socket);
    socket.setEncoding("utf8");
    let warnedSlow = false;
    const send = (msg: unknown) => {
      if (socket.destroyed) return;
      if (socket.writableLength > MAX_BUFFERED) {
        if (!warnedSlow) socket.write(`${JSON.stringify({ id: null, stream: "dropped", data: {} })}\n`);
        warnedSlow = true;
        return;
      }
      warnedSlow = false;
      socket.write(`${JSON.stringify(msg)}\n`);
    };
    const peer: ControlPeer = { push: (m: StreamMessage) => send(m), follows: new Map<RequestId, () => void>() };
    const onLine = (line: string) => {
      let req: unknown;
      try {
        req = JSON.parse(line);
      } catch {
        send({ id: null, ok: false, error: { code: "bad_request", message: "a request is one JSON object per line" } });
        return;
      }
      void handler.handle(req, peer).then(send);
    };
    const feed = lineSplitter(onLine, () => {
      send({ id: null, ok: false, error: { code: "bad_request", message: "request line too long (max 1 MiB)" } });
      socket.end();
    });
    socket.on("data", (d: string) => feed(d));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      sockets.delete(socket);
      handler.release(peer);
    });
  };

  let server: net.Server;
  try {
    server = await listen(socketPath, onConnection);
  } catch (err) {
    handler.close();
    throw err;
  }

  const entry: RegistryEntry = {
    name,
    pid: process.pid,
    pidStart: processStartTime(process.pid),
    socket: socketPath,
    logsDir,
    startedAt: new Date().toISOString(),
    version: info.version,
  };
  let entryFile: string | null = null;
  try {
    entryFile = writeEntry(entry, env);
  } catch (err) {
    // Still reachable by its socket path; say why `conductor ls` will not list it.
    process.stderr.write(`conductor: control socket not registered: ${(err as Error).message}\n`);
  }

  let closing: Promise<void> | undefined;
  return {
    name,
    socketPath,
    handler,
    setViewerUrl(url: string) {
      entry.viewerUrl = url;
      if (entryFile) writeEntry(entry, env);
    },
    async repair() {
      const fixed: Array<"socket" | "entry"> = [];
      if (closing) return fixed;
      if (!fs.existsSync(socketPath)) {
        // The old listener's file is gone: nobody can connect by path (its clients stay connected).
        // Closed first: libuv unlinks a pipe server's path on close, which would take the new file.
        server.close();
        server = await listen(socketPath, onConnection);
        fixed.push("socket");
      }
      if (entryFile && !fs.existsSync(entryFile)) {
        entryFile = writeEntry(entry, env);
        fixed.push("entry");
      }
      return fixed;
    },
    close() {
      closing ??= (async () => {
        if (entryFile) removeEntry(entryFile);
        handler.close();
        const done = new Promise<void>((r) => server.close(() => r()));
        for (const s of sockets) s.end();
        // Give clients the last lines (an `end` message), then cut what lingers.
        setImmediate(() => {
          for (const s of sockets) s.destroy();
        });
        await done;
        try {
          fs.rmSync(socketPath, { force: true });
        } catch (err) {
          // A logsDir turned read-only (EROFS): a throw here kept `conductor run` from exiting. The
          // file left is harmless: nothing listens on it, and the next conductor clears it (clearStaleSocket).
          process.stderr.write(`conductor: control socket ${socketPath} left behind: ${(err as Error).message}
`);
        }
      })();
      return closing;
    },
  };
}

/** A server listening at `path`, the socket 0600 from the first instant (made under a umask, then chmod). */
async function listen(path: string, onConnection: (socket: net.Socket) => void): Promise<net.Server> {
  const server = net.createServer(onConnection);
  const old = process.umask(0o177);
  try {
    await new Promise<void>((ok, fail) => {
      server.once("error", fail);
      server.listen(path, () => ok());
    });
  } catch (err) {
    throw new Error(`control socket: cannot listen on ${path}: ${(err as Error).message}`);
  } finally {
    process.umask(old);
  }
  fs.chmodSync(path, 0o600);
  return server;
}

/** A socket file left by a crashed conductor is removed; a live one is someone else's: refuse. */
async function clearStaleSocket(path: string): Promise<void> {
  if (!fs.existsSync(path)) return;
  const live = await new Promise<boolean>((r) => {
    const c = net.connect(path);
    c.once("connect", () => {
      c.destroy();
      r(true);
    });
    c.once("error", () => r(false));
  });
  if (live)
    throw new Error(
      `control socket ${path} is in use by another running conductor; give this one another logsDir ` +
        `(or stop that one with "conductor stop")`,
    );
  fs.rmSync(path, { force: true });
}
