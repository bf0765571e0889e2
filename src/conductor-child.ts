/**
 * A session's child as the facade provides it to the session chart: a pty here, or the remote
 * runner when the conductor's placement says the session runs on a host. Each child reaps through
 * its session's view of the reaper, so its teardown is counted for that session (conductor-trees).
 */
import { fromCallback } from "xstate";
import { type ChildRunner, createPtyRunner, type PtyProcessDeps } from "../actors/pty-process.js";
import type { ChildCommand, PtyProcessInput } from "../machines/session.types.js";
import type { TreeLedger } from "./conductor-trees.js";

export interface ChildRouting {
  trees: TreeLedger;
  log: NonNullable<PtyProcessDeps["log"]>;
  envFor?: PtyProcessDeps["envFor"];
  /** Every output byte of a local run, for the result capture. */
  tap?: PtyProcessDeps["tap"];
  cookieScope?: PtyProcessDeps["cookieScope"];
  /** Wraps the local runner (per-run argv: src/run-argv.ts). */
  wrapLocal?: (runner: ChildRunner) => ChildRunner;
  /** The remote runner, or null when the conductor has no hosts file. */
  remote: ChildRunner | null;
  isRemote: (sessionId: string) => boolean;
}

export function sessionChildLogic(r: ChildRouting) {
  return fromCallback<ChildCommand, PtyProcessInput>((args) => {
    const id = args.input.sessionId;
    const local = () =>
      createPtyRunner({
        reaper: r.trees.reaperFor(id),
        log: r.log,
        ...(r.envFor ? { envFor: r.envFor } : {}),
        ...(r.tap ? { tap: r.tap } : {}),
        ...(r.cookieScope ? { cookieScope: r.cookieScope } : {}),
      });
    const run: ChildRunner = r.remote && r.isRemote(id) ? r.remote : (r.wrapLocal ?? ((x) => x))(local());
    const stop = r.trees.during(id, () => run(args));
    return () => r.trees.during(id, stop);
  });
}
