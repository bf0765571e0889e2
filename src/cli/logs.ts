/**
 * `conductor logs <id> [-f]`: a session's output and lifecycle events, interleaved in time order.
 * Output is shown as the text its screen showed, line by line (output-lines.ts); colour is ours and
 * only on a TTY.
 */
import { type History, type StreamMessage, unseenText } from "../control/protocol.js";
import { type Flags, UsageError } from "./args.js";
import { describeTarget, paint, STATE_COLORS, withConductor } from "./connect.js";
import { OutputLines } from "./output-lines.js";

interface Entry {
  ts: string;
  type: string;
  session: string | null;
  [k: string]: unknown;
}

export function describeEvent(e: Entry): string {
  const from = e.from as string | undefined;
  const to = e.to as string | undefined;
  if (from !== undefined && to !== undefined) return `${from} → ${to}${e.reason ? ` (${e.reason})` : ""}`;
  // A question, as the event log keeps it (history) and as the live event has it (-f): one line, the same.
  if (e.type === "session.input_wait" || e.type === "inputWait") {
    const choices = Array.isArray(e.choices) && e.choices.length > 0 ? ` [${e.choices.join(" | ")}]` : "";
    return `waits for input (${String(e.kind ?? e.pattern ?? "?")}): ${String(e.question ?? e.line ?? "")}${choices}`;
  }
  // Plain fields only, as the history's lines have: a live event's clock readings
  // (at={"wallMs":…,"monoMs":…}) are the line's time again.
  const rest = Object.entries(e)
    .filter(
      ([k, v]) => !["ts", "type", "session", "v", "sessionId"].includes(k) && !(k === "at" && typeof v === "object"),
    )
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  return `${e.type}${rest ? ` ${rest}` : ""}`;
}

export interface LogPrinter {
  event(e: Entry): void;
  output(ts: string, text: string): void;
  /** A line of ours (the conductor's end), in order with the output before it. */
  note(line: string): void;
  flush(): void;
  /** Resolves once every line of what was given so far is written (a TUI's output is read asynchronously). */
  drained(): Promise<void>;
  /** Lets go of the terminal a TUI's output was read on. */
  dispose(): void;
  /** Where the lines go from now on (history is gathered first, to show only its last lines). */
  to(write: (line: string) => void): void;
}

export function createLogPrinter(out: { write(s: string): unknown }, color: boolean): LogPrinter {
  let write: (line: string) => void = (line) => void out.write(line);
  const time = (ts: string) => paint(color, "90", ts.slice(11, 23));
  const lines = new OutputLines((ts, text) => write(`${time(ts)}  ${text}\n`));
  return {
    event(e: Entry) {
      lines.flush();
      const code = STATE_COLORS[String(e.to ?? "")] ?? "36";
      lines.after(() => write(`${time(e.ts)}  ${paint(color, code, `── ${describeEvent(e)}`)}\n`));
    },
    output(ts: string, text: string) {
      lines.write(ts, text);
    },
    note(line: string) {
      lines.flush();
      lines.after(() => write(line));
    },
    flush: () => lines.flush(),
    drained: () => lines.drained(),
    dispose: () => lines.dispose(),
    to(fn) {
      write = fn;
    },
  };
}

/** "── … 17022 earlier lines and 1 310 720 earlier bytes not shown: <out log>", or null when nothing was left out. */
export function leftOutMarker(linesCut: number, bytesCut: number, outputPath: string | undefined): string | null {
  const parts = [
    linesCut > 0 ? `${linesCut} earlier line${linesCut === 1 ? "" : "s"}` : "",
    bytesCut > 0 ? `${bytesCut} earlier bytes of output` : "",
  ].filter(Boolean);
  if (parts.length === 0) return null;
  return `── … ${parts.join(" and ")} not shown${outputPath ? `: ${outputPath}` : ""}`;
}

export async function logsCommand(
  flags: Flags,
  positionals: string[],
  out: NodeJS.WriteStream,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const [id, ...extra] = positionals;
  if (!id || extra.length > 0) throw new UsageError("logs needs one session id, e.g. conductor logs review-1 -f");
  // Digits only: Number() reads "0x10" as 16 and "1e3" as 1000.
  const lines = flags.lines === undefined ? 200 : /^\d+$/.test(String(flags.lines)) ? Number(flags.lines) : Number.NaN;
  if (!Number.isInteger(lines) || lines < 1)
    throw new UsageError(`--lines needs a positive number (got ${flags.lines})`);
  const color = Boolean(out.isTTY) && flags.color !== false;
  const printer = createLogPrinter(out, color);
  try {
    return await printLogs(flags, id, lines, out, err, color, printer);
  } finally {
    printer.dispose();
  }
}

async function printLogs(
  flags: Flags,
  id: string,
  lines: number,
  out: NodeJS.WriteStream,
  err: NodeJS.WritableStream,
  color: boolean,
  printer: LogPrinter,
): Promise<number> {
  return withConductor(flags, async (client, entry) => {
    const follow = Boolean(flags.follow);
    // Start following before reading history so nothing falls between; what both hold is skipped:
    // events by time, output by its position in the whole output.
    const live: StreamMessage[] = [];
    let sink: ((m: StreamMessage) => void) | null = null;
    let ended: (() => void) | null = null;
    const done = new Promise<void>((r) => (ended = r));
    const stream = follow
      ? await client.follow({ sessions: [id], events: true, output: true }, (m) => (sink ? sink(m) : live.push(m)))
      : null;
    const history = await client.request<History & { entries: Entry[] }>({ op: "history", session: id, lines });
    let lastTs = "";
    // "until it ends" (the help): a move to a final state ends the follow, as the conductor's end does.
    let final = false;
    const isFinal = (e: Entry) => e.to === "completed" || e.to === "dead";
    // The history's lines are gathered, and only the last `lines` shown (as tail -n): `-n` counted
    // lifecycle events only, so `-n 1` printed thousands of output lines.
    const shown: string[] = [];
    printer.to((line) => void shown.push(line));
    for (const e of history.entries) {
      lastTs = e.ts;
      if (e.type === "output") printer.output(e.ts, String(e.text));
      else printer.event(e);
      if (e.type !== "output") final = isFinal(e);
    }
    if (!stream || final) printer.flush();
    await printer.drained();
    const tail = shown.slice(-lines);
    // What is left out is said, with where all of it is (the history holds the last 64 KiB of output).
    const marker = leftOutMarker(shown.length - tail.length, history.outputStart ?? 0, history.outputPath);
    if (marker) out.write(`${paint(color, "90", marker)}\n`);
    for (const line of tail) out.write(line);
    printer.to((line) => void out.write(line));
    if (!stream || final) return 0;
    const onMessage = (m: StreamMessage) => {
      if (m.stream === "output") {
        // Without positions (an older conductor): output that came before the history is in it.
        const text = unseenText(m.data, history.outputEnd) ?? (sink ? m.data.text : "");
        if (text) printer.output(m.data.ts, text);
      } else if (m.stream === "event") {
        // The facade's completed/dead events repeat the move just printed (failed → dead (reason)):
        // the history, read from the event log, has the move only.
        const repeat = m.data.type === "completed" || m.data.type === "dead";
        if (m.data.ts > lastTs && !repeat) printer.event(m.data);
        if (isFinal(m.data)) {
          printer.flush();
          ended?.();
        }
      } else if (m.stream === "end") {
        printer.note(paint(color, "90", `── the conductor is shutting down (${m.data.reason})\n`));
        ended?.();
      }
    };
    for (const m of live) onMessage(m);
    sink = onMessage;
    const how = await Promise.race([done.then(() => "ended" as const), client.closed.then(() => "lost" as const)]);
    printer.flush();
    await printer.drained();
    // Closed without its end said (killed, crashed): not a normal end (it exited 0 without a word).
    if (how === "lost") {
      err.write(`conductor logs: connection to ${describeTarget(entry)} lost (it died?)\n`);
      return 1;
    }
    return 0;
  });
}
