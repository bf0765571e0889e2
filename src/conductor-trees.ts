/**
 * Which session's teardown is still in flight: reaps of its process trees and the closing of its
 * files, which go on after its statechart is final and so are not in any actor's snapshot.
 * `killSession(id)` waits on `whenGone(id)`, so one session's kill never waits for another's trees;
 * `shutdown()` still waits on the shared reaper. An entry lives only while its work does.
 */
import type { Actor } from "xstate";
import { endCarriers, sessionScope } from "../actors/env-cookie.js";
import type { SpawnMark } from "../actors/pid-window.js";
import type { ProcessReaper } from "../actors/process-reaper.js";
import { sharedHelperTest } from "../actors/shared-helpers.js";
import type { conductorMachine } from "../machines/conductor.machine.js";
import { survivorsError } from "./conductor-spawn.js";
import type { LogFn } from "./event-log-format.js";

export interface TreeLedger {
  /** The reaper as one session's child sees it: everything it starts is counted for that session. */
  reaperFor(sessionId: string): ProcessReaper;
  /** For runners that report work without naming a session: counted for the session in `during`. */
  track(work: Promise<unknown>): void;
  /** Runs `fn` (a child's start or stop) with its untagged `track` calls counted for `sessionId`. */
  during<T>(sessionId: string, fn: () => T): T;
  /** Resolves when no teardown work of this session is in flight. */
  whenGone(sessionId: string): Promise<void>;
  /** Whether this session id has teardown work in flight. */
  busy(sessionId: string): boolean;
  /** Sessions with work in flight (for tests and leak checks). */
  readonly sessionsBusy: number;
}

export function createTreeLedger(reaper: ProcessReaper): TreeLedger {
  const inFlight = new Map<string, Set<Promise<unknown>>>();
  let current: string | null = null;

  function note<T>(sessionId: string, work: Promise<T>): Promise<T> {
    let set = inFlight.get(sessionId);
    if (!set) {
      set = new Set();
      inFlight.set(sessionId, set);
    }
    const mine = set;
    mine.add(work);
    const done = () => {
      mine.delete(work);
      if (mine.size === 0 && inFlight.get(sessionId) === mine) inFlight.delete(sessionId);
    };
    work.then(done, done);
    return work;
  }

  const ledger: TreeLedger = {
    reaperFor(sessionId) {
      return {
        terminate: (root, o) => note(sessionId, reaper.terminate(root, o)),
        reapOrphans: (root, o) => note(sessionId, reaper.reapOrphans(root, o)),
        signalTree: (root, signal, o) => note(sessionId, reaper.signalTree(root, signal, o)),
        track(work) {
          reaper.track?.(work);
          note(sessionId, work);
        },
        whenIdle: () => ledger.whenGone(sessionId),
        get pending() {
          return inFlight.get(sessionId)?.size ?? 0;
        },
      };
    },
    track(work) {
      reaper.track?.(work);
      if (current !== null) note(current, work);
    },
    during(sessionId, fn) {
      const previous = current;
      current = sessionId;
      try {
        return fn();
      } finally {
        current = previous;
      }
    },
    async whenGone(sessionId) {
      // Loop: settling work may have started more (a drain that ends in a file close).
      for (let set = inFlight.get(sessionId); set && set.size > 0; set = inFlight.get(sessionId)) {
        await Promise.allSettled([...set]);
      }
    },
    busy: (sessionId) => (inFlight.get(sessionId)?.size ?? 0) > 0,
    get sessionsBusy() {
      return inFlight.size;
    },
  };
  return ledger;
}

/** Waits for `p`, but never longer than `ms` (a tree stuck in `D` state must not hang a caller). */
export function boundedWait(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(() => undefined),
    new Promise<void>((r) => {
      timer = setTimeout(r, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export interface KillDeps {
  actor: Actor<typeof conductorMachine>;
  log: LogFn;
  trees: TreeLedger;
  cookieScope: string;
  /** `spawnMark()` taken before the conductor's first spawn: the final check reads only newer pids. */
  since?: SpawnMark;
  /** How long to wait for the trees (graceMs plus a margin for SIGKILLed trees to vanish). */
  waitMs: number;
}

/**
 * `killSession(id, reason)`: resolves when this session's process trees are gone. An id the conductor
 * does not have resolves at once, as the seed's did (`if (!session) return`: a kill of a session removed
 * meanwhile must not become an unhandled rejection that ends the embedder); the event log says so.
 */
export function sessionKiller(d: KillDeps) {
  return async function killSession(id: string, reason = "user_kill"): Promise<void> {
    const { sessions, finished } = d.actor.getSnapshot().context;
    if (!sessions[id]) {
      d.log("session.kill_unknown", { session: String(id), reason, known: Object.keys(sessions).slice(0, 20) });
      return;
    }
    // This session's: one spawned under the same id meanwhile (restartSession, remove + spawn) is spared.
    const { instance, sharedHelpers } = sessions[id].getSnapshot().context.spec;
    if (!finished[id]) {
      d.log("session.kill", { session: id, reason });
      d.actor.send({ type: "KILL", id, reason });
    }
    // The child's stop queues its reap in the same step; let it register first.
    await new Promise((r) => setImmediate(r));
    await boundedWait(d.trees.whenGone(id), d.waitMs);
    // The agent's shared helpers (a codex daemon other sessions use) are not this session's to end.
    const spare = sharedHelperTest(sharedHelpers);
    const survivors = await endCarriers(sessionScope(d.cookieScope, id, instance), undefined, d.since, spare);
    if (survivors.length > 0) throw survivorsError(`killSession("${id}")`, survivors);
  };
}
