/**
 * One SSH host as a statechart: the shared connection every remote session on that host uses.
 * Pure: the ssh2 client is the invoked `connection` actor (the runtime provides it) and time is
 * only the named delays `reconnectBackoff` and `giveUpAfter`.
 *
 * Two regions. `link` owns the connection: one `connection` actor per attempt, exponential
 * backoff between attempts, no retry after a fatal refusal (wrong host key, auth refused).
 * `status` is what sessions see: connecting → connected → reconnecting → unreachable (after
 * `giveUpAfter` without a connection; `link` keeps retrying at the backoff cap, so a host that
 * comes back is connected again), or rejected.
 */
import { assign, emit, setup, fromCallback, type EventObject } from "xstate";
import { backoffMs } from "./backoff.js";

export type HostStatus = "connecting" | "connected" | "reconnecting" | "unreachable" | "rejected";

export interface SshHostMachineInput {
  name: string;
  /** First wait after a drop; doubles (× factor) per failed attempt, up to maxMs. */
  backoffInitialMs?: number;
  backoffFactor?: number;
  backoffMaxMs?: number;
  /** Without a connection this long → status `unreachable` (default 30 000). */
  giveUpAfterMs?: number;
}

export interface SshHostContext {
  name: string;
  attempt: number;
  lastError: string | null;
  backoffInitialMs: number;
  backoffFactor: number;
  backoffMaxMs: number;
  giveUpAfterMs: number;
}

export type SshHostEvent =
  | { type: "CONN.READY" }
  /** `fatal`: retrying cannot help (host key refused, authentication refused, unreadable key). */
  | { type: "CONN.CLOSED"; error: string | null; fatal: boolean }
  /** Try again now (after fixing known_hosts, say); also leaves `rejected`. */
  | { type: "HOST.RETRY" };

export type SshHostEmitted = { type: "status"; host: string; status: HostStatus; error: string | null };

export interface ConnectionInput {
  name: string;
  attempt: number;
}

export const backoffFor = (c: SshHostContext) =>
  backoffMs({ initialMs: c.backoffInitialMs, factor: c.backoffFactor, maxMs: c.backoffMaxMs }, c.attempt);

const statusState = (status: HostStatus) => ({
  entry: { type: "announce" as const, params: { status } },
  tags: [status],
});

export const sshHostMachine = setup({
  types: {
    input: {} as SshHostMachineInput,
    context: {} as SshHostContext,
    events: {} as SshHostEvent,
    emitted: {} as SshHostEmitted,
  },
  actors: {
    /** Runtime: an ssh2 Client from handshake to close; sends CONN.READY then CONN.CLOSED. */
    connection: fromCallback<EventObject, ConnectionInput>(() => undefined),
  },
  delays: {
    reconnectBackoff: ({ context }) => backoffFor(context),
    giveUpAfter: ({ context }) => context.giveUpAfterMs,
  },
  guards: {
    fatal: ({ event }) => event.type === "CONN.CLOSED" && event.fatal,
  },
  actions: {
    /** Every status state's entry: sessions and the log hear each change once. */
    announce: emit(({ context }, params: { status: HostStatus }) => ({
      type: "status" as const,
      host: context.name,
      status: params.status,
      error: context.lastError,
    })),
    noteError: assign({ lastError: ({ event }) => (event.type === "CONN.CLOSED" ? event.error : null) }),
    connected: assign({ attempt: 0, lastError: null }),
    nextAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
  },
}).createMachine({
  id: "sshHost",
  type: "parallel",
  context: ({ input }) => ({
    name: input.name,
    attempt: 0,
    lastError: null,
    backoffInitialMs: input.backoffInitialMs ?? 250,
    backoffFactor: input.backoffFactor ?? 2,
    backoffMaxMs: input.backoffMaxMs ?? 10_000,
    giveUpAfterMs: input.giveUpAfterMs ?? 30_000,
  }),
  states: {
    link: {
      initial: "linked",
      states: {
        linked: {
          invoke: {
            id: "conn",
            src: "connection",
            input: ({ context }) => ({ name: context.name, attempt: context.attempt }),
          },
          on: {
            "CONN.READY": { actions: "connected" },
            "CONN.CLOSED": [
              { guard: "fatal", target: "refused", actions: "noteError" },
              { target: "waiting", actions: "noteError" },
            ],
          },
        },
        waiting: {
          after: { reconnectBackoff: { target: "linked", actions: "nextAttempt" } },
          on: { "HOST.RETRY": { target: "linked" } },
        },
        refused: {
          on: { "HOST.RETRY": { target: "linked", actions: assign({ attempt: 0 }) } },
        },
      },
    },
    status: {
      initial: "connecting",
      states: {
        connecting: {
          ...statusState("connecting"),
          after: { giveUpAfter: "unreachable" },
          on: { "CONN.READY": "connected" },
        },
        connected: {
          ...statusState("connected"),
          on: { "CONN.CLOSED": { guard: ({ event }) => !event.fatal, target: "reconnecting" } },
        },
        reconnecting: {
          ...statusState("reconnecting"),
          after: { giveUpAfter: "unreachable" },
          on: { "CONN.READY": "connected" },
        },
        unreachable: {
          ...statusState("unreachable"),
          on: { "CONN.READY": "connected" },
        },
        rejected: {
          ...statusState("rejected"),
          on: { "CONN.READY": "connected", "HOST.RETRY": "reconnecting" },
        },
      },
      // A refusal is final for every status but `rejected` itself.
      on: { "CONN.CLOSED": { guard: "fatal", target: ".rejected" } },
    },
  },
});

export type SshHostMachine = typeof sshHostMachine;

/** The status region's current state. */
export function hostStatusOf(snapshot: { value: unknown }): HostStatus {
  return ((snapshot.value as { status: HostStatus }).status ?? "connecting") as HostStatus;
}
