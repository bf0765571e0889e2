/**
 * Runs one real CLI in a pty (node-pty, 120×40 by default) and records what it wrote, with timing,
 * while a headless xterm renders the screen (and answers the terminal queries a TUI sends, as a real
 * terminal would). Optional steps wait for text on the screen and type keys.
 */
import pty from "node-pty";
import { ScreenTail } from "../../actors/screen-tail.js";
import type { CastEvent } from "./cast.js";
import { killAll, type ProcInfo, processesWithMarker } from "./proc-scan.js";

export interface Step {
  /** Wait until the rendered screen matches. */
  waitFor: RegExp;
  /** Then wait until no output came for this long (default 1500 ms): the screen has settled. */
  settleMs?: number;
  /**
   * ... but no longer than this (default 8000 ms): some TUIs never go quiet while they wait
   * (claude blinks a dot every ~0.6 s under its permission prompt).
   */
  settleMaxMs?: number;
  /** Then type this (keys as bytes: "\r" Enter, "\x1b" Esc, "\x03" Ctrl+C). */
  send?: string;
}

export interface RecordOptions {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  marker: string;
  cols?: number;
  rows?: number;
  steps?: Step[];
  /** After the last step: stop the program (TUIs never exit by themselves). Default: wait for exit. */
  stopAfterSteps?: boolean;
  /** How the recorder stops the program (default SIGTERM; SIGHUP is what closing a terminal sends). */
  stopSignal?: "SIGTERM" | "SIGHUP" | "SIGINT";
  /** Hard bound on the run; the recorder kills the program after it (and says so). */
  maxMs: number;
}

export interface RecordResult {
  events: CastEvent[];
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  /** The rendered screen at the end (non-empty rows). */
  screen: string[];
  /** The rendered screen when the last step matched (the question a dialog asked). */
  stepScreens: string[][];
  /** Seconds into the recording at which each step's screen was taken. */
  stepTimes: number[];
  /** Per step: whether output went quiet for settleMs before the screen was taken. */
  stepSettled: boolean[];
  /** true when the recorder ended the program (a TUI, or a run over maxMs). */
  stoppedByRecorder: boolean;
  timedOut: boolean;
  stepFailed: string | null;
  /** The run's processes just before it was stopped, and those alive 2 s after it exited. */
  treeBeforeStop: ProcInfo[];
  leftovers: ProcInfo[];
}

const SIGNALS: Record<number, string> = { 1: "SIGHUP", 2: "SIGINT", 9: "SIGKILL", 15: "SIGTERM" };

export async function recordRun(o: RecordOptions): Promise<RecordResult> {
  const cols = o.cols ?? 120;
  const rows = o.rows ?? 40;
  const screen = new ScreenTail({ cols, rows });
  const events: CastEvent[] = [];
  const started = performance.now();
  const t = () => Math.round(performance.now() - started) / 1000;
  const term = pty.spawn(o.argv[0]!, o.argv.slice(1), {
    name: "xterm-256color",
    cols,
    rows,
    cwd: o.cwd,
    env: o.env,
    encoding: null,
  });
  let lastOutput = performance.now();
  let rendered: Promise<void> = Promise.resolve();
  const onScreen = new Set<() => void>();
  const decoder = new TextDecoder("utf-8", { fatal: false });
  term.onData((d) => {
    const buf = d as unknown as Buffer;
    lastOutput = performance.now();
    events.push([t(), "o", decoder.decode(buf, { stream: true })]);
    rendered = rendered
      .then(() => screen.write(buf))
      .then(() => {
        for (const f of onScreen) f();
      });
  });
  const type = (data: string) => {
    events.push([t(), "i", data]);
    term.write(data);
  };
  screen.onResponse((d) => type(d));
  const exited = new Promise<{ exitCode: number; signal?: number }>((resolve) => term.onExit(resolve));
  let exit: { exitCode: number; signal?: number } | undefined;
  void exited.then((e) => {
    exit = e;
  });
  const screenText = () => screen.lastLines(rows).join("\n");
  const until = (deadline: number, test: () => boolean) =>
    new Promise<boolean>((resolve) => {
      const check = () => {
        if (test()) done(true);
        else if (exit || performance.now() > deadline) done(false);
      };
      const timer = setInterval(check, 100);
      const done = (v: boolean) => {
        clearInterval(timer);
        onScreen.delete(check);
        resolve(v);
      };
      onScreen.add(check);
      check();
    });

  const deadline = started + o.maxMs;
  const stepScreens: string[][] = [];
  const stepTimes: number[] = [];
  const stepSettled: boolean[] = [];
  let stepFailed: string | null = null;
  for (const step of o.steps ?? []) {
    if (!(await until(deadline, () => step.waitFor.test(screenText())))) {
      stepFailed = `never saw ${step.waitFor} on screen`;
      break;
    }
    const settle = step.settleMs ?? 1500;
    const settleDeadline = Math.min(deadline, performance.now() + (step.settleMaxMs ?? 8000));
    stepSettled.push(await until(settleDeadline, () => performance.now() - lastOutput >= settle));
    await rendered;
    stepScreens.push(screen.lastLines(rows));
    stepTimes.push(events.at(-1)?.[0] ?? 0);
    if (step.send !== undefined) type(step.send);
  }
  let stoppedByRecorder = false;
  let timedOut = false;
  let treeBeforeStop: ProcInfo[] = [];
  if (!(o.stopAfterSteps || stepFailed)) await until(deadline, () => false);
  if (!exit) {
    treeBeforeStop = processesWithMarker(o.marker);
    stoppedByRecorder = true;
    timedOut = !(o.stopAfterSteps || stepFailed);
    term.kill(o.stopSignal ?? "SIGTERM");
    const gone = await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]);
    if (!gone) term.kill("SIGKILL");
  }
  const final = await exited;
  const durationMs = Math.round(performance.now() - started);
  await sleep(300); // node-pty can deliver exit before the last data (microsoft/node-pty#72)
  await rendered;
  await sleep(2000);
  const leftovers = processesWithMarker(o.marker);
  killAll(leftovers);
  const result: RecordResult = {
    events,
    exitCode: final.signal ? null : final.exitCode,
    signal: final.signal ? (SIGNALS[final.signal] ?? String(final.signal)) : null,
    durationMs,
    screen: screen.lastLines(rows),
    stepScreens,
    stepTimes,
    stepSettled,
    stoppedByRecorder,
    timedOut,
    stepFailed,
    treeBeforeStop,
    leftovers,
  };
  screen.dispose();
  return result;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
