/**
 * The control protocol's meaning, transport-free: a request object in, a response out, and
 * streamed messages for `follow`. The Unix socket server and the viewer's HTTP endpoint both
 * call it, so the CLI, the browser and embedders speak one protocol. Built only on the facade's
 * public API; `keys` and `restart` are served when the facade has `sendKeys`/`restartSession`.
 */
import { join } from "node:path";
import { ScreenTail } from "../../actors/screen-tail.js";
import { FINAL_STATES } from "../../machines/session.types.js";
import type { SessionSnapshot } from "../session-view.js";
import { withoutLibraryCall } from "../errors.js";
import type { ControlInfo, ControlPeer, ControlTarget, Listener } from "./control-target.js";
import { readLogTail } from "./event-log-tail.js";
import { OutputTail } from "./output-tail.js";
import {
  CONTROL_OPS,
  ControlError,
  type ControlOp,
  type ControlRequest,
  type ControlResponse,
  type ControlSession,
  type Hello,
  type LifecycleEvent,
  PROTOCOL_VERSION,
  type RequestId,
} from "./protocol.js";

export type { ControlInfo, ControlPeer, ControlTarget } from "./control-target.js";

const FACADE_EVENTS = [
  "stateChange",
  "inputWait",
  "completed",
  "dead",
  "account",
  "accountWait",
  "agentRetry",
  "allCompleted",
];
const SCREEN_BYTES = 256 * 1024;
const HISTORY_EVENT_BYTES = 4 * 1024 * 1024;

export function createControlHandler(target: ControlTarget, info: ControlInfo) {
  const startedAt = new Date().toISOString();
  const output = new OutputTail(info.logsDir);
  const runStartedAt = new Map<string, string>();
  const listeners = new Set<(e: LifecycleEvent) => void>();
  const ended = new Set<(reason: string) => void>();
  let endReason: string | null = null;

  const onEvent = (type: string) => (payload: Record<string, unknown> | undefined) => {
    const { sessionId, ...rest } = payload ?? {};
    const session = typeof sessionId === "string" ? sessionId : null;
    if (session) {
      output.track(session);
      // A final session's output file is closed once read (unless followed); a new run opens it again.
      if (type === "stateChange") output.setFinal(session, isFinal(rest.to));
      else if (type === "completed" || type === "dead") output.setFinal(session, true);
    }
    if (type === "stateChange" && rest.to === "starting" && session)
      runStartedAt.set(session, new Date().toISOString());
    const e: LifecycleEvent = { ts: new Date().toISOString(), type, session, ...rest };
    for (const fn of listeners) fn(e);
  };
  const bound = FACADE_EVENTS.map((name) => [name, onEvent(name)] as const);
  const onShutdown = () => {
    endReason ??= "shutdown";
    for (const fn of ended) fn(endReason);
  };
  for (const [name, fn] of bound) target.on(name, fn as Listener);
  target.on("shutdown", onShutdown as Listener);
  // A removed session is forgotten at once (its output file closed, its entries dropped): the
  // conductor actor says so; without it (another target), `sessions()` notices it is gone.
  const forget = (id: string) => {
    output.forget(id);
    runStartedAt.delete(id);
  };
  const removals = target.actor?.on("sessionRemoved", (e) => forget(e.id));

  const ops: ControlOp[] = CONTROL_OPS.filter(
    (op) => (op !== "keys" || target.sendKeys) && (op !== "restart" || target.restartSession),
  );

  /** What the output tail must know of a session before it reads its file: where, and whether it is final. */
  function known(s: SessionSnapshot): SessionSnapshot {
    output.track(s.id, s.outPath ?? undefined);
    output.setFinal(s.id, isFinal(s.state));
    return s;
  }

  function sessions(): ControlSession[] {
    const snapshot = target.getSnapshot();
    const ids = new Set(snapshot.map((s) => s.id));
    for (const id of output.tracked()) if (!ids.has(id)) forget(id);
    return snapshot.map((s) => {
      known(s);
      const last = output.lastOutputAt(s.id);
      return {
        ...s,
        runStartedAt: runStartedAt.get(s.id) ?? null,
        lastOutputAt: last === null ? null : new Date(last).toISOString(),
      };
    });
  }

  function session(id: unknown): SessionSnapshot {
    if (typeof id !== "string" || id === "") throw new ControlError("bad_request", `"session" must be a session id`);
    const s = target.getSnapshot().find((x) => x.id === id);
    if (!s) {
      const ids = target.getSnapshot().map((x) => x.id);
      throw new ControlError(
        "unknown_session",
        `no session "${id}" in this conductor${ids.length ? ` (sessions: ${ids.slice(0, 20).join(", ")})` : ""}`,
      );
    }
    return s;
  }

  async function screen(id: string) {
    const s = known(session(id));
    const cols = info.cols ?? 120;
    const rows = info.rows ?? 40;
    const { pieces } = await output.recent(id, SCREEN_BYTES);
    const term = new ScreenTail({ cols, rows });
    try {
      for (const p of pieces) await term.write(p.text);
      return { session: id, state: s.state, cols, rows, lines: term.lastLines(rows) };
    } finally {
      term.dispose();
    }
  }

  async function history(id: string, max: number) {
    const s = known(session(id));
    const events = (await readLogTail(target.eventLogPath, HISTORY_EVENT_BYTES))
      .filter((l) => l.session === id)
      .slice(-max)
      .map(({ ts, event, session: s, seq: _seq, ...rest }) => ({ ...rest, ts, type: event, session: s }));
    const recent = await output.recent(id, 64 * 1024);
    const out = recent.pieces.map((p) => ({
      ts: new Date(p.at).toISOString(),
      type: "output",
      session: id,
      text: p.text,
    }));
    const entries = [...events, ...out].sort((a, b) => String(a.ts).localeCompare(String(b.ts)));
    // Where the output shown starts: what came before it (the 64 KiB cap) is in the out log, not here.
    const outputStart = recent.pieces[0]?.start ?? recent.end;
    const outputPath = s.outPath ?? join(info.logsDir, `${id}.out.log`);
    return { session: id, entries, outputEnd: recent.end, outputStart, outputPath };
  }

  function follow(req: Extract<ControlRequest, { op: "follow" }>, peer: ControlPeer) {
    if (peer.follows.has(req.id)) throw new ControlError("bad_request", `request id ${req.id} already follows`);
    const only = Array.isArray(req.sessions) && req.sessions.length > 0 ? new Set(req.sessions) : null;
    if (only) for (const id of only) known(session(id));
    const stops: Array<() => void> = [];
    if (req.events !== false) {
      const fn = (e: LifecycleEvent) => {
        if (!only || (e.session && only.has(e.session))) peer.push({ id: req.id, stream: "event", data: e });
      };
      listeners.add(fn);
      stops.push(() => listeners.delete(fn));
    }
    if (req.output) {
      const ids = only ? [...only] : target.getSnapshot().map((s) => known(s).id);
      for (const id of ids)
        stops.push(
          output.follow(
            id,
            (c) =>
              peer.push({
                id: req.id,
                stream: "output",
                data: { ts: new Date(c.at).toISOString(), session: id, text: c.text, start: c.start, end: c.end },
              }),
            Math.max(0, Number(req.backlog) || 0),
          ),
        );
    }
    const onEnd = (reason: string) => peer.push({ id: req.id, stream: "end", data: { reason } });
    ended.add(onEnd);
    stops.push(() => ended.delete(onEnd));
    peer.follows.set(req.id, () => {
      for (const stop of stops) stop();
    });
    if (endReason !== null) onEnd(endReason);
    return { following: only ? [...only] : "all" };
  }

  async function run(req: ControlRequest, peer: ControlPeer): Promise<unknown> {
    switch (req.op) {
      case "hello":
        return {
          protocol: PROTOCOL_VERSION,
          name: info.name,
          pid: process.pid,
          version: info.version,
          logsDir: info.logsDir,
          eventLogPath: target.eventLogPath,
          startedAt,
          ended: endReason !== null,
          ops,
        } satisfies Hello;
      case "sessions":
        return sessions();
      case "history":
        return history(req.session, clampInt(req.lines, 1, 10_000, 200));
      case "screen":
        return screen(req.session);
      case "follow":
        return follow(req, peer);
      case "unfollow": {
        const stop = peer.follows.get(req.follow);
        peer.follows.delete(req.follow);
        stop?.();
        return { stopped: Boolean(stop) };
      }
      case "send": {
        const s = session(req.session);
        if (typeof req.text !== "string") throw new ControlError("bad_request", `"text" must be a string`);
        if (!target.sendInput(s.id, req.text)) throw notRunning(s);
        return { sent: true, length: req.text.length + 1 };
      }
      case "keys": {
        const s = session(req.session);
        if (!target.sendKeys) throw unsupported("keys", "sendKeys");
        if (!Array.isArray(req.keys) || req.keys.some((k) => typeof k !== "string"))
          throw new ControlError("bad_request", `"keys" must be an array of key names, e.g. ["Enter"]`);
        if (!target.sendKeys(s.id, req.keys)) throw notRunning(s);
        return { sent: true, keys: req.keys.length };
      }
      case "kill": {
        const s = session(req.session);
        if (FINAL_STATES.has(s.state)) return { killed: false, state: s.state };
        await target.killSession(s.id, typeof req.reason === "string" ? req.reason : "control_kill");
        return { killed: true, state: session(s.id).state };
      }
      case "restart": {
        const s = session(req.session);
        if (!target.restartSession) throw unsupported("restart", "restartSession");
        await target.restartSession(s.id, "control_restart");
        return { restarted: true, state: session(s.id).state };
      }
      case "shutdown": {
        const reason = typeof req.reason === "string" && req.reason ? req.reason : "control_stop";
        endReason ??= reason;
        // Answer first: the caller learns it was accepted even if shutdown takes the grace period.
        setImmediate(() => void target.shutdown(reason));
        return { stopping: true, reason };
      }
      default:
        throw new ControlError(
          "unknown_op",
          `unknown op ${JSON.stringify((req as { op?: unknown }).op)}; ops: ${ops.join(", ")}`,
        );
    }
  }

  return {
    ops,
    sessions,
    output,
    async handle(raw: unknown, peer: ControlPeer): Promise<ControlResponse> {
      const id = requestId(raw);
      try {
        if (id === null) throw new ControlError("bad_request", `a request is an object with "id" and "op"`);
        return { id, ok: true, result: await run(raw as ControlRequest, peer) };
      } catch (err) {
        const e =
          err instanceof ControlError
            ? err
            : new ControlError("failed", withoutLibraryCall(String((err as Error)?.message ?? err)));
        return { id, ok: false, error: { code: e.code, message: e.message } };
      }
    },
    /** Stops everything a peer follows (it disconnected). */
    release(peer: ControlPeer) {
      for (const stop of peer.follows.values()) stop();
      peer.follows.clear();
    },
    close() {
      for (const [name, fn] of bound) target.off(name, fn as Listener);
      target.off("shutdown", onShutdown as Listener);
      removals?.unsubscribe();
      listeners.clear();
      ended.clear();
      output.close();
    },
  };
}

export type ControlHandler = ReturnType<typeof createControlHandler>;

const isFinal = (state: unknown) => FINAL_STATES.has(state as SessionSnapshot["state"]);

function requestId(raw: unknown): RequestId | null {
  if (typeof raw !== "object" || raw === null) return null;
  const id = (raw as { id?: unknown }).id;
  return typeof id === "number" || typeof id === "string" ? id : null;
}

function clampInt(v: unknown, min: number, max: number, dflt: number): number {
  return typeof v === "number" && Number.isFinite(v) ? Math.min(max, Math.max(min, Math.floor(v))) : dflt;
}

function notRunning(s: SessionSnapshot) {
  return new ControlError("not_running", `session "${s.id}" has no running child (state ${s.state})`);
}

function unsupported(op: string, method: string) {
  return new ControlError("unsupported", `"${op}" needs the conductor's ${method}(), which this version lacks`);
}
