/**
 * asciinema v2 casts: a JSON header line, then `[seconds, "o"|"i", data]` lines. "o" is what the
 * program wrote to the pty; "i" is what the recorder (or its terminal emulator's replies) typed.
 */
import { readFileSync } from "node:fs";

export interface CastHeader {
  version: 2;
  width: number;
  height: number;
  timestamp?: number;
  title?: string;
  env?: Record<string, string>;
}

export type CastEvent = [number, "o" | "i", string];

export interface Cast {
  header: CastHeader;
  events: CastEvent[];
}

export function formatCast(cast: Cast): string {
  return `${[JSON.stringify(cast.header), ...cast.events.map((e) => JSON.stringify(e))].join("\n")}\n`;
}

/** Parses and checks a cast; throws naming the line that is wrong. */
export function parseCast(text: string, where = "cast"): Cast {
  const lines = text.split("\n").filter((l) => l !== "");
  const header = JSON.parse(lines[0] ?? "null") as CastHeader | null;
  if (header?.version !== 2 || !(header.width > 0) || !(header.height > 0)) {
    throw new Error(`${where}: line 1 must be an asciinema v2 header with width and height`);
  }
  let last = 0;
  const events = lines.slice(1).map((line, i) => {
    const e = JSON.parse(line) as CastEvent;
    const ok = Array.isArray(e) && e.length === 3 && typeof e[0] === "number" && (e[1] === "o" || e[1] === "i");
    if (!ok || typeof e[2] !== "string" || e[0] < last) {
      throw new Error(`${where}: line ${i + 2} is not a [seconds, "o"|"i", data] event in time order`);
    }
    last = e[0];
    return e;
  });
  return { header, events };
}

export function readCast(path: string): Cast {
  return parseCast(readFileSync(path, "utf8"), path);
}

/** The program's output, concatenated. */
export function outputOf(cast: Cast): string {
  return cast.events
    .filter((e) => e[1] === "o")
    .map((e) => e[2])
    .join("");
}

/** OSC 0 / OSC 2 window titles, in order, consecutive duplicates dropped. */
export function windowTitles(output: string): string[] {
  const titles: string[] = [];
  for (const m of output.matchAll(/\x1b\][02];([^\x07\x1b]*)(?:\x07|\x1b\\)/g)) {
    if (titles.at(-1) !== m[1]) titles.push(m[1] ?? "");
  }
  return titles;
}
