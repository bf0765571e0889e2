/**
 * The event log's file removed under it (`rm -rf` of the logs directory): appends still succeed, into
 * an unlinked inode that vanishes with the fd, so the whole black box went without a word (a field
 * review). The log checks its fd (one fstat: nlink 0) on every flush, close and conductor tick; this
 * makes the file again with what the fd still holds (actors/file-rescue.ts) and says what it did.
 */
import { recreateFrom, type RescueFs } from "../actors/file-rescue.js";
import { errorText } from "./event-log-line.js";
import type { EventLogError } from "./event-log-types.js";

export interface Remade {
  fd: number;
  /** Data of the `log.recreated` line. */
  line: Record<string, unknown>;
  report: EventLogError;
  /** Lines the copy could not save (the new file then starts at the `log.recreated` line). */
  lost: number;
}

/**
 * The removed file at `file` made again; null when it cannot be yet (said once: `quiet` after that).
 * `firstSeq…seq` are the lines the removed file held.
 */
export function remakeRemoved(a: {
  fsx: RescueFs;
  file: string;
  mode: number;
  fd: number;
  seq: number;
  firstSeq: number;
  quiet: boolean;
  warn: (message: string) => void;
  report: (e: EventLogError) => void;
}): Remade | null {
  const { file, seq, firstSeq } = a;
  let r: ReturnType<typeof recreateFrom>;
  try {
    r = recreateFrom(a.fsx, a.fd, file, a.mode);
  } catch (err) {
    // Lines go to the removed file, and vanish with it, until the file can be made again.
    if (!a.quiet) {
      a.warn(`${file} was removed and cannot be made again: ${errorText(err)} (tried again at every check)`);
      a.report({ kind: "removed", filePath: file, error: errorText(err), lost: 0, firstLostSeq: seq + 1 });
    }
    return null;
  }
  const lost = r.error ? seq - firstSeq + 1 : 0;
  a.warn(
    `${file} was removed under the conductor; made again, ${
      r.error
        ? `but its ${r.lostBytes} bytes could not be copied back (${r.error}): lines ${firstSeq}…${seq} lost`
        : `its ${r.rescuedBytes} bytes copied back`
    }`,
  );
  const error = r.error ?? "the file was removed";
  return {
    fd: r.fd,
    line: {
      ...{ reason: "removed", rescuedBytes: r.rescuedBytes, lostBytes: r.lostBytes },
      ...(r.error ? { error: r.error, firstLostSeq: firstSeq, lastLostSeq: seq } : {}),
    },
    report: { kind: "recreated", filePath: file, error, lost, firstLostSeq: firstSeq, rescuedBytes: r.rescuedBytes },
    lost,
  };
}
