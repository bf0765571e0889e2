/**
 * Refuses to run a real CLI unless this process is in a network namespace with loopback only
 * (`unshare -n`): the CLIs try to reach their vendors, and nothing but 127.0.0.0/8 is allowed.
 */
import { readFileSync } from "node:fs";

export function assertLoopbackOnly(): void {
  // /proc/self/net/dev belongs to the network namespace (/sys/class/net shows the mount namespace's view).
  const ifaces = readFileSync("/proc/self/net/dev", "utf8")
    .split("\n")
    .slice(2)
    .map((l) => l.split(":")[0]?.trim() ?? "")
    .filter(Boolean);
  const others = ifaces.filter((i) => i !== "lo");
  if (others.length > 0) {
    throw new Error(
      `real agent CLIs must run in a loopback-only network namespace, but this one has ${others.join(", ")}: ` +
        "run through `npm run test:agents` (which wraps vitest in `unshare -n`), not plain vitest",
    );
  }
}
