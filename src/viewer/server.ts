/**
 * `startViewer(conductor)`: an offline, local live view of every session's statechart.
 * node:http only; loopback only (there is no authentication, so nothing else may reach it);
 * one page plus a Server-Sent Events stream. Nothing keeps the process alive after close().
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname } from "node:path";
import { sessionMachine } from "../../machines/session.machine.js";
import type { Conductor } from "../conductor.js";
import { type ControlHandler, type ControlTarget, createControlHandler } from "../control/handler.js";
import { ConductorError } from "../errors.js";
import { toGraphJson } from "../machine-graph.js";
import type { SessionSnapshot } from "../session-view.js";
import { layoutGraph } from "./layout.js";
import { renderSvg } from "./svg.js";
import { renderPage } from "./page.js";
import { validateViewerOptions } from "./options.js";
import { serveAsset, serveControl, serveFollow, tokenOk } from "./routes.js";

/** What the viewer needs from a conductor (the facade satisfies it). */
export type ViewerSource = Pick<Conductor, "on" | "off" | "getSnapshot"> & { actor?: Conductor["actor"] };

/** Checked by `viewerOptionsSchema` (./options.ts) before anything starts. */
export interface ViewerOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Only "127.0.0.1" is accepted. */
  host?: string;
  /** Transitions kept per session for the page (default 12). */
  historySize?: number;
  /** Page title (default "statechart-conductor"). */
  title?: string;
  /** The control protocol's handler: the page's controls (answer, kill, restart) go through it. */
  control?: ControlHandler;
}

export interface Viewer {
  /** The page's URL, with the random token its controls need (`?t=…`): print it, do not log it elsewhere. */
  url: string;
  /** `http://127.0.0.1:<port>/`, without the token. */
  origin: string;
  port: number;
  close(): Promise<void>;
}

export interface Move {
  at: string;
  from: string;
  to: string;
  reason: string;
}

export type ViewedSession = SessionSnapshot & {
  history: Move[];
  /** Output bytes per 2 s over the last minute, oldest first (the overview's sparkline). */
  activity?: number[];
  lastOutputAt?: string | null;
};

const REFRESH_MS = 1_000; // output counters change without an event; refresh while someone watches
const KEEPALIVE_TICKS = 15; // a comment every 15 s keeps proxies and idle timeouts away

export async function startViewer(source: ViewerSource, opts: ViewerOptions = {}): Promise<Viewer> {
  validateViewerOptions(opts);
  const host = opts.host ?? "127.0.0.1";
  const port = opts.port ?? 0;
  const historySize = opts.historySize ?? 12;
  const title = opts.title ?? "statechart-conductor";
  const graph = toGraphJson(sessionMachine);
  const layout = layoutGraph(graph);
  const svg = renderSvg(layout, `${graph.id} statechart`);

  const history = new Map<string, Move[]>();
  const token = randomBytes(18).toString("base64url");
  const isTarget = (x: unknown): x is ControlTarget =>
    typeof (x as ControlTarget).sendInput === "function" && typeof (x as ControlTarget).eventLogPath === "string";
  // Controls go through the control protocol: the run's handler, or one of our own for an embedder.
  const ownHandler =
    !opts.control && isTarget(source)
      ? createControlHandler(source, { name: "viewer", logsDir: dirname(source.eventLogPath), version: "" })
      : null;
  const control = opts.control ?? ownHandler;
  const lastSent = new Map<string, string>();
  const clients = new Set<ServerResponse>();
  let ended = false;
  let closed = false;
  let ticks = 0;
  let timer: NodeJS.Timeout | undefined;

  const view = (s: SessionSnapshot & { lastOutputAt?: string | null }): ViewedSession => ({
    ...s,
    history: history.get(s.id) ?? [],
    ...(control ? { activity: control.output.activity(s.id, 30, 2_000) } : {}),
  });
  const sessions = () => (control ? control.sessions() : source.getSnapshot()).map(view);
  const write = (res: ServerResponse, event: string, data: unknown) =>
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const broadcast = (event: string, data: unknown) => {
    for (const res of clients) write(res, event, data);
  };
  /** Sends a session only when something the page shows changed. */
  const push = (id?: string) => {
    if (closed) return;
    for (const s of sessions()) {
      if (id !== undefined && s.id !== id) continue;
      const json = JSON.stringify(s);
      if (lastSent.get(s.id) === json) continue;
      lastSent.set(s.id, json);
      if (clients.size > 0) broadcast("session", s);
    }
  };

  const onStateChange = (e: { sessionId: string; from: string; to: string; reason: string }) => {
    const h = history.get(e.sessionId) ?? [];
    h.push({ at: new Date().toISOString(), from: e.from, to: e.to, reason: e.reason });
    if (h.length > historySize) h.splice(0, h.length - historySize);
    history.set(e.sessionId, h);
    push(e.sessionId);
  };
  const onSession = (e: { sessionId: string }) => push(e.sessionId);
  const onShutdown = () => {
    ended = true;
    push();
    broadcast("end", {});
  };
  const listeners = [
    ["stateChange", onStateChange],
    ["inputWait", onSession],
    ["completed", onSession],
    ["dead", onSession],
    ["shutdown", onShutdown],
    // Account leasing (when the conductor has accounts): shown at once, not at the next refresh.
    ["account", onSession],
    ["accountWait", onSession],
  ] as const;
  type Name = Parameters<ViewerSource["on"]>[0];
  for (const [name, fn] of listeners) source.on(name as Name, fn as (p: unknown) => void);

  // The facade has no `spawn` event; the session actors emit one (pid known), so listen there.
  const watched = new Map<string, { unsubscribe(): void }>();
  const watch = () => {
    const refs = source.actor?.getSnapshot().context.sessions ?? {};
    for (const [id, ref] of Object.entries(refs)) {
      if (!watched.has(id))
        watched.set(
          id,
          ref.on("spawn", () => push(id)),
        );
    }
  };
  watch();
  const actorSub = source.actor?.subscribe({ next: watch, error: () => {} });

  const tick = () => {
    push();
    if (++ticks % KEEPALIVE_TICKS === 0) for (const res of clients) res.write(": keep-alive\n\n");
  };
  const setTicking = () => {
    if (clients.size > 0 && !timer && !closed) {
      timer = setInterval(tick, REFRESH_MS);
      timer.unref();
    } else if (clients.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };

  let allowedHosts = new Set<string>();
  let origins = new Set<string>();
  const server = createServer((req, res) => handle(req, res));
  function handle(req: IncomingMessage, res: ServerResponse) {
    // DNS rebinding: a page on another origin resolving to 127.0.0.1 still sends its own Host.
    if (!allowedHosts.has(req.headers.host ?? ""))
      return plain(res, 403, "forbidden: open the viewer as http://127.0.0.1:<port>/\n");
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const path = url.pathname;
    if (path === "/control" || path === "/follow") {
      if (!control) return plain(res, 404, "this viewer has no controls (its source is not a conductor)\n");
      if (!tokenOk(url, req, token)) return plain(res, 403, "forbidden: open the URL the conductor printed\n");
      if (path === "/control") return serveControl(req, res, control, origins);
      return void serveFollow(url, req, res, control);
    }
    if (req.method !== "GET" && req.method !== "HEAD") return plain(res, 405, "method not allowed\n");
    if (serveAsset(path, res)) return;
    const common = { "cache-control": "no-store", "x-content-type-options": "nosniff" };
    if (path === "/" || path === "/index.html") {
      const nonce = randomBytes(16).toString("base64");
      res.writeHead(200, {
        ...common,
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": `default-src 'none'; style-src 'unsafe-inline' 'self'; script-src 'nonce-${nonce}' 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      });
      return void res.end(renderPage({ svg, nonce, title, machineId: graph.id }));
    }
    if (path === "/graph.json") return json(res, { graph, layout });
    if (path === "/sessions.json") return json(res, { ended, sessions: sessions() });
    if (path === "/events") {
      res.writeHead(200, {
        ...common,
        "content-type": "text/event-stream; charset=utf-8",
        connection: "keep-alive",
        "x-accel-buffering": "no",
      });
      res.write("retry: 1000\n\n");
      write(res, "snapshot", { graph: graph.id, ended, sessions: sessions() });
      if (ended) write(res, "end", {});
      clients.add(res);
      setTicking();
      req.on("close", () => {
        clients.delete(res);
        setTicking();
      });
      return;
    }
    plain(res, 404, "not found: try / or /events\n");
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      // The port is the one thing the caller can change about it: that is the field named.
      const why = err.code === "EADDRINUSE" ? "the port is in use (pick another, or 0 for a free one)" : err.message;
      reject(
        new ConductorError(`startViewer: cannot listen on ${host}:${port}: ${why}`, {
          code: "INVALID_OPTIONS",
          field: "port",
          cause: err,
        }),
      );
    });
    server.listen(port, host, () => resolve());
  }).catch((err) => {
    detach();
    throw err;
  });
  const bound = (server.address() as AddressInfo).port;
  allowedHosts = new Set([`127.0.0.1:${bound}`, `localhost:${bound}`]);
  origins = new Set([...allowedHosts].map((h) => `http://${h}`));

  function detach() {
    for (const [name, fn] of listeners) source.off(name as Name, fn as (p: unknown) => void);
    actorSub?.unsubscribe();
    for (const s of watched.values()) s.unsubscribe();
    watched.clear();
  }

  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${bound}/?t=${token}`,
    origin: `http://127.0.0.1:${bound}/`,
    port: bound,
    close() {
      closing ??= (async () => {
        closed = true;
        detach();
        ownHandler?.close();
        clearInterval(timer);
        timer = undefined;
        for (const res of clients) {
          write(res, "end", {});
          res.end();
        }
        clients.clear();
        const done = new Promise<void>((r) => server.close(() => r()));
        server.closeAllConnections(); // idle keep-alive sockets would hold close() open
        await done;
      })();
      return closing;
    },
  };
}

function plain(res: ServerResponse, status: number, text: string) {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
  res.end(text);
}

function json(res: ServerResponse, data: unknown) {
  res.writeHead(200, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(JSON.stringify(data));
}
