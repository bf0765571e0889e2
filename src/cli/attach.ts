/**
 * `conductor attach <id>`: the session's screen as its pty renders it, then live. Read-only by
 * default; `--input` sends each line typed here to the session (as `conductor send` does).
 * Not on a TTY (or with `--no-follow`): prints the rendered screen once and exits.
 */
import { createInterface } from "node:readline";
import type { StreamMessage } from "../control/protocol.js";
import { type Flags, UsageError } from "./args.js";
import { withConductor } from "./connect.js";

interface Screen {
  session: string;
  state: string;
  cols: number;
  rows: number;
  lines: string[];
}

export async function attachCommand(
  flags: Flags,
  positionals: string[],
  out: NodeJS.WriteStream,
  input: NodeJS.ReadStream = process.stdin,
): Promise<number> {
  const [id, ...extra] = positionals;
  if (!id || extra.length > 0) throw new UsageError("attach needs one session id, e.g. conductor attach review-1");
  const follow = flags.follow ?? Boolean(out.isTTY);
  return withConductor(flags, async (client, entry) => {
    const screen = await client.request<Screen>({ op: "screen", session: id });
    const lines = [...screen.lines];
    while (lines.length > 0 && lines.at(-1)?.trim() === "") lines.pop();
    if (!follow) {
      out.write(`${lines.join("\n")}\n`);
      return 0;
    }
    const tty = Boolean(out.isTTY);
    const banner = `── ${entry.name}/${id} (${screen.state}), ${screen.cols}×${screen.rows}; ${
      flags.input ? "lines you type are sent to it" : "read-only"
    }; Ctrl-C detaches ──`;
    // Clear and home on a terminal, then the rendered screen; from there on the raw bytes, which
    // the terminal renders itself exactly as the session's pty did.
    out.write(`${tty ? "\x1b[2J\x1b[H" : ""}${tty ? `\x1b[7m${banner}\x1b[0m` : banner}\n${lines.join("\n")}\n`);
    let finish = () => {};
    const done = new Promise<void>((r) => (finish = r));
    const stream = await client.follow({ sessions: [id], events: true, output: true }, (m: StreamMessage) => {
      if (m.stream === "output") out.write(m.data.text);
      else if (m.stream === "event" && (m.data.type === "completed" || m.data.type === "dead")) {
        out.write(`\n── ${id} is ${m.data.type} ──\n`);
        finish();
      } else if (m.stream === "end") finish();
    });
    let rl: ReturnType<typeof createInterface> | null = null;
    if (flags.input) {
      rl = createInterface({ input });
      rl.on("line", (line) => void client.request({ op: "send", session: id, text: line }).catch(() => undefined));
    }
    const onSigint = () => finish();
    process.once("SIGINT", onSigint);
    try {
      await Promise.race([done, client.closed]);
    } finally {
      process.off("SIGINT", onSigint);
      rl?.close();
      await stream.stop();
    }
    return 0;
  });
}
