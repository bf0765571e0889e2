/**
 * The env cookie's parts (actors/env-cookie.ts): run tokens drawn from a pool of random bytes are
 * still 16 hex digits and never repeat; a session's scope is the first 16 hex digits of its id's
 * sha256, whichever way the hash is computed (killSession recomputes it from the id).
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { conductorScope, processCookie, runCookie, sessionScope } from "../actors/env-cookie.js";

describe("env cookie", () => {
  it("run cookies: the session's scope, then a fresh 16-hex-digit token, never the same twice", () => {
    const scope = conductorScope();
    expect(scope).toMatch(new RegExp(`^${processCookie}\\.[0-9a-f]{16}\\.$`));
    const seen = new Set<string>();
    // Past several pools of tokens.
    for (let i = 0; i < 1000; i++) {
      const c = runCookie(scope, "s1");
      expect(c.startsWith(sessionScope(scope, "s1"))).toBe(true);
      const tokenPart = c.slice(sessionScope(scope, "s1").length);
      expect(tokenPart).toMatch(/^[0-9a-f]{16}$/);
      seen.add(tokenPart);
    }
    expect(seen.size).toBe(1000);
  });

  it("a session's scope is its id's sha256, cut to 16 hex digits", () => {
    for (const id of ["s1", "review", "日本", ""]) {
      const want = createHash("sha256").update(id).digest("hex").slice(0, 16);
      expect(sessionScope("p.c.", id)).toBe(`p.c.${want}.`);
    }
  });

  it("two sessions of one id (ChildSpec.instance) have scopes apart: one's final sweep cannot match the other's runs", () => {
    const scope = conductorScope();
    const old = sessionScope(scope, "r", "1");
    const fresh = runCookie(scope, "r", "2");
    expect(old).not.toBe(sessionScope(scope, "r", "2"));
    expect(fresh.startsWith(old)).toBe(false);
    expect(runCookie(scope, "r", "1").startsWith(old)).toBe(true);
  });
});
