/** A key given twice in a config file is said with where both are, on one line too (src/json-duplicates.ts). */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadRunConfig } from "../src/config.js";
import { findDuplicateKey } from "../src/json-duplicates.js";

const dir = mkdtempSync(join(tmpdir(), "json-duplicates-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("a key given twice", () => {
  it("is placed by line and column, each 1-based", () => {
    expect(findDuplicateKey('{"a": 1,\n  "b": 2, "a": 3}')).toEqual({
      key: "a",
      path: "",
      firstLine: 1,
      firstColumn: 2,
      secondLine: 2,
      secondColumn: 11,
    });
  });

  it("defect: both on one line read 'line 1 and line 1'; now the columns tell them apart", async () => {
    const file = join(dir, "minified.json");
    const text = '{"sessions":[{"id":"a","agent":"claude","command":["true"],"agent":"command"}]}';
    writeFileSync(file, text);
    const [first, second] = [text.indexOf('"agent"') + 1, text.lastIndexOf('"agent"') + 1];
    expect([first, second]).toEqual([24, 60]);
    const message = ((await loadRunConfig(file).catch((e: Error) => e)) as Error).message;
    expect(message).toMatch(
      /"agent" is given twice in sessions\[0\] \(line 1, columns 24 and 60\): JSON would keep only the last; remove one$/,
    );
  });
});
