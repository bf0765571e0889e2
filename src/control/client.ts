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
  /**
   * Reject when the conductor falls silent this long while the answer is pending: meanwhile it is
   * asked `hello`, which a live conductor answers at once however long the request takes (a `kill`
   * waits for a process tree: its graceMs and more). Bounds a stopped or hung conductor, not a slow op.
   */
  silenceMs?: number;
}

export interface ConnectOptions {
  /** Reject when the connection is not accepted within this many ms. */
  timeoutMs?: number;
  /** Every request's `silenceMs` unless it gives its own (`follow`'s and `stop()`'s requests too). */
  silenceMs?: number;
}

/** A conductor that accepted the connection (or not) but did not answer in time: stopped (SIGSTOP) or hung. */
export class ControlTimeoutError extends Error {
  constructor(
    readonly socketPath: string,
    readonly timeoutMs: number,
    what: string,
    /** The op that was not answered (absent while connecting). */
    readonly op?: string,
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
  /**
   * `wait` (e.g. `closed` after a `shutdown`), rejected with a ControlTimeoutError naming `op` if
   * the conductor leaves a `hello` unanswered for `silenceMs` meanwhile.
   */
  whileAnswering<T>(wait: Promise<T>, silenceMs: number, op: string): Promise<T>;
  /** Resolves when the conductor closes the connection (it shut down). */
  readonly closed: Promise<void>;
  close(): void;
}

/**
 * `timeoutMs` bounds the connection (a listening socket whose process is stopped may never accept
 * it); each request can have its own bounds (`request(body, { timeoutMs, silenceMs })`).
 */
export async function connectControl(socketPath: string, options: ConnectOptions = {}): Promise<ControlClient> {
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
  /** One request on the wire; `cancel` forgets it (its timer too: it must not keep the process alive). */
  function send<T>(body: Body, timeoutMs: number | undefined): { answer: Promise<T>; cancel(): void } {
    const id = next++;
    let timer: NodeJS.Timeout | undefined;
    const answer = new Promise<T>((ok, fail) => {
      if (socket.destroyed) return fail(new Error("the connection to the conductor is closed"));
      if (timeoutMs !== undefined)
        timer = setTimeout(() => {
          pending.delete(id);
          fail(new ControlTimeoutError(socketPath, timeoutMs, `request "${body.op}"`, body.op));
        }, timeoutMs);
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
    return {
      answer,
      cancel: () => {
        clearTimeout(timer);
        pending.delete(id);
      },
    };
  }
  function whileAnswering<T>(wait: Promise<T>, silenceMs: number, op: string): Promise<T> {
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    let probe: { cancel(): void } | undefined;
    const silent = new Promise<never>((_, fail) => {
      // Half the bound between answers, then a whole bound for the next: a live but loaded
      // conductor is never given less than `silenceMs` to answer one hello.
      const ask = () => {
        if (done) return;
        timer = setTimeout(() => {
          if (done) return;
          const p = send({ op: "hello" }, silenceMs);
          probe = p;
          p.answer.then(
            () => ask(),
            (err: unknown) => {
              // A closed connection is the caller's to see (its request fails, `closed` resolves).
              if (!done && err instanceof ControlTimeoutError)
                fail(new ControlTimeoutError(socketPath, silenceMs, `request "${op}"`, op));
            },
          );
        }, silenceMs / 2);
      };
      ask();
    });
    silent.catch(() => undefined);
    return Promise.race([wait, silent]).finally(() => {
      done = true;
      clearTimeout(timer);
      probe?.cancel();
    });
  }
  function request<T>(body: Body, opts: RequestOptions = {}): Promise<T> {
    const silenceMs = opts.silenceMs ?? options.silenceMs;
    const sent = send<T>(body, opts.timeoutMs);
    // A whole bound no longer than the silence one already bounds the silence.
    if (silenceMs === undefined || (opts.timeoutMs !== undefined && opts.timeoutMs <= silenceMs)) return sent.answer;
    return whileAnswering(sent.answer, silenceMs, body.op).catch((err: unknown) => {
      sent.cancel();
      throw err;
    });
  }
  return {
    request,
    whileAnswering,
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
