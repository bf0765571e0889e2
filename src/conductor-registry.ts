/**
 * Process-wide map: session id → the conductor API that owns the session, so any part of an
 * application can `sendInput` to a session by id alone (`sendInputToConductorSession`).
 *
 * 10.3.0 registered through a registry that might not exist (`getConductorRegistry()?.register?.`
 * in one place, a bare call crashing in another) and registered a `null` API. Here the registry is
 * created lazily so it always exists, and a missing API is refused at the call that passes it.
 */

/** The least a conductor must offer to be reachable through the registry. */
export interface ConductorApi {
  sendInput(id: string, text: string): boolean;
}

export interface ConductorRegistry {
  /**
   * Claims `sessionId` for `api` and returns true. A later claim by another API (a second conductor
   * with a session of the same id) takes it over until it lets go; then the earlier owner, whose
   * session still lives, has it again. A bad id or API throws (the seed returned false).
   */
  register(sessionId: string, api: ConductorApi): true;
  /**
   * Lets go of the id and returns whether it did. With `api`, that API's claim only, so a stale
   * conductor cannot evict a newer one; without it (the seed's one-argument call), the owner's.
   */
  unregister(sessionId: string, api?: ConductorApi): boolean;
  /** The owner, or `null` (the seed's `get`). */
  get(sessionId: string): ConductorApi | null;
  /** The owner, or `undefined`. */
  lookup(sessionId: string): ConductorApi | undefined;
  /** Routes to the owner's sendInput; false when nobody owns the id. */
  sendInput(sessionId: string, text: string): boolean;
  list(): string[];
  clear(): void;
  readonly size: number;
}

function assertId(sessionId: unknown, method: string): asserts sessionId is string {
  if (typeof sessionId !== "string" || sessionId.length === 0) {
    throw new TypeError(`ConductorRegistry.${method}(sessionId, ...): sessionId must be a non-empty string`);
  }
}

/** The seed trimmed ids on lookup; ours never contain spaces, so trimming only forgives the caller. */
const keyOf = (sessionId: unknown): string => (sessionId == null ? "" : String(sessionId).trim());

export function createConductorRegistry(): ConductorRegistry {
  // Claims per id, the owner last: a conductor that lets go never strands another's live session.
  const claims = new Map<string, ConductorApi[]>();
  const owners = { get: (key: string) => claims.get(key)?.at(-1) };
  return Object.freeze({
    register(sessionId: string, api: ConductorApi): true {
      assertId(sessionId, "register");
      if (api === null || api === undefined || typeof (api as Partial<ConductorApi>).sendInput !== "function") {
        throw new TypeError(
          `ConductorRegistry.register("${sessionId}", api): api must be the owning conductor's API ` +
            `object with a sendInput(id, text) method, got ${api === null ? "null" : typeof api}`,
        );
      }
      const held = (claims.get(sessionId) ?? []).filter((a) => a !== api);
      claims.set(sessionId, [...held, api]);
      return true;
    },
    unregister(sessionId: string, api?: ConductorApi) {
      const key = keyOf(sessionId);
      const held = claims.get(key);
      const gone = api ?? held?.at(-1);
      if (!held || gone === undefined || !held.includes(gone)) return false;
      const left = held.filter((a) => a !== gone);
      if (left.length > 0) claims.set(key, left);
      else claims.delete(key);
      return true;
    },
    get(sessionId: string) {
      return owners.get(keyOf(sessionId)) ?? null;
    },
    lookup(sessionId: string) {
      return owners.get(keyOf(sessionId));
    },
    sendInput(sessionId: string, text: string) {
      const key = keyOf(sessionId);
      const owner = owners.get(key);
      return owner ? owner.sendInput(key, text) : false;
    },
    list() {
      return [...claims.keys()];
    },
    clear() {
      claims.clear();
    },
    get size() {
      return claims.size;
    },
  });
}

let shared: ConductorRegistry | undefined;

/** The process-wide registry, created on first use: never null (the seed's could be). */
export function getConductorRegistry(): ConductorRegistry {
  shared ??= createConductorRegistry();
  return shared;
}

/** The seed's name for the same call. */
export const ensureConductorRegistry = getConductorRegistry;

/**
 * Replaces the process-wide registry and returns the previous one (the seed's test hook). `null`
 * starts a fresh, empty registry on next use instead of leaving none. A conductor keeps unregistering
 * from the registry it registered a session in, so swapping never strands an entry.
 */
export function setConductorRegistry(next: ConductorRegistry | null): ConductorRegistry | null {
  const previous = shared ?? null;
  shared = next ?? undefined;
  return previous;
}

export type SendInputResult =
  | { ok: true; data: { session_id: string; sent: true } }
  | {
      ok: false;
      error: { code: "INVALID_SEND_INPUT" | "CONDUCTOR_SESSION_NOT_FOUND" | "SEND_INPUT_FAILED"; message: string };
    };

/**
 * The seed's routed send: the owner's `sendInput(id, text)` as a result object, never a throw.
 * `CONDUCTOR_REGISTRY_NOT_AVAILABLE` cannot happen here: the registry always exists.
 */
export function sendInputToConductorSession(sessionId: string, text: string): SendInputResult {
  const id = keyOf(sessionId);
  if (!id || typeof text !== "string" || text.length === 0) {
    const message = "sendInputToConductorSession(sessionId, text): both must be non-empty strings";
    return { ok: false, error: { code: "INVALID_SEND_INPUT", message } };
  }
  const owner = getConductorRegistry().get(id);
  if (!owner) {
    const message = `Conductor session not found: ${id} (sessions are registered while they live)`;
    return { ok: false, error: { code: "CONDUCTOR_SESSION_NOT_FOUND", message } };
  }
  if (!owner.sendInput(id, text)) {
    const message = `input not delivered to ${id}: no child is running (it is starting, restarting or final)`;
    return { ok: false, error: { code: "SEND_INPUT_FAILED", message } };
  }
  return { ok: true, data: { session_id: id, sent: true } };
}
