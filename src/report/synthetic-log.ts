/**
 * A synthetic event log of any size, shaped like a long night of agents (format 2 lines, many
 * sessions restarting, stalling, asking, being rate limited), for the report's memory bench and
 * tests. Written in chunks with backpressure: generating 1 GB holds about one chunk.
 */
import fs from "node:fs";

export interface SyntheticLogOptions {
  /** Approximate size in bytes. */
  bytes: number;
  sessions?: number;
  /** End with half a line, as a crash mid-write leaves it. */
  tornTail?: boolean;
  startMs?: number;
}

const CYCLE: Array<[string, string, string]> = [
  ["init", "starting", "initial"],
  ["starting", "healthy", "first_output"],
  ["healthy", "stalled", "L1_stall"],
  ["stalled", "healthy", "output_resumed"],
  ["healthy", "input_wait", "input_wait:yes_no"],
  ["input_wait", "healthy", "output_resumed"],
  ["healthy", "failed", "rate_limited_on_screen"],
  ["failed", "restarting", "restart_1/3"],
  ["restarting", "starting", "respawn"],
];

export async function writeSyntheticLog(path: string, opts: SyntheticLogOptions): Promise<{ lines: number }> {
  const sessions = opts.sessions ?? 100;
  const out = fs.createWriteStream(path, { mode: 0o600 });
  let seq = 0;
  let t = opts.startMs ?? Date.parse("2026-11-30T22:00:00Z");
  let written = 0;
  let chunk = "";
  const line = (event: string, data: Record<string, unknown>) => {
    seq++;
    t += 7;
    const text = `${JSON.stringify({ seq, ts: new Date(t).toISOString(), event, v: 2, ...data })}\n`;
    chunk += text;
    written += text.length;
  };
  const flush = async () => {
    if (!out.write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()));
    chunk = "";
  };
  line("conductor.start", { logsDir: "/var/tmp/night", pid: 4242, maxRestarts: 3, graceMs: 10_000 });
  const step = new Array<number>(sessions).fill(0);
  const attempt = new Array<number>(sessions).fill(0);
  while (written < opts.bytes) {
    for (let i = 0; i < sessions && written < opts.bytes; i++) {
      const session = `agent-${String(i).padStart(3, "0")}`;
      const [from, to, reason] = CYCLE[(step[i] as number) % CYCLE.length] as [string, string, string];
      step[i] = (step[i] as number) + 1;
      if (to === "starting") {
        attempt[i] = (attempt[i] as number) + 1;
        line("pty.spawned", { session, generation: attempt[i], pid: 10_000 + i });
        line("session.spawn", { session, agent: "codex", pid: 10_000 + i, attempt: attempt[i], argv: ["codex"] });
        line("session.account", { session, accountId: `acct-${i % 3}`, provider: "codex", tier: "pro" });
      }
      if (to === "failed") {
        line("pty.exit", { session, generation: attempt[i], pid: 10_000 + i, exitCode: 1, signal: null, bytes: 4096 });
        line("session.exit", { session, attempt: attempt[i], code: 1, signal: null, failureMode: "rate_limited" });
      }
      if (to === "input_wait") line("session.input_wait", { session, l1: "input_wait", pattern: "yes_no" });
      line("session.state_change", { session, from: step[i] === 1 ? "init" : from, to, reason, restarts: attempt[i] });
    }
    if (chunk.length > 1 << 20) await flush();
  }
  line("conductor.shutdown", { reason: "signal:SIGTERM", sessions, live: sessions });
  if (opts.tornTail) chunk += `{"seq":${seq + 1},"ts":"${new Date(t + 1).toISOString()}","event":"session.sta`;
  else line("conductor.shutdown_complete", { reason: "signal:SIGTERM", durationMs: 812, pendingReaps: 0 });
  await flush();
  await new Promise<void>((r, j) => out.end((err?: Error | null) => (err ? j(err) : r())));
  return { lines: seq };
}
