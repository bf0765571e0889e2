/**
 * `conductor attach <id>`: the session's screen as its pty renders it, then live. Read-only by
 * default; `--input` sends each line typed here to the session (as `conductor send` does).
 * Not on a TTY (or with `--no-follow`): prints the rendered screen once and exits.
 */
import { createInterface } from "node:readline";
import type { ControlSession, StreamMessage } from "../control/protocol.js";
import { type Flags, UsageError } from "./args.js";
import { describeTarget, silentError, withConductor } from "./connect.js";

const FINAL = new Set(["completed", "dead"]);

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
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const [id, ...extra] = positionals;
  if (!id || extra.length > 0) throw new UsageError("attach needs one session id, e.g. conductor attach review-1");
  const follow = flags.follow ?? Boolean(out.isTTY);
  // Not following, --input had nothing to send with: it was ignored without a word.
  if (flags.input && !follow)
    throw new UsageError(
      "--input needs a live attach: on a terminal, or with --follow (to type a line once: conductor send <id> <text>)",
    );
  return withConductor(flags, async (client, entry) => {
    const screen = await client.request<Screen>({ op: "screen", session: id });
    const lines = [...screen.lines];
    while (lines.length > 0 && lines.at(-1)?.trim() === "") lines.pop();
    if (!follow) {
      out.write(`${lines.join("\n")}\n`);
      return 0;
    }
    /** "── review-1 has ended (dead: control_kill) ──" when it is final, else null. */
    const endedLine = async (): Promise<string | null> => {
      const s = (await client.request<ControlSession[]>({ op: "sessions" })).find((x) => x.id === id);
      if (!s || !FINAL.has(s.state)) return null;
      return `── ${id} has ended (${s.state}${s.reason ? `: ${s.reason}` : ""}) ──`;
    };
    if (FINAL.has(screen.state)) {
      // Nothing will come: following it waited forever (a session that ended before the attach).
      out.write(`${lines.join("\n")}\n${(await endedLine()) ?? `── ${id} has ended (${screen.state}) ──`}\n`);
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
    let stopping = false;
    if (flags.input) {
      rl = createInterface({ input });
      // A pipe's end is no detach (the session's answer to what was sent is still to come), but it is
      // said: a script that piped its lines in waited on in silence (a field review).
      rl.once("close", () => {
        if (!stopping)
          err.write(`conductor attach: end of input; still following ${id} until it ends (Ctrl-C detaches)\n`);
      });
      rl.on(
        "line",
        (line) =>
          void client
            .request({ op: "send", session: id, text: line })
            .catch((e: unknown) =>
              err.write(`conductor attach: not sent: ${(silentError(entry, e) as Error).message}\n`),
            ),
      );
    }
    const onSigint = () => finish();
    process.once("SIGINT", onSigint);
    let how: "ended" | "lost";
    try {
      // Ended between the screen and the follow: its final event went by before the follow began.
      const endedMeanwhile = await endedLine().catch(() => null); // a lost connection is said below
      if (endedMeanwhile) {
        out.write(`\n${endedMeanwhile}\n`);
        finish();
      }
      how = await Promise.race([done.then(() => "ended" as const), client.closed.then(() => "lost" as const)]);
    } finally {
      process.off("SIGINT", onSigint);
      stopping = true;
      rl?.close();
      await stream.stop();
    }
    // Closed without its end said (killed, crashed): it exited 0 without a word.
    if (how === "lost") {
      err.write(`conductor attach: connection to ${describeTarget(entry)} lost (it died?)\n`);
      return 1;
    }
    return 0;
  });
}
