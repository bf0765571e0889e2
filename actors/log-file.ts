/**
 * The per-run output and diagnostics logs, shared by the local (pty) and remote children.
 * Errors are swallowed on purpose: a full disk must not crash the conductor.
 */
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { dirname } from "node:path";

/** Opens a log for appending; sync mkdir is one syscall at spawn time. */
export function openLog(path: string | undefined): WriteStream | undefined {
  if (!path) return undefined;
  mkdirSync(dirname(path), { recursive: true });
  const s = createWriteStream(path, { flags: "a" });
  s.on("error", () => {}); // a full disk must not crash the conductor
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
