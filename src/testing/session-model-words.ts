/** The session test model's steps in words (path descriptions and test names). */
import type { SessionEvent } from "../../machines/session.machine.js";
import {
  BUSY_RETRY_TEXT,
  HALF_DRAWN,
  RATE_LIMIT_TEXT,
  RETRY_TEXT,
  type SessionModelOptions,
  sessionModelDefaults,
  ticks,
} from "./session-model-world.js";

/** What a step means for a real agent and test, in words. */
export function describeSessionEvent(e: SessionEvent, opts: SessionModelOptions = {}): string {
  const o = { ...sessionModelDefaults, ...opts };
  switch (e.type) {
    case "START":
      return "start";
    case "KILL":
      return "kill";
    case "RESTART":
      return "restart";
    case "INPUT":
      return `type "${e.text}"`;
    case "KEYS":
      return `keys ${e.keys.join("+")}`;
    case "RUN.DEADLINE":
      return "run deadline";
    case "CHILD.SPAWNED":
      return "spawned";
    case "CHILD.SPAWN_ERROR":
      return "spawn fails";
    case "CHILD.OUTPUT":
      return e.screenTail.includes(o.question)
        ? "agent asks"
        : e.screenTail.includes(o.otherQuestion)
          ? "agent asks something else"
          : e.screenTail.includes(RATE_LIMIT_TEXT)
            ? "agent hits its rate limit"
            : e.screenTail.includes(RETRY_TEXT) || e.screenTail.includes(BUSY_RETRY_TEXT)
              ? "agent announces a retry"
              : ticks(e.screenTail) > 0
                ? "agent's counter ticks"
                : e.screenTail.includes(HALF_DRAWN)
                  ? "agent's frame read half drawn"
                  : "agent prints";
    case "CHILD.EXIT":
      return `agent exits ${e.exitCode}`;
    case "CHILD.GONE":
      return "tree gone";
    case "RESTART.WINDOW_EXPIRED":
      return "restart window passes";
    default: {
      const m = /^xstate\.after\.([^.]+)/.exec(e.type);
      return m
        ? `quiet until ${m[1]}`
        : e.type.startsWith("LEASE.")
          ? `broker: ${e.type.slice(6).toLowerCase()}`
          : e.type.toLowerCase();
    }
  }
}
