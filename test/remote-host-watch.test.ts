/**
 * The session's host watch (actors/remote-host-watch.ts) with a stand-in host: what it reports of
 * the link, and that a wait that begins asks the link to try now (once), never more.
 */
import { describe, expect, it } from "vitest";
import { createActor, setup } from "xstate";
import { hostWatchLogic, type WatchedHost } from "../actors/remote-host-watch.js";
import type { HostLinkStatus, HostStatusEvent } from "../machines/session.types.js";

function fakeHost(status: HostLinkStatus) {
  const listeners = new Set<(s: HostLinkStatus, e: string | null) => void>();
  let retries = 0;
  let now = status;
  const host: WatchedHost = {
    name: "box",
    status: () => now,
    lastError: () => "connect ECONNREFUSED",
    since: () => 1_000,
    onStatus: (fn) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    retry: () => void retries++,
  };
  const change = (s: HostLinkStatus, error: string | null = null) => {
    now = s;
    for (const fn of listeners) fn(s, error);
  };
  return { host, change, listeners, retries: () => retries };
}

/** The watch as a session's child: what it sends back, and a way to stop it. */
async function watch(host: WatchedHost | undefined) {
  const heard: HostStatusEvent[] = [];
  const parent = setup({
    actors: { hostWatch: hostWatchLogic(async () => host) },
  }).createMachine({
    initial: "waiting",
    states: {
      waiting: {
        invoke: { src: "hostWatch", input: { sessionId: "s" } },
        on: { "HOST.STATUS": { actions: ({ event }) => heard.push(event as HostStatusEvent) } },
      },
    },
  });
  const actor = createActor(parent).start();
  await new Promise((r) => setImmediate(r));
  return { heard, stop: () => actor.stop() };
}

describe("hostWatch", () => {
  it("reports the link now and at each change; a host away is asked to try now, once", async () => {
    const h = fakeHost("unreachable");
    const w = await watch(h.host);
    expect(w.heard).toEqual([
      { type: "HOST.STATUS", host: "box", status: "unreachable", since: 1_000, error: "connect ECONNREFUSED" },
    ]);
    expect(h.retries()).toBe(1);
    h.change("connected");
    expect(w.heard.at(-1)).toMatchObject({ status: "connected", error: null });
    expect(h.retries()).toBe(1);
    w.stop();
    expect(h.listeners.size).toBe(0);
  });

  it("a host already up, or on its first try, is not asked to try again", async () => {
    for (const status of ["connected", "connecting"] as const) {
      const h = fakeHost(status);
      const w = await watch(h.host);
      expect(w.heard[0]?.status).toBe(status);
      expect(h.retries()).toBe(0);
      w.stop();
    }
  });

  it("a session with no host hears nothing (the chart's own bound ends its wait)", async () => {
    const w = await watch(undefined);
    expect(w.heard).toEqual([]);
    w.stop();
  });
});
