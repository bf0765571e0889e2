/**
 * A fake of codex's ChatGPT login, for the live test of an account's refreshed login: codex's
 * refresh endpoint (`CODEX_REFRESH_TOKEN_URL_OVERRIDE`) hands out single-use refresh tokens as the
 * real one does (`rt-1` → `rt-2` → …; a spent one is refused, `refresh_token_reused`), and its
 * backend (`chatgpt_base_url`) answers 401 to the expired access token, which is what makes codex
 * 0.171 refresh (`refresh_reason: unauthorized_recovery`). Tokens are unsigned JWTs with the claims
 * codex reads. Test-only, 127.0.0.1 only.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readJson, sendJson } from "./http-util.js";

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
const AUTH_CLAIMS = { chatgpt_plan_type: "plus", chatgpt_account_id: "acct-fake", chatgpt_user_id: "user-fake" };
/** An unsigned JWT as codex parses it (it does not check signatures); `generation` tells tokens apart. */
export const fakeJwt = (generation: number) =>
  `${b64({ alg: "none", typ: "JWT" })}.${b64({ email: "fake@example.com", exp: 4102444800, generation, "https://api.openai.com/auth": AUTH_CLAIMS })}.ZmFrZQ`;

/** The `generation` claim of a bearer token of ours; -1 for anything else. */
function generationOf(authorization: string | undefined): number {
  try {
    const claims = JSON.parse(Buffer.from(String(authorization).split(".")[1] ?? "", "base64url").toString("utf8"));
    return typeof claims.generation === "number" ? claims.generation : -1;
  } catch {
    return -1;
  }
}

/** A ChatGPT login in auth.json whose access token the fake backend calls expired. */
export function expiredLogin(refreshToken: string): string {
  const tokens = {
    id_token: fakeJwt(0),
    access_token: fakeJwt(0),
    refresh_token: refreshToken,
    account_id: "acct-fake",
  };
  return JSON.stringify({ OPENAI_API_KEY: null, tokens, last_refresh: "2020-01-01T00:00:00Z" });
}

export interface FakeChatgptLogin {
  origin: string;
  /** The refresh tokens codex presented, in order. */
  refreshes: string[];
  /** The generation of the access token each backend request carried (0: the expired one), in order. */
  bearers: number[];
  close(): Promise<void>;
}

export async function startFakeChatgptLogin(): Promise<FakeChatgptLogin> {
  const refreshes: string[] = [];
  const bearers: number[] = [];
  const spent = new Set<string>();
  let issued = 1;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === "POST" && req.url?.startsWith("/oauth/token")) {
      void readJson(req).then((body) => {
        const token = String((body as { refresh_token?: unknown } | undefined)?.refresh_token);
        refreshes.push(token);
        if (spent.has(token)) {
          sendJson(res, 401, { error: { message: "refresh token already used", code: "refresh_token_reused" } });
          return;
        }
        spent.add(token);
        issued = Math.max(issued, Number(token.replace(/\D/g, "")) || 0) + 1;
        const fresh = fakeJwt(issued);
        sendJson(res, 200, { id_token: fresh, access_token: fresh, refresh_token: `rt-${issued}` });
      });
      return;
    }
    bearers.push(generationOf(req.headers.authorization));
    if (req.headers.authorization === `Bearer ${fakeJwt(0)}`) {
      sendJson(res, 401, { error: { message: "token expired", code: "token_expired" } });
      return;
    }
    sendJson(res, 404, { error: { message: `fake ChatGPT backend: no route ${req.method} ${req.url}` } });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    refreshes,
    bearers,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
