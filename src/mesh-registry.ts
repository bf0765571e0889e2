/**
 * A small agent mesh: agents announce capabilities, others discover them, and a message bus
 * carries broadcasts. The bridge makes each conductor session an agent `session:<id>`.
 */
import { randomUUID } from "node:crypto";

/** An agent as the seed's registry returned it (frozen). `registeredAt` is epoch milliseconds. */
export interface MeshAgent {
  readonly agentId: string;
  readonly capabilities: readonly string[];
  readonly registeredAt: number;
}

/** The richer record of `describe(id)` / `discoverAgents(capability)` (frozen). */
export interface MeshAgentDetails extends MeshAgent {
  readonly meta: Readonly<Record<string, unknown>>;
  readonly registeredAtIso: string;
}

export interface MeshMessage {
  from: string;
  type: string;
  payload?: unknown;
}

export type MeshListener = (message: MeshMessage) => void;

export interface MeshRegistry {
  /** Registers (or replaces) an agent; no capabilities means `[]`, as in the seed. */
  register(agentId: string, capabilities?: readonly string[], meta?: Record<string, unknown>): MeshAgent;
  unregister(agentId: string): boolean;
  /** Ids of the agents with `capability` (the seed's shape). */
  discover(capability: string): string[];
  /** The agents with `capability`, with their meta. */
  discoverAgents(capability: string): MeshAgentDetails[];
  /** The agent, or `null` when absent (the seed's shape). */
  getAgent(agentId: string): MeshAgent | null;
  /** The agent with its meta, or `null`. */
  describe(agentId: string): MeshAgentDetails | null;
  listAll(): MeshAgent[];
  clear(): void;
  broadcast(message: MeshMessage): void;
  subscribe(listener: MeshListener): () => void;
}

const seedShape = (a: MeshAgentDetails): MeshAgent =>
  Object.freeze({ agentId: a.agentId, capabilities: a.capabilities, registeredAt: a.registeredAt });

export function createMeshRegistry(opts: { warn?: (message: string) => void } = {}): MeshRegistry {
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`[mesh] ${m}\n`));
  // Records are frozen when stored, so handing them out cannot let a caller change the registry.
  const agents = new Map<string, MeshAgentDetails>();
  const listeners = new Set<MeshListener>();

  return {
    register(agentId, capabilities = [], meta = {}) {
      if (typeof agentId !== "string" || agentId.length === 0) {
        throw new TypeError("MeshRegistry.register(agentId, capabilities): agentId must be a non-empty string");
      }
      if (!Array.isArray(capabilities)) {
        throw new TypeError(`MeshRegistry.register("${agentId}", capabilities): capabilities must be a string[]`);
      }
      // Re-registering replaces: an agent's capabilities are what it last announced.
      const at = Date.now();
      const agent: MeshAgentDetails = Object.freeze({
        agentId,
        capabilities: Object.freeze([...new Set(capabilities.map(String))]),
        meta: Object.freeze({ ...meta }),
        registeredAt: at,
        registeredAtIso: new Date(at).toISOString(),
      });
      agents.set(agentId, agent);
      return seedShape(agent);
    },
    unregister(agentId) {
      return agents.delete(agentId);
    },
    discover(capability) {
      return [...agents.values()].filter((a) => a.capabilities.includes(capability)).map((a) => a.agentId);
    },
    discoverAgents(capability) {
      return [...agents.values()].filter((a) => a.capabilities.includes(capability));
    },
    getAgent(agentId) {
      const a = agents.get(agentId);
      return a ? seedShape(a) : null;
    },
    describe(agentId) {
      return agents.get(agentId) ?? null;
    },
    listAll() {
      return [...agents.values()].map(seedShape);
    },
    clear() {
      agents.clear();
    },
    broadcast(message) {
      // Snapshot: a listener that unsubscribes (or subscribes) during delivery does not disturb this round.
      for (const fn of [...listeners]) {
        try {
          fn(message);
        } catch (err) {
          // One broken subscriber must not stop delivery to the others, nor throw into the sender.
          warn(`subscriber failed on ${message.type}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    },
    subscribe(listener) {
      // Wrapped so the same function subscribed twice gets two independent disposers.
      const entry: MeshListener = (m) => listener(m);
      listeners.add(entry);
      return () => {
        listeners.delete(entry);
      };
    },
  };
}

/** What the bridge listens to: the conductor's event emitter surface. */
export interface ConductorEventSource {
  // Same listener shape as node:events, so an EventEmitter and the typed facade both fit as they are.
  // biome-ignore lint/suspicious/noExplicitAny: the one listener type both an EventEmitter and a typed on() accept
  on(event: string, fn: (...args: any[]) => void): unknown;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  off(event: string, fn: (...args: any[]) => void): unknown;
}

export interface StateChangeEvent {
  sessionId: string;
  from: string;
  to: string;
  reason?: string;
}

export interface ConductorMeshBridge {
  attach(): void;
  detach(): void;
  readonly attached: boolean;
  /** The seed's name for `attached`. */
  readonly isAttached: boolean;
}

/** A mesh-protocol event, as the seed's bridge handed its `onMessage`: from the bridge to everyone. */
export interface MeshEventMessage {
  readonly type: "event";
  readonly from: string;
  readonly to: "*";
  readonly payload: { event: "stateChange" | "completed" | "dead"; sessionId: string } & Record<string, unknown>;
  readonly timestamp: string;
  readonly correlationId: string;
}

export interface MeshBridgeOptions {
  /** The sender of `onMessage`'s messages (the seed's default: "conductor"). */
  bridgeAgentId?: string;
  /** Each stateChange, completed and dead as a mesh event message (the seed's bridge option). */
  onMessage?: (message: MeshEventMessage) => void;
}

/** The registry the bridge needs: the seed's (register, unregister) is enough; `broadcast` when it has one. */
export type BridgeRegistry = Pick<MeshRegistry, "register" | "unregister"> & Partial<Pick<MeshRegistry, "broadcast">>;

export const SESSION_CAPABILITY = "session";
export const sessionAgentId = (sessionId: string): string => `session:${sessionId}`;

export function createConductorMeshBridge(
  source: ConductorEventSource,
  registry: BridgeRegistry,
  opts: MeshBridgeOptions = {},
): ConductorMeshBridge {
  const bridgeAgentId = opts.bridgeAgentId ?? "conductor";
  // A seed-shaped registry has no broadcast (it was the bridge's onMessage): the registry's is optional.
  const broadcast = (message: MeshMessage) => {
    if (typeof registry.broadcast === "function") registry.broadcast(message);
    const { sessionId, ...rest } = message.payload as { sessionId: string };
    opts.onMessage?.(
      Object.freeze({
        type: "event",
        from: bridgeAgentId,
        to: "*",
        payload: { ...rest, event: message.type as MeshEventMessage["payload"]["event"], sessionId },
        timestamp: new Date().toISOString(),
        correlationId: randomUUID(),
      }),
    );
  };
  // Agents this bridge registered: detach clears only these, never another bridge's or a manual agent.
  const mine = new Set<string>();
  // Sessions already announced once: "first move to starting" — a restart's starting does not re-add.
  const seen = new Set<string>();
  let attached = false;

  const release = (sessionId: string) => {
    const agentId = sessionAgentId(sessionId);
    seen.delete(sessionId); // final: should the id ever be reused, its next start registers again
    if (mine.delete(agentId)) registry.unregister(agentId);
  };

  const onStateChange = (e: StateChangeEvent) => {
    if (!e || typeof e.sessionId !== "string") return;
    const agentId = sessionAgentId(e.sessionId);
    if (e.to === "starting" && !seen.has(e.sessionId)) {
      seen.add(e.sessionId);
      registry.register(agentId, [SESSION_CAPABILITY], { sessionId: e.sessionId });
      mine.add(agentId);
    }
    broadcast({
      from: agentId,
      type: "stateChange",
      payload: { sessionId: e.sessionId, from: e.from, to: e.to, reason: e.reason },
    });
    if (e.to === "completed" || e.to === "dead") release(e.sessionId);
  };

  const onCompleted = (e: { sessionId: string }) => {
    if (!e || typeof e.sessionId !== "string") return;
    release(e.sessionId);
    broadcast({ from: sessionAgentId(e.sessionId), type: "completed", payload: { sessionId: e.sessionId } });
  };

  const onDead = (e: { sessionId: string; reason?: string }) => {
    if (!e || typeof e.sessionId !== "string") return;
    release(e.sessionId);
    broadcast({
      from: sessionAgentId(e.sessionId),
      type: "dead",
      payload: { sessionId: e.sessionId, reason: e.reason },
    });
  };

  return {
    attach() {
      if (attached) return;
      attached = true;
      source.on("stateChange", onStateChange);
      source.on("completed", onCompleted);
      source.on("dead", onDead);
    },
    detach() {
      if (!attached) return;
      attached = false;
      source.off("stateChange", onStateChange);
      source.off("completed", onCompleted);
      source.off("dead", onDead);
      for (const agentId of mine) registry.unregister(agentId);
      mine.clear();
      seen.clear();
    },
    get attached() {
      return attached;
    },
    get isAttached() {
      return attached;
    },
  };
}

/** The facade's mesh: `enableMesh: false` → none; else the injected registry (or a new one) with a bridge. */
export function attachMesh(
  source: ConductorEventSource,
  opts: { enableMesh?: boolean; meshRegistry?: MeshRegistry },
): { registry: MeshRegistry | null; detach: () => void } {
  if (opts.enableMesh === false) return { registry: null, detach: () => {} };
  const registry = opts.meshRegistry ?? createMeshRegistry();
  const bridge = createConductorMeshBridge(source, registry);
  bridge.attach();
  return { registry, detach: () => bridge.detach() };
}
