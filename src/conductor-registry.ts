/**
 * Process-wide map: session id → the conductor API that owns the session, so any part of an
 * application can `sendInput` to a session by id alone.
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
  /** Claims `sessionId` for `api`. A later claim by another API replaces the owner (ids are unique per process in practice). */
  register(sessionId: string, api: ConductorApi): void;
  /** Removes the entry only when `api` is its owner, so a stale conductor cannot evict a newer one. Returns whether it removed. */
  unregister(sessionId: string, api: ConductorApi): boolean;
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

export function createConductorRegistry(): ConductorRegistry {
  const owners = new Map<string, ConductorApi>();
  return {
    register(sessionId, api) {
      assertId(sessionId, "register");
      if (api === null || api === undefined || typeof (api as Partial<ConductorApi>).sendInput !== "function") {
        throw new TypeError(
          `ConductorRegistry.register("${sessionId}", api): api must be the owning conductor's API ` +
            `object with a sendInput(id, text) method, got ${api === null ? "null" : typeof api}`,
        );
      }
      owners.set(sessionId, api);
    },
    unregister(sessionId, api) {
      if (owners.get(sessionId) !== api) return false;
      owners.delete(sessionId);
      return true;
    },
    lookup(sessionId) {
      return owners.get(sessionId);
    },
    sendInput(sessionId, text) {
      const owner = owners.get(sessionId);
      return owner ? owner.sendInput(sessionId, text) : false;
    },
    list() {
      return [...owners.keys()];
    },
    clear() {
      owners.clear();
    },
    get size() {
      return owners.size;
    },
  };
}

let shared: ConductorRegistry | undefined;

/** The process-wide registry, created on first use: never undefined. */
export function getConductorRegistry(): ConductorRegistry {
  shared ??= createConductorRegistry();
  return shared;
}
