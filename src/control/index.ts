/** The control socket: server, client, protocol types and the registry of running conductors. */
export { startControlServer, type ControlServer, type ControlServerOptions } from "./server.js";
export { connectControl, type ControlClient, ControlTimeoutError, type RequestOptions } from "./client.js";
export { createControlHandler, type ControlHandler, type ControlTarget, type ControlPeer } from "./handler.js";
export { listConductors, resolveConductor, registryDir, type RegistryEntry } from "./registry.js";
export * from "./protocol.js";
