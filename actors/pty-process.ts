/**
 * The pty actor: one run of a session's child in a local pty, as the session invokes it. The
 * run's lifecycle is the child-run statechart (machines/child-run.machine.ts); the pty's I/O is
 * `ptyTransport` (pty-transport.ts). See pty-shim.ts for why the exit shim exists.
 */
import { fromCallback } from "xstate";
import type { ChildRunTiming } from "../machines/child-run.types.js";
import { ConductorError } from "../machines/conductor-error.js";
import type { ChildCommand, PtyProcessInput } from "../machines/session.types.js";
import { type ChildRunner, createChildRunner } from "./child-run.js";
import { createPtyTransport, type PtyTransportDeps } from "./pty-transport.js";

export type { ChildRunner, ChildRunnerArgs } from "./child-run.js";
export { childEnv } from "./pty-transport.js";

export interface PtyProcessDeps extends PtyTransportDeps {
  /** SIGTERM grace for leftovers after a natural exit (default 1000 ms). */
  orphanGraceMs?: number;
  /** Grace when the actor is stopped with the tree still alive (default 2000 ms). */
  stopGraceMs?: number;
  /** Quiet period that ends the drain when the shim died without its marker (default 100 ms). */
  drainMs?: number;
}

export type PtyProcessLogic = ReturnType<typeof createPtyProcessLogic>;

/** One run of a local child in a pty per call; returns the cleanup that ends it. */
export function createPtyRunner(deps: PtyProcessDeps): ChildRunner {
  const transport = createPtyTransport(deps);
  const timing: Partial<ChildRunTiming> = {
    ...(deps.orphanGraceMs !== undefined ? { reapGraceMs: deps.orphanGraceMs } : {}),
    ...(deps.stopGraceMs !== undefined ? { stopGraceMs: deps.stopGraceMs } : {}),
    ...(deps.drainMs !== undefined ? { drainQuietMs: deps.drainMs } : {}),
  };
  // Let shutdown's reaper.whenIdle() also cover the drain and file close of a stopped run.
  const track = (work: Promise<unknown>) => deps.reaper.track?.(work);
  return createChildRunner(() => ({ transport, timing }), { track });
}

export function createPtyProcessLogic(deps: PtyProcessDeps) {
  // fromCallback's 3rd type parameter is for `emit`ted events, not sendBack; ChildEvent goes
  // through sendBack, so it stays EventObject like the session machine.
  const runner = createPtyRunner(deps);
  return refuseRestore(
    fromCallback<ChildCommand, PtyProcessInput>(({ input, sendBack, receive }) => runner({ input, sendBack, receive })),
  );
}

/**
 * A run's actor restored from a persisted snapshot would start its command again (a callback
 * actor's start runs its body) under the first run's state, and XState persists no delayed events:
 * no stall, no timeout would ever come (a field review). A process cannot be persisted, so the
 * restored actor's start throws instead: XState hands the error to the session, which ends `dead`
 * (`internal_error`) saying so. Not in `restoreSnapshot`: XState starts only the restored children
 * whose status is active, and one that failed there would sit unstarted under a `healthy` session.
 */
export function refuseRestore<L extends ReturnType<typeof fromCallback<ChildCommand, PtyProcessInput>>>(logic: L): L {
  return {
    ...logic,
    restoreSnapshot: (snapshot: ReturnType<L["getInitialSnapshot"]>) => ({ ...snapshot, restored: true }),
    start: (snapshot: ReturnType<L["getInitialSnapshot"]> & { restored?: boolean }, scope: never) => {
      if (snapshot.restored)
        throw new ConductorError(
          "a session's run cannot be restored from a persisted snapshot (its process is not in it, nor its timers): spawn the session anew",
          { code: "RESTORE_UNSUPPORTED" },
        );
      logic.start?.(snapshot, scope);
    },
  };
}
