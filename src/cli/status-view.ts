/**
 * What `conductor run` shows while it works: on a TTY a live block of one line per session,
 * redrawn in place; otherwise (CI, pipes, files) plain timestamped lines, one per move.
 */
import type { SessionSnapshot } from "../session-view.js";
import { fitToWidth } from "./cell-width.js";
import { keptNotes, rowsOf } from "./kept-notes.js";
import { STATE_COLORS as COLORS } from "./connect.js";

export interface StatusView {
  /** A session moved; plain mode prints it, TTY mode redraws. */
  moved(sessionId: string, from: string, to: string, reason: string): void;
  /** A one-off note (an answer sent, a signal received). */
  note(text: string): void;
  /** Stop redrawing and leave the last frame on screen. */
  close(): void;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function sessionLine(s: SessionSnapshot, color: boolean, idWidth: number): string {
  const paint = (text: string) => (color ? `\x1b[${COLORS[s.state] ?? "0"}m${text}\x1b[0m` : text);
  const parts = [
    s.id.padEnd(idWidth),
    paint(s.state.padEnd(10)),
    `pid ${s.pid ?? "-"}`.padEnd(10),
    `restarts ${s.restarts}`,
    formatBytes(s.health.outputBytes).padStart(9),
    s.reason ? `(${s.reason})` : "",
  ];
  return parts.join("  ").trimEnd();
}

export function createStatusView(
  out: NodeJS.WriteStream,
  getSessions: () => SessionSnapshot[],
  startedAt = Date.now(),
  color = true,
): StatusView {
  const elapsed = () => ((Date.now() - startedAt) / 1000).toFixed(2).padStart(6);
  if (!out.isTTY) {
    return {
      moved: (id, from, to, reason) =>
        out.write(`[${elapsed()}s] ${id}: ${from} → ${to}${reason ? ` (${reason})` : ""}\n`),
      note: (text) => out.write(`[${elapsed()}s] ${text}\n`),
      close: () => undefined,
    };
  }
  let drawn = 0;
  let drawnColumns = out.columns ?? 0;
  let clear = false;
  const notes: string[] = [];
  const history = keptNotes();
  const draw = () => {
    const sessions = getSessions();
    const width = Math.max(8, ...sessions.map((s) => s.id.length));
    // The block must fit the screen: ESC[nF cannot move above its top, so a taller block was drawn
    // again below the last one every 200 ms (17 copies in 3.5 s with 50 sessions on 20 rows).
    // Its sessions, a "… N more" line if they do not all fit, the footer: at most rows - 1 lines.
    const room = out.rows && out.rows > 0 ? Math.max(1, out.rows - 2) : Number.POSITIVE_INFINITY;
    const shown = sessions.length > room ? sessions.slice(0, Math.max(0, room - 1)) : sessions;
    const more = sessions.length - shown.length;
    const dim = (text: string) => (color ? `\x1b[90m${text}\x1b[0m` : text);
    const block = [
      ...shown.map((s) => `  ${sessionLine(s, color, width)}`),
      ...(more > 0 ? [`  ${dim(`… ${more} more (conductor ls)`)}`] : []),
      `  ${dim(`${elapsed()}s elapsed, ${sessions.filter((s) => s.state === "completed" || s.state === "dead").length}/${sessions.length} final`)}`,
    ];
    // One screen row per line, or the move up below misses the frame's top: each is cut to the width
    // (a long reason wrapped). Notes are history above the block, not redrawn but after a clear: they may wrap.
    const columns = out.columns && out.columns > 0 ? out.columns : Number.POSITIVE_INFINITY;
    const fresh = notes.splice(0);
    // The clear took the notes above the table off the screen: the newest that fit are shown again.
    const free = (out.rows && out.rows > 0 ? out.rows : Number.POSITIVE_INFINITY) - 1 - block.length;
    const again = clear ? history.fitting(free - fresh.reduce((n, t) => n + rowsOf(t, columns), 0), columns) : [];
    history.printed(fresh);
    const lines = [...again, ...fresh, ...block.map((line) => fitToWidth(line, columns))];
    // Move up over the previous frame and clear it; notes scroll above the live block.
    const up = clear ? "\x1b[H\x1b[2J" : drawn > 0 ? `\x1b[${drawn}F\x1b[0J` : "";
    out.write(`${up + lines.join("\n")}\n`);
    drawn = block.length;
    drawnColumns = out.columns ?? 0;
    clear = false;
  };
  // Narrower, a terminal rewraps the lines drawn (VTE, kitty) or cuts them (xterm): the rows the
  // last frame takes are unknown, so the screen is cleared first; so too when fewer rows than the
  // frame leave its top out of reach. Wider, each line still takes one row. Redrawn at once.
  const onResize = () => {
    if ((out.columns ?? 0) < drawnColumns || (out.rows ?? Number.POSITIVE_INFINITY) <= drawn) clear = true;
    draw();
  };
  out.on("resize", onResize);
  const timer = setInterval(draw, 200);
  timer.unref();
  return {
    // A failure and its reason, a line above the table as the plain output prints it (the table
    // alone showed the state it is in now, and nothing of why).
    moved: (id, from, to, reason) => {
      if (to !== "failed" && !(to === "dead" && from !== "failed")) return;
      notes.push(`[${elapsed()}s] ${id}: ${from} → ${to}${reason ? ` (${reason})` : ""}`);
      draw();
    },
    note: (text) => {
      notes.push(text);
      draw();
    },
    close: () => {
      clearInterval(timer);
      out.off("resize", onResize);
      draw();
    },
  };
}
