/**
 * The fake API: one HTTP server on 127.0.0.1 that speaks Anthropic Messages, OpenAI Responses and
 * Gemini generateContent, chosen by path, with the failure scenario chosen by the base URL's first
 * path segment (`/auth/v1/messages`). Test-only: it exists so the real CLIs can be recorded and run
 * under the conductor without any network but loopback.
 */
import { FAKE_KEYS } from "../agent-env.js";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { handleAnthropic } from "./anthropic.js";
import { handleGemini } from "./gemini.js";
import { bodyTextOf, sendJson } from "./http-util.js";
import { handleOpenAi } from "./openai.js";
import { DROP_AFTER_MS, FLAKY_RETRY_SECONDS, parseScenario, parseThen, type Scenario } from "./scenario.js";

export type Vendor = "anthropic" | "openai" | "gemini";

export interface FakeApiRequest {
  at: number;
  method: string;
  url: string;
  vendor: Vendor | null;
  scenario: string;
  status?: number;
  /** Which credential the request carried, by kind (never its value): see credentialOf. */
  credential: string | null;
  /** The request's body as text once its handler read it (the conversation a CLI sent). */
  readonly body?: string;
}

export interface FakeApi {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** A loopback origin where nothing listens (a port taken and let go): the `refused` scenario's. */
  refusedOrigin: string;
  /** The base URL a CLI should use for a scenario, e.g. `baseUrl("rate-39")`; `refused` is refusedOrigin's. */
  baseUrl(scenario: string): string;
  requests: FakeApiRequest[];
  close(): Promise<void>;
}

function vendorOf(path: string): Vendor | null {
  if (path.startsWith("/v1/messages")) return "anthropic";
  if (/^\/(v1beta|v1|v1alpha)\/models\/[^/]+:/.test(path)) return "gemini";
  if (/^(\/v1)?\/(responses|models)\/?$/.test(path)) return "openai";
  return null;
}

/**
 * The credential a request carried, named by where it came from: `x-api-key`, `bearer` or the
 * `?key=`/`x-goog-api-key` of gemini, each with `:<name>` when it is one of FAKE_KEYS (`bearer:claudeOauth`).
 * A live test asserts with it which login a CLI used (an account's, or a key in its environment).
 */
function credentialOf(req: IncomingMessage): string | null {
  const auth = req.headers.authorization?.replace(/^Bearer\s+/i, "");
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  const found: [string, string | undefined][] = [
    ["x-api-key", req.headers["x-api-key"] as string | undefined],
    ["bearer", req.headers.authorization ? auth : undefined],
    ["x-goog-api-key", req.headers["x-goog-api-key"] as string | undefined],
    ["key", url.searchParams.get("key") ?? undefined],
  ];
  const [where, value] = found.find(([, v]) => v) ?? [];
  if (!where) return null;
  const name = Object.entries(FAKE_KEYS).find(([, k]) => k === value)?.[0];
  return name ? `${where}:${name}` : where;
}

/** A call to the model (not gemini's countTokens, not claude's count_tokens, not a model list). */
function isModelCall(method: string | undefined, path: string): boolean {
  if (method !== "POST") return false;
  return (
    (path.startsWith("/v1/messages") && !path.includes("count_tokens")) ||
    /\/responses\/?$/.test(path) ||
    /:(?:generateContent|streamGenerateContent)\b/.test(path)
  );
}

export async function startFakeApi(port = 0): Promise<FakeApi> {
  const requests: FakeApiRequest[] = [];
  /** `flaky`: model calls so far, per scenario segment and vendor. */
  const calls = new Map<string, number>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const [, first = "", ...rest] = url.pathname.split("/");
    const then = parseThen(first);
    let scenario: Scenario = parseScenario(first) ?? { name: "ok", seconds: 0 };
    const path = parseScenario(first) || then ? `/${rest.join("/")}` : url.pathname;
    const vendor = vendorOf(path);
    if (then) {
      const key = `${first} ${vendor}`;
      const n = (calls.get(key) ?? 0) + (isModelCall(req.method, path) ? 1 : 0);
      calls.set(key, n);
      if (n > then.okCalls) scenario = parseScenario(then.after) as Scenario;
    }
    if (scenario.name === "flaky") {
      const key = `${first} ${vendor}`;
      const n = (calls.get(key) ?? 0) + (isModelCall(req.method, path) ? 1 : 0);
      calls.set(key, n);
      const throttled = isModelCall(req.method, path) && n <= scenario.seconds;
      scenario = throttled ? { name: "rate", seconds: FLAKY_RETRY_SECONDS } : { name: "ok", seconds: 0 };
    }
    const entry: FakeApiRequest = {
      at: Date.now(),
      method: req.method ?? "?",
      url: req.url ?? "",
      vendor,
      scenario: first,
      credential: credentialOf(req),
    };
    Object.defineProperty(entry, "body", { get: () => bodyTextOf(req), enumerable: false });
    requests.push(entry);
    res.on("finish", () => {
      entry.status = res.statusCode;
    });
    const handle =
      vendor === "anthropic"
        ? handleAnthropic
        : vendor === "openai"
          ? handleOpenAi
          : vendor === "gemini"
            ? handleGemini
            : null;
    if (!handle) {
      sendJson(res, 404, { error: { message: `fake API: no route ${req.method} ${url.pathname}` } });
      return;
    }
    if (scenario.name === "status" && isModelCall(req.method, path)) {
      sendServerError(req, res, vendor, scenario.seconds);
      return;
    }
    // The hang scenario's first word, then the socket closed under the stream.
    if (scenario.name === "drop") {
      scenario = { name: "hang", seconds: 0 };
      setTimeout(() => req.socket.destroy(), DROP_AFTER_MS).unref();
    }
    // An API that takes the request and never answers (codex waits for headers with no timeout of its own).
    if (scenario.name === "mute" && req.method === "POST") {
      req.resume();
      return;
    }
    handle(req, res, path, scenario).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { message: `fake API bug: ${String(err)}` } });
      else res.destroy();
    });
  });
  // WebSocket upgrades (codex tries a Responses WebSocket first): refused, so the CLI falls back to
  // HTTPS at once; logged like any request.
  server.on("upgrade", (req, socket) => {
    requests.push({
      at: Date.now(),
      method: "UPGRADE",
      url: req.url ?? "",
      vendor: null,
      scenario: "",
      status: 404,
      credential: null,
    });
    socket.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const refusedOrigin = `http://127.0.0.1:${await freedPort()}`;
  return {
    origin,
    refusedOrigin,
    baseUrl: (scenario) => `${scenario === "refused" ? refusedOrigin : origin}/${scenario}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** HTTP `status` with the body each vendor's servers send for an internal error; 502 as a gateway says it. */
function sendServerError(req: IncomingMessage, res: ServerResponse, vendor: string | null, status: number): void {
  const gateway =
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>";
  const body =
    status === 502
      ? gateway
      : JSON.stringify(
          vendor === "anthropic"
            ? { type: "error", error: { type: "api_error", message: "Internal server error" } }
            : vendor === "openai"
              ? { error: { message: "The server had an error processing your request.", type: "server_error" } }
              : { error: { code: status, message: "The service is currently unavailable.", status: "UNAVAILABLE" } },
        );
  req.resume();
  req.on("end", () => {
    res.writeHead(status, { "content-type": status === 502 ? "text/html" : "application/json" });
    res.end(body);
  });
}

/** A loopback port nothing listens on: one the kernel gave out, closed again (connections are refused). */
function freedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
