/**
 * The ssh2 options of one host: known_hosts verification (strict unless the hosts file opts out,
 * which is logged), key or agent authentication only (never a password), keepalives.
 */
import { readFileSync } from "node:fs";
import type { ConnectConfig } from "ssh2";
import type { HostConfig } from "./host-config.js";
import { checkHostKey, entryMatches, hostKeyAlgorithms, hostKeyError, loadKnownHosts } from "./known-hosts.js";
import type { SshHostOptions } from "./ssh-host.js";

/** ssh2 options: known_hosts verification, key/agent auth only, keepalives. */
export function connectConfig(
  config: HostConfig,
  opts: SshHostOptions,
  refuse: (message: string) => void,
  log: (event: string, data: Record<string, unknown>) => void,
): ConnectConfig {
  const known = config.strictHostKeyChecking ? loadKnownHosts(config.knownHosts) : [];
  const knownTypes = [
    ...new Set(known.filter((e) => !e.revoked && entryMatches(e, config.host, config.port)).map((e) => e.keyType)),
  ];
  const base: ConnectConfig = {
    host: config.host,
    port: config.port,
    username: config.user,
    keepaliveInterval: opts.keepaliveIntervalMs ?? 5000,
    keepaliveCountMax: opts.keepaliveCountMax ?? 3,
    readyTimeout: opts.readyTimeoutMs ?? 10_000,
    tryKeyboard: false,
    algorithms: {
      serverHostKey: hostKeyAlgorithms(knownTypes) as NonNullable<ConnectConfig["algorithms"]>["serverHostKey"],
    },
    hostVerifier: (key: Buffer) => {
      const v = checkHostKey(known, config.host, config.port, key);
      if (!config.strictHostKeyChecking) {
        log("ssh.host_key_unchecked", {
          host: config.name,
          fingerprint: v.fingerprint,
          warning: "strictHostKeyChecking is false: host identity NOT verified",
        });
        return true;
      }
      if (v.ok) return true;
      const err = hostKeyError(v, {
        alias: config.name,
        host: config.host,
        port: config.port,
        knownHostsPath: config.knownHosts,
      });
      log("ssh.host_key_rejected", { host: config.name, kind: v.kind, fingerprint: v.fingerprint });
      refuse(err.message);
      return false;
    },
  };
  if (config.agent) return { ...base, agent: config.agent, authHandler: ["agent"] };
  let privateKey: Buffer;
  try {
    privateKey = readFileSync(config.identityFile ?? "");
  } catch (e) {
    throw new Error(
      `host "${config.name}": cannot read identityFile ${config.identityFile} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  return { ...base, privateKey, authHandler: ["publickey"] };
}
