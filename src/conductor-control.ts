/**
 * `createConductor({ control: true })`: the conductor's control socket (src/control/), opened with the
 * conductor and closed by its `shutdown()`, after the `shutdown` event so followers get their `end`.
 */
import type { ControlServer } from "./control/server.js";
import { startControlServer } from "./control/server.js";
import type { ControlTarget } from "./control/handler.js";
import type { ConductorOptions } from "./conductor-options.js";
import { ConductorError } from "./errors.js";
import type { LogFn } from "./event-log-format.js";

export interface ConductorControl {
  /** The open server, `null` without `control`; rejects (a ConductorError) if the socket cannot be opened. */
  readonly ready: Promise<ControlServer | null>;
  /** The socket or registry entry made again when gone (ControlServer.repair); [] without a socket. */
  repair(): Promise<Array<"socket" | "entry">>;
  close(): Promise<void>;
}

export function openControl(target: ControlTarget, opts: ConductorOptions, logsDir: string, log: LogFn) {
  const want = opts.control;
  if (!want)
    return { ready: Promise.resolve(null), repair: async () => [], close: async () => {} } satisfies ConductorControl;
  const o = want === true ? {} : want;
  const ready = startControlServer(target, {
    logsDir,
    ...(o.name ? { name: o.name } : {}),
    ...(o.socketPath ? { socketPath: o.socketPath } : {}),
    ...(o.version ? { version: o.version } : {}),
    ...(opts.cols ? { cols: opts.cols } : {}),
    ...(opts.rows ? { rows: opts.rows } : {}),
  }).then(
    (server) => {
      log("control.open", { name: server.name, socket: server.socketPath });
      return server;
    },
    (err: unknown) => {
      const message = String((err as Error)?.message ?? err);
      log("control.error", { error: message });
      throw new ConductorError(`createConductor({ control }): ${message}`, { code: "CONTROL", cause: err });
    },
  );
  // Observed or not, a failed socket must not become an unhandled rejection: it is in the log.
  ready.catch(() => undefined);
  let repairSaid = false;
  return {
    ready,
    repair: async () => {
      const server = await ready.catch(() => null);
      if (!server) return [];
      try {
        const restored = await server.repair();
        if (restored.length > 0) log("control.restored", { name: server.name, socket: server.socketPath, restored });
        repairSaid = false;
        return restored;
      } catch (err) {
        // Tried again at the next check: said once per streak.
        if (!repairSaid) log("control.error", { error: String((err as Error)?.message ?? err), during: "restore" });
        repairSaid = true;
        return [];
      }
    },
    close: async () => {
      const server = await ready.catch(() => null);
      await server?.close();
    },
  } satisfies ConductorControl;
}
