/**
 * The control channel of one host as a statechart: the one `tmux -C` client every remote session
 * on that host shares (actors/tmux-channel-runtime.ts and tmux-hub.ts are its runtime: the ssh stream, the commands in flight,
 * the panes' watchers and the callers waiting for an attach are handles it keeps out of here).
 * Pure: every effect is a named action the runtime provides; time is only the delays `openTimeout`
 * and `reopenDelay`.
 *
 * idle → opening.connecting (the ssh channel) → opening.handshake (tmux's first answer) →
 * verifying (is it the tmux server we knew?) → attached. A drop or a failed open waits in
 * `cooling` before it opens again by itself; a caller that needs the channel now (`WAKE`) does not
 * wait. `closed` is final.
 */
import { assign, setup } from "xstate";

export interface TmuxChannelInput {
  /** The host's name, for the log. */
  host: string;
  /** tmux must answer within this long once the ssh channel is open (a login shell's rc file may block it). */
  openTimeoutMs: number;
  /** After a drop or a failed open, the channel opens again by itself this long later (if still wanted). */
  reopenDelayMs: number;
}

export interface TmuxChannelContext extends TmuxChannelInput {
  /** The host's connection is up (its statechart says `connected`). */
  hostUp: boolean;
  /** The tmux server's pid at the last attach: another one means it restarted while we were away. */
  serverPid: string | null;
}

export type TmuxChannelEvent =
  /** The host's status changed (ssh-host.machine.ts). */
  | { type: "HOST.STATUS"; status: string }
  /** Something needs the channel (a caller waiting, a pane watched, cleanup deferred): open it if the host is up. */
  | { type: "WAKE" }
  | { type: "CHANNEL.OPENED" }
  | { type: "CHANNEL.OPEN_FAILED"; error: string }
  /** tmux answered: its first block, or `%session-changed`. */
  | { type: "CHANNEL.READY" }
  /** The server's pid as `display-message` read it ("" when it could not). */
  | { type: "SERVER.PID"; pid: string }
  /** The channel closed, or the runtime gave up on it (a command unanswered, the open timed out). */
  | { type: "CHANNEL.CLOSED"; why: string }
  | { type: "CLOSE" };

const CHANNEL = "#tmuxChannel";

export const tmuxChannelMachine = setup({
  types: {
    input: {} as TmuxChannelInput,
    context: {} as TmuxChannelContext,
    events: {} as TmuxChannelEvent,
  },
  delays: {
    openTimeout: ({ context }) => context.openTimeoutMs,
    reopenDelay: ({ context }) => context.reopenDelayMs,
  },
  guards: {
    hostUp: ({ context }) => context.hostUp,
    hostRejected: ({ event }) => event.type === "HOST.STATUS" && event.status === "rejected",
    /** A pid unlike the one we knew (or none read): pane and window ids may now name others' panes. */
    serverChanged: ({ context, event }) =>
      event.type === "SERVER.PID" && context.serverPid !== null && event.pid !== context.serverPid,
  },
  actions: {
    noteHost: assign({ hostUp: ({ event }) => event.type === "HOST.STATUS" && event.status === "connected" }),
    noteServer: assign({ serverPid: ({ event }) => (event.type === "SERVER.PID" ? event.pid : null) }),
    // The runtime's effects (actors/tmux-channel-runtime.ts provides them); stand-ins do nothing.
    /** Open the ssh channel running `tmux -C`: CHANNEL.OPENED or CHANNEL.OPEN_FAILED follows. */
    openChannel: () => {},
    /** The open failed: say so; the callers keep waiting (their own bound decides). */
    noteOpenFailed: (_, _params: { error: string }) => {},
    /** tmux did not answer within openTimeout: close the channel, say why; CHANNEL.CLOSED follows. */
    abandonChannel: (_, _params: { waitedMs: number }) => {},
    /** Ask the server's pid over the channel: SERVER.PID follows. */
    askServerPid: () => {},
    /** The server restarted: the watchers' panes are gone, deferred cleanup would hit others' ids. */
    forgetPanes: (_, _params: { was: string | null; now: string }) => {},
    /** Attached: settings, subscription, orphan hook, deferred cleanup, watchers resync, waiters resolve. */
    announceAttached: () => {},
    /** Say the channel closed (log) and tell the watchers; `attached`: it had answered. */
    noteClosed: (_, _params: { why: string; attached: boolean }) => {},
    /** Never attached while the host answers: tmux itself failed (not installed, bad socket); the waiters hear why. */
    failAttach: (_, _params: { why: string }) => {},
    /** The host refused us (host key, auth): the waiters hear it. */
    refuseWaiters: () => {},
    /** Open again if anything still wants the channel: the runtime sends WAKE then. */
    wakeIfWanted: () => {},
    /** The client is closed for good: stop listening to the host, fail the waiters, close the channel. */
    shutDown: () => {},
  },
}).createMachine({
  id: "tmuxChannel",
  context: ({ input }) => ({ ...input, hostUp: false, serverPid: null }),
  initial: "idle",
  states: {
    idle: {
      on: { WAKE: { guard: "hostUp", target: "opening" } },
    },
    opening: {
      initial: "connecting",
      states: {
        connecting: {
          entry: "openChannel",
          on: {
            "CHANNEL.OPENED": "handshake",
            "CHANNEL.OPEN_FAILED": {
              target: `${CHANNEL}.cooling`,
              actions: { type: "noteOpenFailed", params: ({ event }) => ({ error: event.error }) },
            },
          },
        },
        handshake: {
          after: {
            openTimeout: {
              actions: { type: "abandonChannel", params: ({ context }) => ({ waitedMs: context.openTimeoutMs }) },
            },
          },
          on: {
            "CHANNEL.READY": `${CHANNEL}.verifying`,
            "CHANNEL.CLOSED": [
              {
                guard: "hostUp",
                target: `${CHANNEL}.cooling`,
                actions: [closed(false), { type: "failAttach", params: ({ event }) => ({ why: event.why }) }],
              },
              { target: `${CHANNEL}.cooling`, actions: closed(false) },
            ],
          },
        },
      },
    },
    verifying: {
      entry: "askServerPid",
      on: {
        "SERVER.PID": [
          {
            guard: "serverChanged",
            target: "attached",
            actions: [
              {
                type: "forgetPanes",
                params: ({ context, event }) => ({ was: context.serverPid, now: event.pid }),
              },
              "noteServer",
            ],
          },
          { target: "attached", actions: "noteServer" },
        ],
        "CHANNEL.CLOSED": { target: "cooling", actions: closed(true) },
      },
    },
    attached: {
      entry: "announceAttached",
      on: { "CHANNEL.CLOSED": { target: "cooling", actions: closed(true) } },
    },
    cooling: {
      after: { reopenDelay: { target: "idle", actions: "wakeIfWanted" } },
      on: { WAKE: { guard: "hostUp", target: "opening" } },
    },
    closed: { type: "final", entry: "shutDown" },
  },
  on: {
    "HOST.STATUS": [{ guard: "hostRejected", actions: ["noteHost", "refuseWaiters"] }, { actions: "noteHost" }],
    CLOSE: ".closed",
  },
});

export type TmuxChannelMachine = typeof tmuxChannelMachine;

/** Say the channel closed, and why; `attached`: it had answered (verifying or attached). */
function closed(attached: boolean) {
  return {
    type: "noteClosed" as const,
    params: ({ event }: { event: TmuxChannelEvent }) => ({
      why: event.type === "CHANNEL.CLOSED" ? event.why : "",
      attached,
    }),
  };
}
