/**
 * The session transition table: the seed's 10.3.0 table plus the moves its defects were missing.
 * Documentation and test oracle; the machine is the source of truth, and a test checks that the
 * moves the machine can make are exactly these.
 */
import { STATES, type SessionState } from "./session.types.js";

const { INIT, STARTING, HEALTHY, STALLED, INPUT_WAIT, FAILED, RESTARTING, DEAD, COMPLETED } = STATES;

/** The seed's table, as published. */
export const SEED_TRANSITIONS: Readonly<Record<SessionState, readonly SessionState[]>> = Object.freeze({
  [INIT]: [STARTING],
  [STARTING]: [HEALTHY, FAILED],
  [HEALTHY]: [STALLED, INPUT_WAIT, FAILED, COMPLETED],
  [STALLED]: [HEALTHY, FAILED],
  [INPUT_WAIT]: [HEALTHY, FAILED],
  [FAILED]: [RESTARTING, DEAD],
  [RESTARTING]: [STARTING],
  [DEAD]: [],
  [COMPLETED]: [],
});

/** Moves added to the seed's table (its defects fixed, restartSession), each with the reason. */
export const FIXED_TRANSITIONS: ReadonlyArray<{ from: SessionState; to: SessionState; why: string }> = Object.freeze([
  { from: STARTING, to: COMPLETED, why: "exit 0 before any output (the seed hung in starting)" },
  { from: STALLED, to: COMPLETED, why: "exit 0 while stalled (same class: no legal move in the seed)" },
  { from: INPUT_WAIT, to: COMPLETED, why: "exit 0 while waiting for input (same class)" },
  { from: INIT, to: FAILED, why: "kill before start: kill in any non-final state ends in dead via failed" },
  { from: RESTARTING, to: FAILED, why: "kill during restarting (the seed refused it and respawned anyway)" },
  ...[STARTING, HEALTHY, STALLED, INPUT_WAIT].map((from) => ({
    from,
    to: RESTARTING,
    why: "restartSession: a restart asked for is not a failure (no failed, no dead: a listener saw dead before)",
  })),
]);

export function allowedTransitions(): Map<SessionState, Set<SessionState>> {
  const table = new Map<SessionState, Set<SessionState>>();
  for (const [from, tos] of Object.entries(SEED_TRANSITIONS)) table.set(from as SessionState, new Set(tos));
  for (const { from, to } of FIXED_TRANSITIONS) {
    const tos = table.get(from) ?? new Set<SessionState>();
    tos.add(to);
    table.set(from, tos);
  }
  return table;
}
