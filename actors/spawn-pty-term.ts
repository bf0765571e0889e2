/**
 * A pty whose master this process opened (openpty, no fork) and whose child the spawn helper
 * started (spawn-helper.ts): the same reads, writes and resizes node-pty's UnixTerminal does on
 * its master, with the child's exit coming from the helper instead of a waitpid thread.
 */
import { write as fsWrite } from "node:fs";
import { createRequire } from "node:module";
import { constants } from "node:os";
import tty from "node:tty";
import type { HelperExit } from "./spawn-helper.js";

/** What the pty transport uses of a running pty (a subset of node-pty's IPty). */
export interface PtyTerm {
  readonly pid: number;
  onData(fn: (data: Buffer) => void): { dispose(): void };
  onExit(fn: (e: { exitCode: number; signal?: number; lost?: string }) => void): { dispose(): void };
  write(data: string): void;
  resize(cols: number, rows: number): void;
}

interface PtyNative {
  open(cols: number, rows: number): { master: number; slave: number; pty: string };
  resize(fd: number, cols: number, rows: number): void;
}

let native: PtyNative | undefined;
/** node-pty's own native module (its `open` and `resize`, no fork), found the way node-pty finds it. */
export function ptyNative(): PtyNative {
  const req = createRequire(import.meta.url);
  native ??= (req("node-pty/lib/utils") as { loadNativeModule(n: string): { module: PtyNative } }).loadNativeModule(
    "pty",
  ).module;
  return native;
}

/** After the helper's exit message, how long the master may still deliver data before it is closed. */
const CLOSE_WAIT_MS = 200;

export class MasterTerm implements PtyTerm {
  private readonly stream: tty.ReadStream;
  private readonly dataFns = new Set<(data: Buffer) => void>();
  private readonly exitFns = new Set<(e: { exitCode: number; signal?: number; lost?: string }) => void>();
  private exit: HelperExit | undefined;
  private closed = false;
  private reading = false;
  private exited = false;
  private writing: Buffer[] = [];

  constructor(
    readonly pid: number,
    private readonly fd: number,
  ) {
    this.stream = new tty.ReadStream(fd);
    // EIO: every slave fd is closed (the child's tree is gone); EAGAIN is a non-blocking read's noise.
    this.stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EAGAIN") this.stream.destroy();
    });
    this.stream.on("close", () => {
      this.closed = true;
      this.fireExit();
    });
  }

  onData(fn: (data: Buffer) => void) {
    // Read only once someone listens: a flowing stream with no listener would drop the child's output.
    if (!this.reading)
      this.stream.on("data", (d: Buffer) => {
        for (const f of this.dataFns) f(d);
      });
    this.reading = true;
    this.dataFns.add(fn);
    return { dispose: () => this.dataFns.delete(fn) };
  }

  onExit(fn: (e: { exitCode: number; signal?: number; lost?: string }) => void) {
    this.exitFns.add(fn);
    return { dispose: () => this.exitFns.delete(fn) };
  }

  /** The helper saw the child exit; the exit is reported once the master has delivered the rest. */
  childExited(exit: HelperExit): void {
    this.exit = exit;
    if (this.closed) {
      this.fireExit();
      return;
    }
    // A leftover holding the slave keeps the master readable: like node-pty, wait a little, then close.
    setTimeout(() => this.stream.destroy(), exit.lost ? 0 : CLOSE_WAIT_MS).unref();
  }

  private fireExit(): void {
    if (this.exited || !this.exit || !this.closed) return;
    this.exited = true;
    const { code, signal, lost } = this.exit;
    const signo = signal ? (constants.signals as Record<string, number>)[signal] : undefined;
    const e = { exitCode: code ?? 0, ...(signo ? { signal: signo } : {}), ...(lost ? { lost } : {}) };
    for (const fn of this.exitFns) fn(e);
  }

  write(data: string): void {
    if (this.closed) return;
    this.writing.push(Buffer.from(data, "utf8"));
    if (this.writing.length === 1) this.flush();
  }

  /** One write at a time, in order; EAGAIN (the pty's input buffer is full) retries on the next turn. */
  private flush(): void {
    const buf = this.writing[0];
    if (!buf || this.closed) return;
    fsWrite(this.fd, buf, (err, n) => {
      if (err?.code === "EAGAIN") return setImmediate(() => this.flush());
      if (err) this.writing = [];
      else if (n < buf.length) this.writing[0] = buf.subarray(n);
      else this.writing.shift();
      this.flush();
    });
  }

  resize(cols: number, rows: number): void {
    if (!this.closed) ptyNative().resize(this.fd, cols, rows);
  }

  /** Closes the master (the child gets a hangup), for a spawn whose run was closed meanwhile. */
  destroy(): void {
    this.stream.destroy();
  }
}
