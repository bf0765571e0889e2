import fs from "node:fs";

/** The last `maxBytes` of the event log, parsed; a torn or foreign line is skipped. */
export async function readLogTail(path: string, maxBytes: number): Promise<Array<Record<string, unknown>>> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(path, "r");
  } catch {
    return [];
  }
  try {
    const size = (await fh.stat()).size;
    const start = Math.max(0, size - maxBytes);
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    const lines = buf.toString("utf8").split("\n");
    if (start > 0) lines.shift();
    const out: Array<Record<string, unknown>> = [];
    for (const line of lines) {
      try {
        const v = JSON.parse(line) as unknown;
        if (v && typeof v === "object" && !Array.isArray(v)) out.push(v as Record<string, unknown>);
      } catch {
        // torn tail
      }
    }
    return out;
  } finally {
    await fh.close();
  }
}
