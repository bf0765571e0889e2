import type { IncomingMessage, ServerResponse } from "node:http";

const bodies = new WeakMap<IncomingMessage, string>();
/** A request's body as text, once a handler read it (readJson): what the CLI sent, for a live test. */
export const bodyTextOf = (req: IncomingMessage): string | undefined => bodies.get(req);

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  bodies.set(req, text);
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Server-sent events; `event` is omitted for protocols that only use `data:` lines (gemini). */
export class SseWriter {
  private closed = false;
  constructor(private readonly res: ServerResponse) {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    res.on("close", () => {
      this.closed = true;
    });
  }
  get isClosed(): boolean {
    return this.closed;
  }
  send(data: unknown, event?: string): void {
    if (this.closed) return;
    this.res.write(`${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`);
  }
  end(): void {
    if (!this.closed) this.res.end();
  }
  /** Resolves when the client goes away: the hang scenario sends nothing more till then. */
  closedByClient(): Promise<void> {
    return this.closed ? Promise.resolve() : new Promise((r) => this.res.once("close", () => r()));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
