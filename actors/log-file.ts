/**
 * The per-run output and diagnostics logs, shared by the local (pty) and remote children.
 * A failed write must not crash the conductor (a full disk is not the agent's fault), and must not
 * be silent either: the first error of a log goes to `onError`, which the runners turn into a line
 * in the event log. Created 0600: the output of an agent is as private as its prompt.
 * Rotated by size (log-rotation.ts) under the policy its logs directory was given.
 */
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { dirname } from "node:path";
import { outputLogPolicyFor, RotatingWriteStream } from "./log-rotation.js";

/** Opens a log for appending; sync mkdir is one syscall at spawn time. */
export function openLog(path: string | undefined, onError?: (err: Error) => void): WriteStream | undefined {
  if (!path) return undefined;
  mkdirSync(dirname(path), { recursive: true });
  const policy = outputLogPolicyFor(path);
  const s =
    policy.maxBytes > 0
      ? new RotatingWriteStream(path, policy, 0o600)
      : createWriteStream(path, { flags: "a", mode: 0o600 });
  let reported = false;
  s.on("error", (err) => {
    if (reported) return;
    reported = true;
    onError?.(err);
  });
  return s;
}

/** Resolves once everything written is flushed, or the stream failed: never rejects. */
export function endStream(s: WriteStream | undefined): Promise<void> {
  if (!s || s.writableFinished || s.destroyed) return Promise.resolve();
  return new Promise((r) => {
    s.once("error", () => r());
    s.end(() => r());
  });
}

/**
 * Appends a chunk; the chunks written in one turn of the event loop go out as one writev. A pty read is
 * ~4 KB, and a write of its own (a thread-pool job and a syscall each) cost the output path more than
 * the bytes did. Order is the stream's; `end()` uncorks, so nothing waits past the close.
 */
export function writeBatched(s: WriteStream, chunk: Buffer): void {
  if (s.writableCorked === 0) {
    s.cork();
    setImmediate(() => s.uncork());
  }
  s.write(chunk);
}
