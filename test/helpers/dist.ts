/** Tests that run a child `node` against the built package (npm test builds dist/ first). */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Absolute path of `dist/<rel>` and whether it has been built. */
export function distModule(rel: string): { path: string; built: boolean } {
  const path = fileURLToPath(new URL(`../../dist/${rel}`, import.meta.url));
  return { path, built: existsSync(path) };
}
