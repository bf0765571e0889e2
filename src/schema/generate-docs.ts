/**
 * Generated documentation: the editor JSON Schema of the run-config file and the options tables
 * of docs/reference.md, both from the zod schemas, so they cannot drift (a test compares them).
 */
import { z } from "zod";
import { conductorOptionsSchema, runConfigSchema } from "./conductor.js";
import { spawnConfigSchema } from "./session.js";

type Json = Record<string, unknown>;

/** JSON Schema (draft 2020-12) of `conductor run` config files, for editors (`"$schema": …`). */
export function runConfigJsonSchema(): Json {
  return z.toJSONSchema(runConfigSchema, { target: "draft-2020-12", io: "input" }) as Json;
}

const apiSchema = (s: z.ZodType) => z.toJSONSchema(s, { io: "input", unrepresentable: "any" }) as Json;

function typeOf(p: Json): string {
  if (Array.isArray(p.enum)) return p.enum.map((v) => JSON.stringify(v)).join(" \\| ");
  if (p.const !== undefined) return JSON.stringify(p.const);
  if (Array.isArray(p.anyOf)) return [...new Set((p.anyOf as Json[]).map(typeOf))].join(" \\| ");
  if (p.type === "array") return `${typeOf((p.items as Json) ?? {})}[]`;
  if (p.type === "integer") {
    const max = p.maximum === 2 ** 31 - 1 ? "2³¹−1" : p.maximum;
    return `integer ${p.minimum ?? ""}…${max ?? ""}`;
  }
  if (p.type === "object" && p.additionalProperties && typeof p.additionalProperties === "object")
    return `{ [name]: ${typeOf(p.additionalProperties as Json)} }`;
  if (typeof p.type === "string") return p.type;
  return "function / object";
}

function rows(schema: Json, prefix = ""): string[] {
  const props = (schema.properties ?? {}) as Record<string, Json>;
  const required = new Set((schema.required ?? []) as string[]);
  const out: string[] = [];
  for (const [key, p] of Object.entries(props)) {
    const name = `${prefix}${key}`;
    const def = p.default !== undefined ? `\`${JSON.stringify(p.default)}\`` : required.has(key) ? "required" : "";
    const desc = String(p.description ?? "").replace(/\|/g, "\\|");
    const nested = p.type === "object" && p.properties ? p : undefined;
    const item = p.type === "array" && (p.items as Json)?.properties ? (p.items as Json) : undefined;
    out.push(`| \`${name}\` | ${nested ? "object" : item ? "object[]" : typeOf(p)} | ${def} | ${desc} |`);
    if (nested) out.push(...rows(nested, `${name}.`));
    if (item) out.push(...rows(item, `${name}[].`));
  }
  return out;
}

const table = (schema: Json) =>
  ["| option | type | default | meaning |", "|---|---|---|---|", ...rows(schema)].join("\n");

/** docs/reference.md, whole. */
export function referenceMarkdown(): string {
  return `<!-- Generated from src/schema/ by \`npm run schema\`; do not edit by hand (a test fails when stale). -->
# Options reference

Every input is checked by one schema (src/schema/): \`createConductor(options)\`, \`spawnSession(config)\`
and the \`conductor run\` config file alike. Unknown keys are errors that name the closest known key;
every duration is whole milliseconds, at most 2³¹−1 (~24.8 days: a longer \`setTimeout\` fires at once);
session ids are a letter or digit, then letters, digits, \`.\`, \`_\`, \`-\`, at most 64 characters.
The seed's probe names \`l1ThresholdMs\` / \`l3ThresholdMs\` are aliases of \`stallMs\` / \`startupTimeoutMs\`
(giving both with different values is an error). Editors can validate config files with
[conductor.schema.json](conductor.schema.json) (\`"$schema": "./node_modules/statechart-conductor/docs/conductor.schema.json"\`).

## createConductor(options)

${table(apiSchema(conductorOptionsSchema))}

## spawnSession(config)

${table(apiSchema(spawnConfigSchema))}

## conductor run config.json

The same fields, spelled \`probe\` for \`probeOpts\`; a session with \`host\` runs remotely.

${table(runConfigJsonSchema())}
`;
}
