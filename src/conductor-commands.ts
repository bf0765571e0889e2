/**
 * The facade's per-session commands that only read the conductor chart's record and send it events:
 * input, keys, remove, the snapshot, and `restartSession` (a new run of a session under its id).
 */
import type { Actor, ActorRefFrom } from "xstate";
import type { conductorMachine } from "../machines/conductor.machine.js";
import type { sessionMachine } from "../machines/session.machine.js";
import { takesInput } from "../machines/session.input.js";
import { keysToBytes } from "../machines/session.keys.js";
import { FINAL_STATES } from "../machines/session.types.js";
import type { AgentResult } from "./agent-stream.js";
import { checkKeys, type SpawnConfig } from "./conductor-options.js";
import { unknownSession } from "./conductor-spawn.js";
import { SessionError } from "./errors.js";
import type { LogFn } from "./event-log-format.js";
import { type HostLinkReading, type SessionSnapshot, viewOf } from "./session-view.js";

type SessionRef = ActorRefFrom<typeof sessionMachine>;

export interface CommandDeps {
  actor: Actor<typeof conductorMachine>;
  log: LogFn;
  resultOf: (id: string) => AgentResult | null;
  /** When a session waiting in `restarting` runs next, and when its awaited account frees up (ISO), or null. */
  dueOf: (id: string) => { nextRunAt: string | null; accountEtaAt: string | null };
  isShuttingDown: () => boolean;
  spawnSession: (config: SpawnConfig) => string;
  /** While an earlier actor's tree of this id still ends (its session waits in `init`): when it is gone. */
  previousTree: (id: string) => Promise<void> | null;
  /** Throws what a new actor for the id would be refused for (a workdir gone since): before the old one goes. */
  checkRespawn: (config: SpawnConfig) => void;
  /** Every session is final and no restart is under way: the facade's `allCompleted` event. */
  allCompleted: (sessions: number) => void;
  /** A host's link as the remote runtime reads it; undefined without hosts or before the host's first use. */
  linkOf?: (host: string) => HostLinkReading | undefined;
}

export function sessionCommands(d: CommandDeps) {
  const record = () => d.actor.getSnapshot().context;
  // What each session was spawned with (functions included: never in the chart's context).
  const configs = new Map<string, SpawnConfig>();
  // Restarts of final sessions (each a new session actor) and the restarts of the actors they replaced,
  // added to the snapshot's `restarts`.
  const manualRestarts = new Map<string, number>();
  const restarting = new Set<string>();
  const allCompleted = () => {
    const sessions = Object.keys(record().sessions).length;
    d.log("conductor.all_completed", { sessions });
    d.allCompleted(sessions);
  };
  // Not while a restart is under way (one asked for in a `dead` listener): the session is not done with.
  d.actor.on("allCompleted", () => restarting.size === 0 && allCompleted());

  /** `write` to the running child, `keep` as type-ahead until the first child runs (machines/session.input.ts). */
  const takes = (id: string, chars: number) => {
    const c = record().sessions[id]?.getSnapshot().context;
    return c && !FINAL_STATES.has(c.state) ? takesInput(c, chars) : false;
  };

  // The caller of a refused send sees only `false`; the log says why, once per session and reason
  // (an embedder that retries until the child runs would otherwise write a line per try). Unknown ids
  // are not kept: only the last one, so a caller with a wrong id cannot grow the map.
  const lastRefusal = new Map<string, string>();
  let lastUnknown: string | undefined;
  function refuse(id: string, notText = false): false {
    const ref = record().sessions[id];
    const why = notText ? "not_text" : ref ? "not_running" : "unknown_session";
    const repeated = ref ? lastRefusal.get(id) === why : lastUnknown === id;
    if (repeated || d.isShuttingDown()) return false; // closing: a line would only warn
    if (ref) lastRefusal.set(id, why);
    else lastUnknown = id;
    d.log("session.input_refused", { session: id, why, state: ref?.getSnapshot().context.state ?? null });
    return false;
  }

  /**
   * The seed's contract: `false` when nothing was sent (unknown id, no running child, not a string).
   * The seed spawned inside `spawnSession`, so a send right after it reached the child: until a
   * session's first child runs, input is typed ahead (kept, then written once it has spawned).
   */
  function sendInput(id: string, text: string): boolean {
    if (typeof text !== "string") return refuse(id, true);
    const taken = takes(id, text.length + 1); // the text and Enter (session.input.ts typedInput)
    if (!taken) return refuse(id);
    lastRefusal.delete(id);
    d.actor.send({ type: "INPUT", id, text });
    // Never the text: what people type into a prompt can be a secret.
    d.log("session.input", { session: id, length: text.length + 1, ...(taken === "keep" ? { typedAhead: true } : {}) });
    return true;
  }

  /** Named keys (`["Down", "Enter"]`, `["Esc"]`, `["2", "Enter"]`) to answer a menu; false if not running. */
  function sendKeys(id: string, keys: readonly string[]): boolean {
    checkKeys("sendKeys(id, keys): keys", keys);
    const taken = takes(id, keysToBytes(keys).length);
    if (!taken) return refuse(id);
    lastRefusal.delete(id);
    record().sessions[id]?.send({ type: "KEYS", keys });
    d.log("session.keys", { session: id, keys, ...(taken === "keep" ? { typedAhead: true } : {}) });
    return true;
  }

  /**
   * Releases a final session (its actor and record); `false` for an unknown id; throws while it lives.
   * From the session's own `completed`/`dead` listener (or `onCompleted`) the actor is final but the
   * conductor's record of it is one step behind (the listener runs inside the session's step): the
   * release follows in the next turn.
   */
  function removeSession(id: string): boolean {
    const { sessions, finished } = record();
    const ref = sessions[id];
    if (!ref) return false;
    if (!finished[id] && ref.getSnapshot().status === "done") {
      setImmediate(() => record().sessions[id] === ref && removeSession(id));
      return true;
    }
    if (!finished[id]) {
      const state = ref.getSnapshot().context.state;
      throw new SessionError(`removeSession("${id}"): the session is still ${state}; killSession("${id}") first`, {
        code: "SESSION_LIVE",
      });
    }
    // A conductor that has shut down keeps its last record as it is: said, not a `true` that removed nothing.
    if (d.actor.getSnapshot().status !== "active")
      throw new SessionError(
        `removeSession("${id}"): the conductor has shut down; its record of the sessions is final`,
        {
          code: "SHUTTING_DOWN",
        },
      );
    d.actor.send({ type: "REMOVE", id });
    lastRefusal.delete(id);
    if (!restarting.has(id)) {
      configs.delete(id);
      manualRestarts.delete(id);
    }
    return true;
  }

  function getSnapshot(): SessionSnapshot[] {
    const { sessions, placement } = record();
    return Object.entries(sessions).map(([id, ref]) => {
      const view = viewOf(ref.getSnapshot(), placement[id], d.resultOf(id), d.dueOf(id), d.linkOf);
      return { ...view, restarts: view.restarts + (manualRestarts.get(id) ?? 0) };
    });
  }

  /**
   * A new run of the session under its id. A live session gets `RESTART`: its chart ends the run
   * (`<state> → restarting`, the reason in the event log), waits until the tree is gone (no two runs at
   * once) and starts the next run at once; it never passes through `failed` or `dead`. Resolves when
   * the new run has begun. A final session (`dead`, `completed`) cannot move: XState's final states
   * are done, their output is delivered, so its actor is released and a new one is spawned from the
   * config it was spawned with (`init → starting`, once the old tree is gone if it still lives out a
   * grace: resolved while it waits in `init`; nothing is killed, so no `dead` either). Both
   * count in the snapshot's `restarts`; neither counts against `maxRestarts`.
   */
  async function restartSession(id: string, reason = "user_restart"): Promise<void> {
    const config = configs.get(id);
    const ref = record().sessions[id];
    if (!ref || !config) throw unknownSession("restartSession", id, Object.keys(record().sessions));
    if (d.isShuttingDown())
      throw new SessionError(`restartSession("${id}"): the conductor is shutting down`, { code: "SHUTTING_DOWN" });
    if (restarting.has(id))
      throw new SessionError(`restartSession("${id}"): a restart of this session is already under way`, {
        code: "RESTART_PENDING",
      });
    const from = ref.getSnapshot().context.state;
    restarting.add(id);
    try {
      // Called from a `dead`/`completed` listener: the session's actor is final, but the conductor's
      // record of it is one step behind (the listener runs inside the session's own step).
      if (ref.getSnapshot().status !== "active" && !record().finished[id]) await new Promise((r) => setImmediate(r));
      if (!record().finished[id]) {
        // Not started yet because an earlier actor's tree of this id still ends: a RESTART in `init`
        // would start it now, beside that tree. It waits as its START does; started meanwhile, that run is the restart.
        const previous = from === "init" ? d.previousTree(id) : null;
        if (previous) {
          await previous;
          if (ref.getSnapshot().context.state !== "init") {
            d.log("session.restart", { session: id, reason, from, via: "deferred_start" });
            return;
          }
        }
        d.log("session.restart", { session: id, reason, from, via: "chart" });
        await nextRun(id, ref, reason);
        return;
      }
      // Refused (its workdir gone since, say): the old actor stays, with its reason and last error.
      d.checkRespawn(config);
      d.log("session.restart", { session: id, reason, from, via: "new_actor" });
      // The new actor counts from 0: the old one's restarts (its chart's own) stay in the snapshot's sum.
      const before = (manualRestarts.get(id) ?? 0) + ref.getSnapshot().context.restarts;
      removeSession(id);
      manualRestarts.set(id, before + 1);
      d.spawnSession(config);
    } finally {
      restarting.delete(id);
      // A respawn that was refused leaves the session gone: if every other one is final, say so now.
      if (!record().sessions[id]) {
        configs.delete(id);
        manualRestarts.delete(id);
        const { sessions, finished } = record();
        const ids = Object.keys(sessions);
        if (restarting.size === 0 && ids.length > 0 && ids.every((s) => finished[s])) allCompleted();
      }
    }
  }

  /** Sends RESTART; resolves when the chart has begun the next run, rejects if it ended instead (a kill). */
  function nextRun(id: string, ref: SessionRef, reason: string): Promise<void> {
    const before = ref.getSnapshot().context.generation;
    return new Promise<void>((resolve, reject) => {
      const sub = ref.subscribe((snap) => {
        if (snap.context.generation > before) {
          sub.unsubscribe();
          resolve();
        } else if (snap.status !== "active") {
          sub.unsubscribe();
          const why = `${snap.context.state} (${snap.context.reason})`;
          reject(
            new SessionError(`restartSession("${id}"): the session ended before its next run: ${why}`, {
              code: "RESTART_INTERRUPTED",
            }),
          );
        }
      });
      ref.send({ type: "RESTART", reason });
    });
  }

  return {
    configs,
    sendInput,
    sendKeys,
    removeSession,
    getSnapshot,
    restartSession,
  };
}
