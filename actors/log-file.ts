/**
 * The per-run output and diagnostics logs, shared by the local (pty) and remote children.
 * A failed write must not crash the conductor (a full disk is not the agent's fault), and must not
 * be silent either: the first error of each streak of failures goes to `onError`, which the runners
 * turn into a line in the event log; the bytes lost are counted and the log writes on once it can
 * (output-log-loss.ts). Created 0600: the output of an agent is as private as its prompt.
 * Rotated by size (log-rotation.ts) under the policy its logs directory was given.
 */
import { mkdirSync, type WriteStream } from "node:fs";
import { dirname } from "node:path";
import { outputLogPolicyFor, RotatingWriteStream } from "./log-rotation.js";

/** Opens a log for appending; sync mkdir is one syscall at spawn time. */
export function openLog(path: string | undefined, onError?: (err: Error) => void): WriteStream | undefined {
  if (!path) return undefined;
  mkdirSync(dirname(path), { recursive: true });
  const policy = outputLogPolicyFor(path);
  // maxBytes 0 never rotates: the same stream, for its quick end (endStream). A failed write does
  // not error it: `onError` hears the first failure of each streak, the bytes lost are counted.
  const s = new RotatingWriteStream(path, policy, 0o600, onError);
  // What is left is the stream's own misuse (a write after its end): said once per kind, never a crash.
  const said = new Set<string>();
  s.on("error", (err) => {
    if (said.has(err.message)) return;
    said.add(err.message);
    onError?.(err);
  });
  return s;
}

/**
 * Resolves once everything written is flushed, or the stream failed: never rejects. A log of ours
 * writes its last batch before this returns (RotatingWriteStream.endSoon).
 */
export function endStream(s: WriteStream | undefined): Promise<void> {
  if (!s || s.writableFinished || s.destroyed) return Promise.resolve();
  return new Promise((r) => {
    s.once("error", () => r());
    if (s instanceof RotatingWriteStream) s.endSoon(() => r());
    else s.end(() => r());
  });
}

/** A batch goes out once it holds this much... */
const BATCH_BYTES = 64 * 1024;
/** ... or this long after its first chunk (what a follower waits at most, besides the disk). */
const BATCH_MS = 2;

/**
 * Appends a chunk; chunks that come close together go out as one writev, at most BATCH_MS after the
 * first. A pty read is ~4 KB, and writing each on its own cost a thread-pool job and a syscall apiece:
 * 7.8 ms CPU per MiB against 0.6 ms in writes of 32 chunks (this machine's disk, page cache). Order is
 * the stream's; `end()` uncorks, so nothing waits past the close.
 */
export function writeBatched(s: WriteStream, chunk: Buffer): void {
  if (s.writableCorked === 0) {
    s.cork();
    setTimeout(() => s.writableCorked > 0 && s.uncork(), BATCH_MS); // not unref'd: the loop waits for it
  }
  s.write(chunk);
  if (s.writableLength >= BATCH_BYTES && s.writableCorked > 0) s.uncork();
}
