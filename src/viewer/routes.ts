/**
 * The viewer's routes beyond the overview stream: `/control` (the control protocol's requests,
 * POSTed as JSON), `/follow` (one session's history, output and events as Server-Sent Events) and
 * `/assets/*` (xterm.js from the installed package: the page works offline). Both data routes need
 * the random token of the URL the CLI prints, and `/control` a same-origin request.
 */
import { timingSafeEqual } from "node:crypto";
import fs from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { ControlHandler, ControlPeer } from "../control/handler.js";
import { type History, type RequestId, type StreamMessage, unseenText } from "../control/protocol.js";

const require = createRequire(import.meta.url);
const ASSETS: Record<string, { file: () => string; type: string }> = {
  "/assets/xterm.js": { file: () => require.resolve("@xterm/xterm/lib/xterm.js"), type: "text/javascript" },
  "/assets/xterm.css": { file: () => require.resolve("@xterm/xterm/css/xterm.css"), type: "text/css" },
};
const MAX_BODY = 64 * 1024;

export function tokenOk(url: URL, req: IncomingMessage, token: string): boolean {
  const given = Buffer.from(url.searchParams.get("t") ?? String(req.headers["x-conductor-token"] ?? ""));
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

export function serveAsset(path: string, res: ServerResponse): boolean {
  const asset = ASSETS[path];
  if (!asset) return false;
  let body: Buffer;
  try {
    body = fs.readFileSync(asset.file());
  } catch {
    res.writeHead(500, { "content-type": "text/plain" });
    res.end("@xterm/xterm is not installed: npm install @xterm/xterm\n");
    return true;
  }
  res.writeHead(200, { "content-type": `${asset.type}; charset=utf-8`, "cache-control": "max-age=3600" });
  res.end(body);
  return true;
}

/** POST /control: one request object, one response object, through the same handler as the socket. */
export function serveControl(req: IncomingMessage, res: ServerResponse, handler: ControlHandler, origin: Set<string>) {
  // A page on another origin cannot send this: browsers add Origin to every cross-site POST.
  const from = req.headers.origin;
  if (req.method !== "POST" || (from !== undefined && !origin.has(from))) {
    res.writeHead(403, { "content-type": "text/plain" });
    return void res.end("forbidden: POST from the viewer's own page only\n");
  }
  let body = "";
  req.setEncoding("utf8");
  req.on("data", (d: string) => {
    body += d;
    if (body.length > MAX_BODY) req.destroy();
  });
  req.on("end", () => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = null;
    }
    const op = (parsed as { op?: unknown } | null)?.op;
    // Streams have their own route; the page has no business shutting the conductor down.
    const refused = op === "follow" || op === "unfollow" || op === "shutdown";
    const peer: ControlPeer = { push: () => undefined, follows: new Map() };
    const answer = refused
      ? Promise.resolve({
          id: null,
          ok: false,
          error: { code: "bad_request", message: `"${op}" is not available from the viewer` },
        })
      : handler.handle(parsed, peer);
    void answer.then((r) => {
      res.writeHead(200, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
      res.end(JSON.stringify(r));
    });
  });
}

/** GET /follow?session=ID: history first, then live output and events, as SSE. */
export async function serveFollow(url: URL, req: IncomingMessage, res: ServerResponse, handler: ControlHandler) {
  const session = url.searchParams.get("session") ?? "";
  const send = (m: StreamMessage) => res.write(`event: ${m.stream}\ndata: ${JSON.stringify(m.data)}\n\n`);
  // Following starts before the history is read so nothing falls between the two; until the history
  // is out, live messages wait, and output the history already holds is dropped by its position.
  const early: StreamMessage[] = [];
  let live: ((m: StreamMessage) => void) | null = null;
  const peer: ControlPeer = {
    push: (m: StreamMessage) => (live ? live(m) : early.push(m)),
    follows: new Map<RequestId, () => void>(),
  };
  const following = await handler.handle(
    { id: 1, op: "follow", sessions: [session], events: true, output: true },
    peer,
  );
  const history = following.ok ? await handler.handle({ id: 0, op: "history", session, lines: 100 }, peer) : following;
  if (!history.ok) {
    handler.release(peer);
    res.writeHead(404, { "content-type": "text/plain" });
    return void res.end(`${history.error.message}\n`);
  }
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store",
    "x-accel-buffering": "no",
  });
  const { entries, outputEnd } = history.result as History;
  res.write(`event: history\ndata: ${JSON.stringify(history.result)}\n\n`);
  const lastTs = entries.filter((e) => e.type !== "output").at(-1)?.ts ?? "";
  for (const m of early) {
    if (m.stream === "event" && m.data.ts <= lastTs) continue;
    if (m.stream === "output") {
      const text = unseenText(m.data, outputEnd) ?? "";
      if (text) send({ ...m, data: { ...m.data, text } });
    } else send(m);
  }
  live = send;
  req.on("close", () => handler.release(peer));
}
