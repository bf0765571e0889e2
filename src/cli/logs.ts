/**
 * `conductor logs <id> [-f]`: a session's output and lifecycle events, interleaved in time order.
 * Output is shown as text (ANSI stripped, carriage-return redraws collapsed); colour is ours and
 * only on a TTY.
 */
import { applyCarriageReturns, stripAnsi } from "../../actors/screen-tail.js";
import { type History, type StreamMessage, unseenText } from "../control/protocol.js";
import { type Flags, UsageError } from "./args.js";
import { paint, STATE_COLORS, withConductor } from "./connect.js";

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
  const rest = Object.entries(e)
    .filter(([k]) => !["ts", "type", "session", "v"].includes(k))
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  return `${e.type}${rest ? ` ${rest}` : ""}`;
}

export function createLogPrinter(out: NodeJS.WriteStream, color: boolean) {
  let partial: { ts: string; text: string } | null = null;
  const time = (ts: string) => paint(color, "90", ts.slice(11, 23));
  const flush = () => {
    if (partial && partial.text !== "") out.write(`${time(partial.ts)}  ${partial.text}\n`);
    partial = null;
  };
  return {
    event(e: Entry) {
      flush();
      const code = STATE_COLORS[String(e.to ?? "")] ?? "36";
      out.write(`${time(e.ts)}  ${paint(color, code, `── ${describeEvent(e)}`)}\n`);
    },
    output(ts: string, text: string) {
      const lines = (partial ? partial.text : "").concat(stripAnsi(text).replace(/\r\n/g, "\n")).split("\n");
      const last = lines.pop() ?? "";
      const at = partial?.text ? partial.ts : ts;
      partial = null;
      lines.forEach((line, i) => {
        out.write(`${time(i === 0 ? at : ts)}  ${applyCarriageReturns(line)}\n`);
      });
      partial = { ts, text: last };
    },
    flush,
  };
}

export async function logsCommand(flags: Flags, positionals: string[], out: NodeJS.WriteStream): Promise<number> {
  const [id, ...extra] = positionals;
  if (!id || extra.length > 0) throw new UsageError("logs needs one session id, e.g. conductor logs review-1 -f");
  // Digits only: Number() reads "0x10" as 16 and "1e3" as 1000.
  const lines = flags.lines === undefined ? 200 : /^\d+$/.test(String(flags.lines)) ? Number(flags.lines) : Number.NaN;
  if (!Number.isInteger(lines) || lines < 1)
    throw new UsageError(`--lines needs a positive number (got ${flags.lines})`);
  const color = Boolean(out.isTTY) && flags.color !== false;
  const printer = createLogPrinter(out, color);
  return withConductor(flags, async (client) => {
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
    for (const e of history.entries) {
      lastTs = e.ts;
      if (e.type === "output") printer.output(e.ts, String(e.text));
      else printer.event(e);
      if (e.type !== "output") final = isFinal(e);
    }
    if (!stream || final) {
      printer.flush();
      return 0;
    }
    const onMessage = (m: StreamMessage) => {
      if (m.stream === "output") {
        // Without positions (an older conductor): output that came before the history is in it.
        const text = unseenText(m.data, history.outputEnd) ?? (sink ? m.data.text : "");
        if (text) printer.output(m.data.ts, text);
      } else if (m.stream === "event") {
        if (m.data.ts > lastTs) printer.event(m.data);
        if (isFinal(m.data)) {
          printer.flush();
          ended?.();
        }
      } else if (m.stream === "end") {
        printer.flush();
        out.write(paint(color, "90", `── the conductor is shutting down (${m.data.reason})\n`));
        ended?.();
      }
    };
    for (const m of live) onMessage(m);
    sink = onMessage;
    await Promise.race([done, client.closed]);
    printer.flush();
    return 0;
  });
}
