/** What the control layer is given: the conductor it drives, facts about it, and one client. */
import type { SessionSnapshot } from "../session-view.js";
import type { RequestId, StreamMessage } from "./protocol.js";

export type Listener = (payload: Record<string, unknown>) => void;
/** What the control layer needs from a conductor; the facade satisfies it. */
export interface ControlTarget {
  getSnapshot(): SessionSnapshot[];
  on(event: string, fn: Listener): unknown;
  off(event: string, fn: Listener): unknown;
  sendInput(id: string, text: string): boolean;
  killSession(id: string, reason?: string): Promise<void>;
  shutdown(reason?: string): Promise<void>;
  readonly eventLogPath: string;
  readonly isShuttingDown?: boolean;
  sendKeys?: (id: string, keys: string[]) => boolean;
  restartSession?: (id: string, reason?: string) => Promise<unknown>;
  /** The conductor actor (the facade's `actor`): its `sessionRemoved` lets a removed session's output file go. */
  readonly actor?: {
    on(type: "sessionRemoved", fn: (e: { id: string }) => void): { unsubscribe(): void };
  };
}

export interface ControlInfo {
  name: string;
  logsDir: string;
  version: string;
  /** Pty size used to render a session's screen (default 120×40, the conductor's default). */
  cols?: number;
  rows?: number;
}

/** One client's view: where its stream messages go, and what it follows. */
export interface ControlPeer {
  push(message: StreamMessage): void;
  readonly follows: Map<RequestId, () => void>;
}
