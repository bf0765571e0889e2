/**
 * The package's source maps are usable: each names its `.ts` source (`../../src/x.ts`), which the
 * package does not ship (package.json "files"), so the build embeds the sources in the maps
 * (`inlineSources`, tsconfig.build.json). Before, a debugger or a stack-trace mapper found nothing.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const exec = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));

interface SourceMap {
  sources: string[];
  sourceRoot?: string;
  sourcesContent?: (string | null)[];
}

describe("shipped source maps", () => {
  it("the build's options embed each source in its map", () => {
    const config = ts.getParsedCommandLineOfConfigFile(
      join(root, "tsconfig.build.json"),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
        },
      },
    );
    const file = join(root, "src/html-escape.ts");
    const text = readFileSync(file, "utf8");
    const out = ts.transpileModule(text, { compilerOptions: config?.options ?? {}, fileName: file });
    const map = JSON.parse(out.sourceMapText ?? "{}") as SourceMap;
    expect(map.sourcesContent).toEqual([text]);
  });

  it("npm pack: every source a packed map names is in the package or in the map", async () => {
    const { stdout } = await exec("npm", ["pack", "--dry-run", "--ignore-scripts", "--json"], {
      cwd: root,
      maxBuffer: 1 << 24,
    });
    const files = new Set((JSON.parse(stdout) as [{ files: { path: string }[] }])[0].files.map((f) => f.path));
    const maps = [...files].filter((f) => f.endsWith(".js.map"));
    expect(maps.length).toBeGreaterThan(0);
    const bare: string[] = [];
    for (const m of maps) {
      const map = JSON.parse(readFileSync(join(root, m), "utf8")) as SourceMap;
      map.sources.forEach((source, i) => {
        const named = posix.normalize(posix.join(posix.dirname(m), map.sourceRoot ?? "", source));
        if (!files.has(named) && typeof map.sourcesContent?.[i] !== "string") bare.push(`${m} → ${named}`);
      });
    }
    // Read from dist/: a dist/ built before this fix lists every map here (npm run build).
    expect(bare).toEqual([]);
  });
});
