/**
 * The Stately inspector, proven (issue 15): the real `@statelyai/inspect` WebSocket inspector,
 * passed as createConductor's `inspect`, sends the conductor's actors, events and snapshots to a
 * WebSocket relay on 127.0.0.1 (a `ws` server here: what a relay receives is what the Stately UI
 * would draw). Also what it carries: the text typed into an agent and the session's environment,
 * unless the inspector's `sanitizeEvent`/`sanitizeContext` take them out (docs/inspect.md).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createWebSocketInspector } from "@statelyai/inspect";
import { afterAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { createConductor } from "../src/conductor.js";
import { SCRIPTED_AGENT } from "../src/testing/agent-hub.js";

const AGENT = SCRIPTED_AGENT;
const SECRET = "s3cret-answer-7731";
const ENV_SECRET = "env-value-9902";
/** Typed ahead (sent before the child runs): it rides in the session context's `typeAhead` meanwhile. */
const EARLY_SECRET = "early-answer-5518";

interface Message {
  type: string;
  name?: string;
  sessionId?: string;
  parentId?: string;
  sourceId?: string;
  event?: { type: string; text?: string };
  snapshot?: { value?: unknown; status?: string; context?: { spec?: { env?: unknown } } };
}

/** A relay that keeps what each connection (path `/raw`, `/safe`) sent. */
async function startRelay() {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((r) => wss.once("listening", () => r()));
  const got = new Map<string, Message[]>();
  const connected = new Map<string, Promise<void>>();
  const waiters = new Map<string, () => void>();
  for (const path of ["/raw", "/safe"]) {
    got.set(path, []);
    connected.set(path, new Promise<void>((r) => waiters.set(path, r)));
  }
  wss.on("connection", (ws, req) => {
    const path = req.url ?? "";
    waiters.get(path)?.();
    ws.on("message", (data) => got.get(path)?.push(JSON.parse(String(data)) as Message));
  });
  const { port } = wss.address() as { port: number };
  return { url: (path: string) => `ws://127.0.0.1:${port}${path}`, got, connected, close: () => wss.close() };
}

const relays: Array<() => void> = [];
afterAll(() => {
  for (const close of relays) close();
});

describe("the Stately inspector (@statelyai/inspect 0.7.2) through createConductor({ inspect })", () => {
  it("actors, events and snapshots reach a WebSocket relay on 127.0.0.1; sanitizers keep input and env out", async () => {
    const relay = await startRelay();
    relays.push(relay.close);
    const raw = createWebSocketInspector({ url: relay.url("/raw") });
    // sanitizeContext alone is not enough: env values also ride in SPAWN and xstate.init events
    // (`session.spec.env`, `input.spec.env`) and in the pty actor's snapshot `input`, which no
    // sanitizer sees. `serialize` sees every message: drop every `env` object there.
    const safe = createWebSocketInspector({
      url: relay.url("/safe"),
      sanitizeEvent: (e) => (e.type === "INPUT" || e.type === "CHILD.WRITE" ? { type: e.type, redacted: true } : e),
      serialize: (m) =>
        JSON.parse(
          JSON.stringify(m, (k, v) =>
            (k === "env" || k === "typeAhead") && v && typeof v === "object" ? "[redacted]" : v,
          ),
        ),
    });
    // Connected first: before its socket opens the inspector keeps only the last 200 events.
    await Promise.all([relay.connected.get("/raw"), relay.connected.get("/safe")]);

    const conductor = createConductor({
      logsDir: mkdtempSync(join(tmpdir(), "inspect-stately-")),
      handleSignals: false,
      enableMesh: false,
      graceMs: 500,
      probeOpts: { inputQuietMs: 100 },
      inspect: (e) => {
        raw.inspect.next?.(e);
        safe.inspect.next?.(e);
      },
    });
    const asked = new Promise<void>((r) => conductor.on("inputWait", () => r()));
    const done = new Promise<void>((r) => conductor.on("allCompleted", () => r()));
    conductor.spawnSession({
      id: "review",
      agent: "command",
      command: [process.execPath, AGENT],
      env: {
        PROBE_SECRET: ENV_SECRET,
        SCRIPTED_AGENT_PLAN: JSON.stringify([
          { waitInput: true },
          { ask: "Continue? (y/n)" },
          { waitInput: true },
          { exit: 0 },
        ]),
      },
    });
    expect(conductor.sendInput("review", EARLY_SECRET)).toBe(true);
    await asked;
    conductor.sendInput("review", SECRET);
    await done;
    await conductor.shutdown("test");

    // The inspector sends from a timer per event: wait (bounded) for the session's final snapshot.
    const final = (path: string) =>
      relay.got
        .get(path)!
        .some(
          (m) => m.type === "@xstate.snapshot" && m.snapshot?.status === "done" && m.snapshot?.value === "completed",
        );
    const deadline = Date.now() + 30_000;
    while (!(final("/raw") && final("/safe")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    raw.stop();
    safe.stop();

    const got = relay.got.get("/raw")!;
    const actors = got.filter((m) => m.type === "@xstate.actor");
    const session = actors.find((m) => m.name === "session:review")!;
    const pty = actors.find((m) => m.name === "pty" && m.parentId === session.sessionId)!;
    expect(session).toBeDefined();
    expect(pty).toBeDefined();
    expect(actors.map((m) => m.name)).toEqual(expect.arrayContaining(["awaitProcessTrees", "flushLog"]));
    const to = (id: string | undefined) =>
      got.filter((m) => m.type === "@xstate.event" && m.sessionId === id).map((m) => m.event!);
    expect(to(session.sessionId).map((e) => e.type)).toEqual(
      expect.arrayContaining(["START", "CHILD.SPAWNED", "CHILD.OUTPUT", "INPUT", "CHILD.EXIT"]),
    );
    expect(got.some((m) => m.type === "@xstate.event" && m.sourceId === pty.sessionId)).toBe(true);
    const values = got
      .filter((m) => m.type === "@xstate.snapshot" && m.sessionId === session.sessionId)
      .map((m) => (typeof m.snapshot?.value === "string" ? m.snapshot.value : Object.keys(m.snapshot?.value ?? {})[0]));
    expect(values).toEqual(expect.arrayContaining(["starting", "healthy", "input_wait", "completed"]));

    // What the inspector sees unsanitized: the answer typed into the agent, and the session's env values.
    const text = JSON.stringify(got);
    expect(
      to(session.sessionId)
        .filter((e) => e.type === "INPUT")
        .map((e) => e.text),
    ).toEqual([EARLY_SECRET, SECRET]);
    expect(text).toContain(ENV_SECRET);
    const typedAhead = (m: Message) => (m.snapshot?.context as { typeAhead?: unknown } | undefined)?.typeAhead;
    expect(got.some((m) => JSON.stringify(typedAhead(m) ?? null).includes(EARLY_SECRET))).toBe(true);
    // Sanitized: neither, in any message (the same events otherwise).
    const safeText = JSON.stringify(relay.got.get("/safe"));
    expect(final("/safe")).toBe(true);
    expect(safeText).not.toContain(SECRET);
    expect(safeText).not.toContain(ENV_SECRET);
    // The type-ahead is redacted in the context (the terminal's echo of it is output, as on any terminal).
    const safeTyped = relay.got
      .get("/safe")!
      .map(typedAhead)
      .filter((v) => v !== undefined && v !== null);
    expect(safeTyped.length).toBeGreaterThan(0);
    expect(safeTyped.every((v) => v === "[redacted]")).toBe(true);
  }, 120_000);
});
