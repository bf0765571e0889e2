/**
 * A client of the control socket, for the CLI and for embedders:
 * `const c = await connectControl(path); await c.request({ op: "sessions" }); c.close();`
 */
import net from "node:net";
import { ControlError, type ControlResponse, type ErrorCode, lineSplitter, type StreamMessage } from "./protocol.js";

type Body = { op: string } & Record<string, unknown>;

export interface RequestOptions {
  /** Reject when no answer came within this many ms (default: wait as long as the connection lasts). */
  timeoutMs?: number;
}

/** A conductor that accepted the connection (or not) but did not answer in time: stopped (SIGSTOP) or hung. */
export class ControlTimeoutError extends Error {
  constructor(
    readonly socketPath: string,
    readonly timeoutMs: number,
    what: string,
  ) {
    super(
      `no answer from the conductor at ${socketPath} within ${timeoutMs / 1000}s (${what}): is it stopped or hung?`,
    );
    this.name = "ControlTimeoutError";
  }
}

export interface ControlClient {
  request<T = unknown>(body: Body, options?: RequestOptions): Promise<T>;
  /** Starts a `follow`; `onMessage` gets every streamed message until `stop()` or disconnect. */
  follow(body: Omit<Body, "op">, onMessage: (m: StreamMessage) => void): Promise<{ stop(): Promise<void> }>;
  /** Resolves when the conductor closes the connection (it shut down). */
  readonly closed: Promise<void>;
  close(): void;
}

/**
 * `timeoutMs` bounds the connection (a listening socket whose process is stopped may never accept
 * it); each request can have its own bound (`request(body, { timeoutMs })`).
 */
export async function connectControl(socketPath: string, options: RequestOptions = {}): Promise<ControlClient> {
  const socket = net.connect(socketPath);
  socket.setEncoding("utf8");
  await new Promise<void>((ok, fail) => {
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            socket.destroy();
            fail(new ControlTimeoutError(socketPath, options.timeoutMs as number, "connecting"));
          }, options.timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      ok();
    });
    socket.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(
        new Error(
          err.code === "EACCES"
            ? `cannot connect to ${socketPath}: permission denied (the socket belongs to another user)`
            : err.code === "ECONNREFUSED" || err.code === "ENOENT"
              ? `cannot connect to ${socketPath}: no conductor is listening there (it has ended?)`
              : `cannot connect to ${socketPath}: ${err.message}`,
        ),
      );
    });
  });
  let next = 1;
  const pending = new Map<number, { ok: (v: unknown) => void; fail: (e: Error) => void }>();
  const streams = new Map<number, (m: StreamMessage) => void>();
  const closed = new Promise<void>((r) => socket.once("close", () => r()));
  void closed.then(() => {
    for (const p of pending.values()) p.fail(new Error("the conductor closed the connection"));
    pending.clear();
  });
  socket.on("error", () => undefined);
  socket.on(
    "data",
    lineSplitter(
      (line) => {
        const msg = JSON.parse(line) as ControlResponse | StreamMessage;
        if ("stream" in msg) {
          streams.get(msg.id as number)?.(msg);
          return;
        }
        const p = pending.get(msg.id as number);
        if (!p) return;
        pending.delete(msg.id as number);
        if (msg.ok) p.ok(msg.result);
        else p.fail(new ControlError(msg.error.code as ErrorCode, msg.error.message));
      },
      () => socket.destroy(),
      64 << 20,
    ),
  );
  function request<T>(body: Body, opts: RequestOptions = {}): Promise<T> {
    const id = next++;
    return new Promise<T>((ok, fail) => {
      if (socket.destroyed) return fail(new Error("the connection to the conductor is closed"));
      const timer =
        opts.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              pending.delete(id);
              fail(new ControlTimeoutError(socketPath, opts.timeoutMs as number, `request "${body.op}"`));
            }, opts.timeoutMs);
      pending.set(id, {
        ok: (v) => {
          clearTimeout(timer);
          ok(v as T);
        },
        fail: (e) => {
          clearTimeout(timer);
          fail(e);
        },
      });
      socket.write(`${JSON.stringify({ ...body, id })}\n`);
    });
  }
  return {
    request,
    async follow(body, onMessage) {
      const id = next;
      streams.set(id, onMessage);
      try {
        await request({ ...body, op: "follow" });
      } catch (err) {
        streams.delete(id);
        throw err;
      }
      return {
        async stop() {
          streams.delete(id);
          if (!socket.destroyed) await request({ op: "unfollow", follow: id }).catch(() => undefined);
        },
      };
    },
    closed,
    // Ended, and let go of: a conductor that no longer reads (stopped, hung) must not keep this process alive.
    close: () => {
      socket.end();
      socket.unref();
      setTimeout(() => socket.destroy(), 1_000).unref();
    },
  };
}
