export interface InstalledAgent {
  bin: string;
  version: string;
  pkg: string;
}
export declare const AGENT_PACKAGES: Record<
  "claude" | "codex" | "gemini",
  { pkg: string; version: string; bin: string }
>;
export declare function defaultCacheDir(): string;
export declare function installAgents(
  cache?: string,
  log?: (line: string) => void,
): Record<"claude" | "codex" | "gemini", InstalledAgent>;
