/**
 * The logs directory removed under a running conductor (`rm -rf logs`, a cleanup job). Its files
 * live on as unlinked inodes behind open fds, so nothing failed: the event log wrote on into a file
 * no one could read, `conductor ls/stop --name` said there is no such conductor (the control
 * socket's file was gone, and `ls` drops the registry entry of a conductor without one), and the
 * survivors-ledger entry was gone, so after a SIGKILL of conductor and watchdog the next conductor
 * found nothing and the agents stayed orphaned (a field review). Every half second, one fstat and
 * two stats notice it, and each part repairs and says its own: the event log made again with what
 * its fd holds (`log.recreated`, a `logError` `recreated`, a warning on stderr), the ledger entry
 * written again (`conductor.ledger_restored`), the control socket listened on again and its registry
 * entry rewritten (`control.restored`). Output logs check their own fd as they write (log-rotation.ts).
 */
import type { ConductorControl } from "./conductor-control.js";
import type { EventLog } from "./event-log.js";
import type { SurvivorLedger } from "./survivors.js";

/** Often enough that the ledger entry is back before a SIGKILL a second after the removal. */
export const LOGS_DIR_CHECK_MS = 500;

export interface LogsDirWatch {
  /** One check now (the timer's; concurrent calls share it). */
  check(): Promise<void>;
  stop(): void;
}

export function watchLogsDir(
  d: {
    eventLog: Pick<EventLog, "checkFile">;
    ledger: Pick<SurvivorLedger, "ensure">;
    control: Pick<ConductorControl, "repair">;
  },
  everyMs = LOGS_DIR_CHECK_MS,
): LogsDirWatch {
  let running: Promise<void> | null = null;
  const check = (): Promise<void> => {
    running ??= (async () => {
      // The event log first: it makes the directory again, where the others go.
      d.eventLog.checkFile();
      d.ledger.ensure();
      await d.control.repair();
    })().finally(() => {
      running = null;
    });
    return running;
  };
  const timer = setInterval(() => void check().catch(() => undefined), everyMs);
  timer.unref(); // never what keeps a process alive
  return { check, stop: () => clearInterval(timer) };
}
