/**
 * A session's child as the facade provides it to the session chart: a pty here, or the remote
 * runner when the conductor's placement says the session runs on a host. Each child reaps through
 * its session's view of the reaper, so its teardown is counted for that session (conductor-trees).
 */
import { fromCallback } from "xstate";
import { type ChildRunner, createPtyRunner, type PtyProcessDeps, refuseRestore } from "../actors/pty-process.js";
import type { ChildCommand, PtyProcessInput } from "../machines/session.types.js";
import type { TreeLedger } from "./conductor-trees.js";

export interface ChildRouting {
  trees: TreeLedger;
  log: NonNullable<PtyProcessDeps["log"]>;
  envFor?: PtyProcessDeps["envFor"];
  /** Every output byte of a local run, for the result capture. */
  tap?: PtyProcessDeps["tap"];
  cookieScope?: PtyProcessDeps["cookieScope"];
  /** Wraps the runner, local or remote (per-run argv: src/run-argv.ts). */
  wrapLocal?: (runner: ChildRunner) => ChildRunner;
  /** The remote runner, or null when the conductor has no hosts file. */
  remote: ChildRunner | null;
  isRemote: (sessionId: string) => boolean;
}

/**
 * A remote run gets its leased account's variables in its environment (the pty runner resolves
 * `envRef` itself; the remote one only knows `env`). They travel inside the ssh channel to tmux
 * (`new-session -e`), never through a log; the session's context keeps only the reference.
 */
function withLeasedEnv(runner: ChildRunner, envFor: ChildRouting["envFor"]): ChildRunner {
  return (args) => {
    const { envRef, ...spec } = args.input.spec;
    const leased = envRef ? envFor?.(envRef) : undefined;
    if (!leased) return runner(args);
    // `leased.unset` is not applied here: a remote pane never inherits this process's env, and what
    // the host's tmux server holds is the host's (auth-mode leases, with a login to protect, are
    // refused for hosts: accounts-config.ts).
    return runner({ ...args, input: { ...args.input, spec: { ...spec, env: { ...spec.env, ...leased.set } } } });
  };
}

export function sessionChildLogic(r: ChildRouting) {
  return refuseRestore(
    fromCallback<ChildCommand, PtyProcessInput>((args) => {
      const id = args.input.sessionId;
      const local = () =>
        createPtyRunner({
          reaper: r.trees.reaperFor(id),
          log: r.log,
          ...(r.envFor ? { envFor: r.envFor } : {}),
          ...(r.tap ? { tap: r.tap } : {}),
          ...(r.cookieScope ? { cookieScope: r.cookieScope } : {}),
        });
      const wrap = r.wrapLocal ?? ((x: ChildRunner) => x);
      const run: ChildRunner = r.remote && r.isRemote(id) ? wrap(withLeasedEnv(r.remote, r.envFor)) : wrap(local());
      const stop = r.trees.during(id, () => run(args));
      return () => r.trees.during(id, stop);
    }),
  );
}
