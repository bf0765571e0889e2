/** A parent that invokes a remote child actor and records what it sends back (remote tests). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { createRemoteSessionLogic, RemoteChildInput, RemoteSpec } from "../../actors/remote-session.js";
import type { ChildCommand, ChildEvent } from "../../machines/session.types.js";
import { hostActor } from "./host-actor.js";

export type Ev<T extends ChildEvent["type"]> = Extract<ChildEvent, { type: T }>;
export type LogLine = { event: string; data: Record<string, unknown> };
type Logic = ReturnType<typeof createRemoteSessionLogic>;

/** `dir` holds the runs' logs; `lines` is the event log shown when a wait fails. */
export function remoteChildHarness(dir: string, lines: LogLine[], prefix = "r") {
  let runNo = 0;
  return function startRemote(
    logic: Logic,
    argv: string[],
    remote: Partial<RemoteSpec> = {},
    extra: Partial<RemoteChildInput> = {},
  ) {
    const id = `${prefix}${++runNo}`;
    const input: RemoteChildInput = {
      sessionId: id,
      generation: 1,
      spec: { argv, cols: 80, rows: 24 },
      outPath: join(dir, `${id}.out.log`),
      errPath: join(dir, `${id}.err.log`),
      remote: { host: "box", ...remote },
      ...extra,
    };
    const host = hostActor<ChildEvent>("child", logic, input);
    const { events, listeners, actor } = host;
    /** Waits for the event (60 s is a safety net, not an expectation). */
    const until = <T extends ChildEvent["type"]>(type: T, pred: (e: Ev<T>) => boolean = () => true, ms = 60_000) =>
      new Promise<Ev<T>>((resolve, reject) => {
        const check = () => {
          const hit = events.find((e): e is Ev<T> => e.type === type && pred(e as Ev<T>));
          if (!hit) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve(hit);
        };
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `no ${type} within ${ms} ms; got ${JSON.stringify(events.filter((e) => e.type !== "CHILD.OUTPUT"))}; log: ${JSON.stringify(lines.slice(-25))}`,
              ),
            ),
          ms,
        );
        listeners.add(check);
        check();
      });
    const send = (cmd: ChildCommand) => host.send(cmd);
    return { id, input, events, until, send, actor, output: () => readFileSync(input.outPath ?? "", "utf8") };
  };
}
