/**
 * What `conductor run` says while its sessions live (each move with the CLI's own words, accounts,
 * the CLIs' own retries, questions and the config's answers to them) and the summary at its end.
 */
import { retryNotice } from "../../machines/session.retries.js";
import type { RunConfig } from "../config.js";
import type { createConductor } from "../conductor.js";
import { type createStatusView, formatBytes } from "./status-view.js";

type Conductor = ReturnType<typeof createConductor>;

/** Answers to one question of one run before it is left to the operator (a menu redrawn as the same). */
const MAX_ANSWERS = 3;

/**
 * What a killed earlier conductor left running, ended as this one starts (src/survivors.ts): said on
 * screen, not only in the event log. Listened to at once (the sweep may end before the view exists);
 * `say` is given the view once there is one, and hears what came before it then.
 */
export function sayingSurvivors(conductor: Conductor): { say(note: (line: string) => void): void } {
  const early: string[] = [];
  let note: ((line: string) => void) | null = null;
  conductor.on("survivors", (r) => {
    const still = r.left.length > 0 ? `; still alive after SIGKILL: ${r.left.join(" ")}` : "";
    const line =
      `ended ${r.pids.length} process(es) an earlier conductor left running (pid ${r.previousPid}, ` +
      `started ${r.previousStartedAt}, logs ${r.previousLogsDir}): ${r.names.join(", ")}${still}`;
    if (note) note(line);
    else early.push(line);
  });
  return {
    say(to) {
      note = to;
      for (const line of early.splice(0)) to(line);
    },
  };
}

/** Narrates the run on its status view; answers a question the config has an answer for. */
export function narrateRun(conductor: Conductor, view: ReturnType<typeof createStatusView>, config: RunConfig): void {
  // A session seen before that starts from `init` again was restarted by hand (`conductor restart` of
  // a final session: a new actor under its id), not a new session.
  const seen = new Set<string>();
  // A run that failed says the CLI's own words with the move, not only the verdict's name.
  conductor.on("stateChange", (e) => {
    if (e.from === "init" && seen.has(e.sessionId)) {
      view.moved(e.sessionId, e.from, e.to, `${e.reason}: restarted by hand (conductor restart)`);
      return;
    }
    seen.add(e.sessionId);
    const lastError = e.to === "failed" ? conductor.getSnapshot().find((s) => s.id === e.sessionId)?.lastError : null;
    // A spawn error's reason carries its message already (`spawn_error:<message>`): said once.
    view.moved(
      e.sessionId,
      e.from,
      e.to,
      lastError && !e.reason.includes(lastError) ? `${e.reason}: ${lastError}` : e.reason,
    );
  });
  conductor.on("account", (e: { sessionId: string; accountId: string; provider: string; tier: string }) =>
    view.note(`${e.sessionId} runs on ${e.provider} account ${e.accountId} (${e.tier})`),
  );
  conductor.on("accountWait", (e: { sessionId: string; etaMs: number | null; reason: string }) =>
    view.note(
      `${e.sessionId} waits for an account: ${e.reason}${e.etaMs ? ` (one expected in ${Math.ceil(e.etaMs / 1000)} s)` : ""}`,
    ),
  );
  // A CLI retrying the API by itself for minutes is not silent here (claude's 10 retries of a 529: ~3 min).
  conductor.on("agentRetry", (e) => view.note(`${e.sessionId}: ${retryNotice(e)}`));
  // How often each question of each run was answered: one asked again after MAX_ANSWERS answers did
  // not take them, and typing the same again would only fill its input.
  const answered = new Map<string, number>();
  conductor.on("inputWait", (e) => {
    // A composer waits for the next instruction, not for an answer: its line is the agent's own (a
    // field review: the model's "Do you want to proceed?" matched a `proceed` answer, and "1" was typed
    // into the composer as a prompt).
    if (e.kind === "composer") {
      view.note(`${e.sessionId} waits at its composer: "${e.line}"`);
      return;
    }
    const session = config.sessions.find((s) => s.id === e.sessionId);
    const answer = session?.answers?.find((a) => new RegExp(a.match, "i").test(e.line));
    if (!answer) {
      view.note(`${e.sessionId} is waiting for input: "${e.line}" (no answer configured)`);
      return;
    }
    const key = `${e.sessionId}\n${e.generation}\n${e.line}`;
    const times = answered.get(key) ?? 0;
    if (times >= MAX_ANSWERS) {
      view.note(`${e.sessionId} asked "${e.line}" again after ${times} answers: not answered again`);
      return;
    }
    answered.set(key, times + 1);
    const sent = conductor.sendInput(e.sessionId, answer.send);
    view.note(
      `${e.sessionId} asked "${e.line}" → ${sent ? "answered" : "could not answer"} (${answer.send.length} chars)`,
    );
  });
}

/** The table of how each session ended against what the config expected; the exit code (0: all as expected). */
export function printSummary(
  sessions: ReturnType<Conductor["getSnapshot"]>,
  config: RunConfig,
  eventLogPath: string,
  out: NodeJS.WriteStream,
): number {
  const width = Math.max(8, ...sessions.map((s) => s.id.length), ...config.sessions.map((c) => c.id.length));
  let unexpected = 0;
  out.write(`\nsummary:\n`);
  // In the config's order: a session restarted by hand is a new actor, listed last by the conductor.
  const order = new Map(config.sessions.map((c, i) => [c.id, i]));
  const byConfig = [...sessions].sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
  for (const s of byConfig) {
    const expected = config.sessions.find((c) => c.id === s.id)?.expect ?? "completed";
    const ok = s.state === expected;
    if (!ok) unexpected++;
    const why = s.failureMode ? `${s.failureMode}, ${s.reason}` : s.reason;
    out.write(
      `  ${ok ? "ok  " : "FAIL"}  ${s.id.padEnd(width)}  ${s.state.padEnd(9)}  expected ${expected.padEnd(9)}  ` +
        `restarts ${s.restarts}  ${formatBytes(s.health.outputBytes)}  ${why}\n`,
    );
    // Why it ended, in the CLI's own words and its exit: the verdict's name alone sent an operator to
    // the event log (a field review: "rate_limited, maxRestarts(1)_exceeded", its 429 line unsaid).
    const cause = lastWords(s);
    if (cause) out.write(`  ${" ".repeat(4 + 2 + width)}  └ ${cause}\n`);
  }
  // A run stopped before it started them all (a signal, `conductor stop`): the others never ran.
  const notStarted = config.sessions.filter((c) => !sessions.some((s) => s.id === c.id));
  for (const c of notStarted)
    out.write(
      `  FAIL  ${c.id.padEnd(width)}  not started (the run was stopped first)  expected ${c.expect ?? "completed"}\n`,
    );
  unexpected += notStarted.length;
  out.write(`event log: ${eventLogPath}\n`);
  out.write(
    unexpected === 0
      ? `all ${sessions.length} sessions ended as expected\n`
      : `${unexpected} session(s) did not end as expected\n`,
  );
  return unexpected === 0 ? 0 : 1;
}

/** The last run's exit and the CLI's own error line, one line: "exit 1: Error: ENOENT: …"; null when there is neither. */
function lastWords(s: ReturnType<Conductor["getSnapshot"]>[number]): string | null {
  const exit = s.exit ? (s.exit.signal ? `killed by ${s.exit.signal}` : `exit ${s.exit.exitCode}`) : null;
  const error = s.lastError ? (s.lastError.length > 160 ? `${s.lastError.slice(0, 159)}…` : s.lastError) : null;
  if (s.state === "completed" && !error) return null;
  return [exit, error].filter(Boolean).join(": ") || null;
}
