/**
 * The end of `conductor run`, after its sessions are final or a stop (a signal, `conductor stop`):
 * the shutdown, the summary, the exit code, and the viewer kept up after it (--inspect).
 */
import type { RunConfig } from "../config.js";
import type { createConductor } from "../conductor.js";
import type { ControlServer } from "../control/server.js";
import { ConductorError } from "../errors.js";
import type { Viewer } from "../viewer/index.js";
import { runsDetached } from "./detach.js";
import { type RunErrorContext, runErrorMessage } from "./run-errors.js";
import { printSummary } from "./run-narration.js";
import type { StatusView } from "./status-view.js";

export interface RunToEnd {
  conductor: ReturnType<typeof createConductor>;
  config: RunConfig;
  ctx: RunErrorContext;
  view: StatusView;
  control: ControlServer | null;
  viewer: Viewer | null;
  /** --linger: seconds the viewer stays up after the run. */
  lingerSeconds: number | undefined;
}

/** Shuts the run down and prints its summary; the exit code: 0 every session ended as expected, else 1. */
export async function endRun(run: RunToEnd, out: NodeJS.WriteStream, err: NodeJS.WriteStream): Promise<number> {
  const { conductor, config, ctx, view, control, viewer } = run;
  // Processes that outlived SIGKILL are said, and the run is not a success; not a stack trace.
  const survived = await conductor.shutdown("all_completed").then(
    () => false,
    (e: unknown) => {
      if (!(e instanceof ConductorError && e.code === "PROCESSES_SURVIVED")) throw e;
      err.write(`conductor: ${runErrorMessage(e, ctx)}\n`);
      return true;
    },
  );
  view.close();
  await control?.close();
  const code = Math.max(printSummary(conductor.getSnapshot(), config, conductor.eventLogPath, out), survived ? 1 : 0);
  // Detached, nobody can press Ctrl-C, and its control socket (stop) is closed by now: without
  // --linger the viewer closes with the run instead of keeping the process forever (a field review).
  if (viewer) await linger(viewer, run.lingerSeconds ?? (runsDetached() ? 0 : undefined), out);
  return code;
}

/** The page shows the final states; keep serving it until Ctrl-C/SIGTERM or the linger time. */
async function linger(viewer: Viewer, seconds: number | undefined, out: NodeJS.WriteStream): Promise<void> {
  if (seconds === 0) return viewer.close();
  out.write(
    `conductor: the run has ended; the final states stay at ${viewer.url} ` +
      `${seconds === undefined ? "until Ctrl-C" : `for ${seconds} s (Ctrl-C closes it sooner)`}\n`,
  );
  await new Promise<void>((r) => {
    const stop = () => {
      clearTimeout(timer);
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      r();
    };
    const timer = seconds === undefined ? undefined : setTimeout(stop, seconds * 1000);
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await viewer.close();
}
