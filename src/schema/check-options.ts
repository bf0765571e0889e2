/**
 * An API's options checked up front (`createConductor`, `spawnSession`, `startViewer`): not an object,
 * or anything the schema refuses, is one OptionsError naming every problem with an example.
 */
import type { z } from "zod";
import { OptionsError } from "../errors.js";
import { issuesOf } from "./issues.js";

/** `value` as `T`, or an OptionsError from `where` (`example`: what an options object looks like). */
export function checkOptions<T>(schema: z.core.$ZodType, value: unknown, where: string, example: string): T {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    const got = value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
    throw new OptionsError(where, [{ path: "", problem: `options must be an object, got ${got}`, example }]);
  }
  const result = (schema as z.ZodType).safeParse(value);
  if (!result.success) throw new OptionsError(where, issuesOf(result.error, schema, value));
  return value as T;
}
