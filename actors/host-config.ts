/**
 * One host as the ssh actor connects to it: the contract between the hosts file loader
 * (src/hosts-config.ts, which checks and resolves it) and the actors that use it.
 */
export interface HostConfig {
  /** The alias sessions use (`spawnSession({ remote: true, host: "<name>" })`). */
  name: string;
  host: string;
  port: number;
  user: string;
  /** Absolute path of a private key, or undefined when an agent is used. */
  identityFile?: string;
  /** ssh-agent socket path. */
  agent?: string;
  knownHosts: string;
  multiplexer: "tmux" | "psmux";
  /** false: any host key is accepted (explicit opt-out, logged loudly at every connect). */
  strictHostKeyChecking: boolean;
}

export interface HostsConfig {
  hosts: Record<string, HostConfig>;
}
