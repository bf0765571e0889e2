/** A tiny tmpfs for the disk-full tests (root on Linux only): false where it cannot be mounted. */
import { execFileSync } from "node:child_process";

export function mountTmpfs(at: string, size: string): boolean {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return false;
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", at], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
