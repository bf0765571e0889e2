/**
 * The error codes docs/reference.md lists (src/error-codes.ts) are the ones the library throws: each
 * is used in src/ or actors/, and the codes ConductorErrorCode declares beyond them are used nowhere.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../src/error-codes.js";

const ROOT = join(import.meta.dirname, "..");
const sources = ["src", "actors"]
  .flatMap((dir) =>
    readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".ts"))
      .map((f) => join(dir, f)),
  )
  .filter((f) => f !== join("src", "error-codes.ts"))
  .map((f) => readFileSync(join(ROOT, f), "utf8"))
  .join("\n");
const declared = [
  ...readFileSync(join(ROOT, "machines/conductor-error.ts"), "utf8").matchAll(/^\s*\| "([A-Z_]+)";?$/gm),
].map((m) => m[1] as string);

describe("error codes", () => {
  it("reads the codes ConductorErrorCode declares", () => {
    expect(declared).toContain("INVALID_OPTIONS");
    expect(declared).toContain("RESTORE_UNSUPPORTED");
  });

  it("every documented code is thrown somewhere in src/ or actors/", () => {
    for (const code of Object.keys(ERROR_CODES)) expect(sources, code).toContain(`"${code}"`);
  });

  it("the codes left out of the docs are declared but thrown nowhere", () => {
    const left = declared.filter((c) => !Object.hasOwn(ERROR_CODES, c));
    expect(left).toEqual(["CONDUCTOR_ERROR"]);
    for (const code of left) expect(sources, code).not.toContain(`"${code}"`);
  });
});
