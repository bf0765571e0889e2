/**
 * Process-wide SIGINT/SIGTERM/SIGHUP traps shared by every conductor in the process.
 *
 * SIGHUP is what a closed terminal or a dropped ssh connection delivers: untrapped, Node dies at
 * once and every agent lives on unsupervised; trapped, it is a shutdown like SIGTERM.
 *
 * The seed added two listeners per conductor and never removed them (a leak hidden by raising the
 * max-listeners limit), and after a trap the process kept running. Here one listener per signal
 * exists while at least one target is registered; a signal shuts every target down in parallel,
 * then exits with the shell's convention for death by that signal (128 + signo).
 */
import { closeSync, openSync } from "node:fs";
import { isatty } from "node:tty";

export interface ShutdownTarget {
  shutdown(reason: string): Promise<void>;
}

export type TrappedSignal = "SIGINT" | "SIGTERM" | "SIGHUP";

export interface SignalTrapOptions {
  /** Upper bound on waiting for all shutdowns before exiting anyway. */
  timeoutMs?: number;
  /** Injectable for tests; defaults to process.exit. */
  exit?: (code: number) => void;
  /** Where problems (a failing shutdown, the timeout) are reported. Defaults to stderr. */
  warn?: (message: string) => void;
}

const EXIT_CODES: Record<TrappedSignal, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
const SIGNALS: readonly TrappedSignal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
const DEFAULT_TIMEOUT_MS = 30_000;

interface Registration {
  target: ShutdownTarget;
}

const registrations = new Set<Registration>();
let installed = false;
let shuttingDown: { code: number } | null = null;
let config: Required<SignalTrapOptions> = defaults();
// Bumped by resetSignalTraps so a shutdown still in flight from before the reset stays inert.
let epoch = 0;
let pendingTimer: NodeJS.Timeout | undefined;

/** Which of fds 0–2 were a terminal when this module loaded (a hangup ends that, leaveHungUpTerminal). */
const stdioWasTty = [0, 1, 2].map((fd) => isatty(fd));

/**
 * A closed terminal, seen from a process about to exit: Node's exit restores each terminal fd's saved
 * modes and aborts when that fails (tcsetattr → EIO on a hung-up tty: "Assertion failed" in
 * node::ResetStdio, nodejs/node#51519; Node 24 ignores the error, nodejs/node#58200). A stdio fd that
 * was a terminal and is none now is pointed at /dev/null first, which Node's check then skips. A
 * terminal still there is left alone, so its modes are restored as usual.
 */
export function leaveHungUpTerminal(): void {
  for (const fd of [0, 1, 2]) {
    if (!stdioWasTty[fd] || isatty(fd)) continue;
    try {
      closeSync(fd);
      const got = openSync("/dev/null", fd === 0 ? "r" : "w"); // the lowest free fd: this one
      if (got !== fd) closeSync(got); // then it stays closed, which Node's check skips too
    } catch {
      // Closed already: nothing of it to restore.
    }
  }
}

function defaults(): Required<SignalTrapOptions> {
  return {
    timeoutMs: DEFAULT_TIMEOUT_MS,
    exit: (code) => {
      if (code === EXIT_CODES.SIGHUP) leaveHungUpTerminal();
      process.exit(code);
    },
    warn: (message) => process.stderr.write(`[signal-traps] ${message}\n`),
  };
}

// One stable function per signal, so process.off removes exactly what we added.
const handlers: Record<TrappedSignal, () => void> = {
  SIGINT: () => void onSignal("SIGINT"),
  SIGTERM: () => void onSignal("SIGTERM"),
  SIGHUP: () => void onSignal("SIGHUP"),
};

function install(): void {
  if (installed) return;
  installed = true;
  for (const sig of SIGNALS) process.on(sig, handlers[sig]);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  for (const sig of SIGNALS) process.off(sig, handlers[sig]);
}

async function onSignal(sig: TrappedSignal): Promise<void> {
  const code = EXIT_CODES[sig];
  if (shuttingDown) {
    // A hangup comes more than once (the kernel's to the session leader, the shell's to its jobs as it
    // goes, the kernel's to the foreground group once the leader is gone): nobody asked twice, so the
    // shutdown goes on (a terminal closed on `conductor run` ended it after 1.5 s: its log cut short).
    if (sig === "SIGHUP") return;
    // A second Ctrl-C while shutting down: the person wants out now. Keep the first signal's code.
    config.exit(shuttingDown.code);
    return;
  }
  shuttingDown = { code };
  const myEpoch = epoch;
  const { timeoutMs, exit, warn } = config;
  // Targets may unregister while shutting down; snapshot them (one shutdown per distinct target).
  const targets = [...new Set([...registrations].map((r) => r.target))];
  const reason = `signal:${sig}`;
  const all = Promise.all(
    targets.map((t) =>
      Promise.resolve()
        .then(() => t.shutdown(reason))
        .catch((err: unknown) => {
          warn(`shutdown(${reason}) failed: ${err instanceof Error ? err.message : String(err)}`);
        }),
    ),
  ).then(() => "done" as const);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
    pendingTimer = timer;
  });
  const outcome = await Promise.race([all, timeout]);
  // This shutdown's own timer: one from before a reset, ending late, cleared the next one's.
  clearTimeout(timer);
  if (myEpoch !== epoch) return;
  if (outcome === "timeout") warn(`shutdown still running after ${timeoutMs} ms; exiting anyway`);
  shuttingDown = null;
  // Listeners stayed installed during the shutdown so a second signal still meets our handler;
  // now the usual rule applies again (only matters when `exit` does not end the process, i.e. tests).
  if (registrations.size === 0) uninstall();
  exit(code);
}

/**
 * Registers a target for shutdown on SIGINT/SIGTERM/SIGHUP. Returns the function that unregisters it
 * (idempotent). The first registration installs the process listeners, the last removal removes them.
 */
export function registerForSignals(target: ShutdownTarget): () => void {
  if (!target || typeof target.shutdown !== "function") {
    throw new TypeError("registerForSignals(target): target must have a shutdown(reason) method");
  }
  const reg: Registration = { target };
  registrations.add(reg);
  install();
  let done = false;
  return () => {
    if (done) return;
    done = true;
    registrations.delete(reg);
    if (registrations.size === 0 && !shuttingDown) uninstall();
  };
}

/** Process-wide settings (timeout, exit, warn). Unspecified fields keep their current value. */
export function configureSignalTraps(opts: SignalTrapOptions): void {
  config = { ...config, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) };
}

/** Our listeners currently on `process` for one signal, or for all three when none is given. */
export function installedSignalListenerCount(signal?: TrappedSignal): number {
  const sigs = signal ? [signal] : SIGNALS;
  return sigs.reduce((n, sig) => n + process.listeners(sig).filter((l) => l === handlers[sig]).length, 0);
}

/** Number of live registrations (each registerForSignals call not yet undone). */
export function signalRegistrationCount(): number {
  return registrations.size;
}

/** Test helper: drops every registration, removes the listeners and restores the default settings. */
export function resetSignalTraps(): void {
  epoch += 1;
  clearTimeout(pendingTimer);
  registrations.clear();
  shuttingDown = null;
  uninstall();
  config = defaults();
}
