/**
 * ssh2's Client class, loaded by the first connection instead of on import: ssh2 is ~15 MB of RSS
 * (a bare Node's RSS with and without it) that a conductor with only local sessions never needs.
 * ssh2 is CommonJS: a synchronous require, so connecting stays synchronous.
 */
import { createRequire } from "node:module";
import type { Client } from "ssh2";

let clientClass: typeof Client | undefined;

export function ssh2Client(): typeof Client {
  clientClass ??= (createRequire(import.meta.url)("ssh2") as typeof import("ssh2")).Client;
  return clientClass;
}
