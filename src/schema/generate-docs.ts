/**
 * Generated documentation: the editor JSON Schema of the run-config file and the options tables
 * of docs/reference.md, both from the zod schemas, so they cannot drift (a test compares them);
 * reference.md's error codes from src/error-codes.ts.
 */
import { z } from "zod";
import { ERROR_CODES } from "../error-codes.js";
import { conductorOptionsSchema, runConfigSchema } from "./conductor.js";
import { PROBE_ALIASES } from "./policy.js";
import { spawnConfigSchema } from "./session.js";

type Json = Record<string, unknown>;

/** JSON Schema (draft 2020-12) of `conductor run` config files, for editors (`"$schema": …`). */
export function runConfigJsonSchema(): Json {
  return z.toJSONSchema(runConfigSchema, { target: "draft-2020-12", io: "input" }) as Json;
}

const apiSchema = (s: z.ZodType) => z.toJSONSchema(s, { io: "input", unrepresentable: "any" }) as Json;

function typeOf(p: Json): string {
  if (typeof p.shownAs === "string") return p.shownAs;
  if (Array.isArray(p.enum)) return p.enum.map((v) => JSON.stringify(v)).join(" \\| ");
  if (p.const !== undefined) return JSON.stringify(p.const);
  if (Array.isArray(p.anyOf)) return [...new Set((p.anyOf as Json[]).map(typeOf))].join(" \\| ");
  if (p.type === "array") return `${typeOf((p.items as Json) ?? {})}[]`;
  if ((p.type === "integer" || p.type === "number") && (p.minimum !== undefined || p.maximum !== undefined)) {
    const max = p.maximum === 2 ** 31 - 1 ? "2³¹−1" : p.maximum;
    return `${p.type} ${p.minimum ?? ""}…${max ?? ""}`;
  }
  if (p.type === "object" && p.additionalProperties && typeof p.additionalProperties === "object")
    return `{ [name]: ${typeOf(p.additionalProperties as Json)} }`;
  if (typeof p.type === "string") return p.type;
  // A value the schema cannot describe must say what it is (`shownAs`), not print a guess.
  throw new Error(`docs/reference.md: no type to show for ${JSON.stringify(p)}; give its schema shownAs()`);
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

const aliases = Object.entries(PROBE_ALIASES)
  .map(([alias, name]) => `\`${alias}\` of \`${name}\``)
  .join(", ");

const cell = (text: string) => text.replace(/\|/g, "\\|");

/** The codes the library throws (src/error-codes.ts), as a table. */
const errorTable = () =>
  [
    "| code | thrown as | when | what to do |",
    "|---|---|---|---|",
    ...Object.entries(ERROR_CODES).map(
      ([code, d]) => `| \`${code}\` | ${d.thrownAs} | ${cell(d.when)} | ${cell(d.todo)} |`,
    ),
  ].join("\n");

/** docs/reference.md, whole. */
export function referenceMarkdown(): string {
  return `<!-- Generated from src/schema/ and src/error-codes.ts by \`npm run schema\`; do not edit by hand (a test fails when stale). -->
# Options reference

Every input is checked by one schema (src/schema/): \`createConductor(options)\`, \`spawnSession(config)\`
and the \`conductor run\` config file alike. Unknown keys are errors that name the closest known key (or, for
a key of a nested object given one level too high, where it goes: \`stallMs\` → \`probeOpts.stallMs\`), and
so is a key given twice in one object of a config, accounts or hosts file (JSON would keep the last unsaid; the error
gives the line of each, and their columns when both are on one line);
every duration is whole milliseconds, at most 2³¹−1 (~24.8 days: a longer \`setTimeout\` fires at once);
session ids are a letter or digit, then letters, digits, \`.\`, \`_\`, \`-\`, at most 64 characters.
The seed's probe names are aliases (giving both with different values is an error):
${aliases}; the seed's \`intervalMs\` is accepted and unused. Editors can validate config files with
[conductor.schema.json](conductor.schema.json) (\`"$schema": "./node_modules/statechart-conductor/docs/conductor.schema.json"\`).

## createConductor(options)

${table(apiSchema(conductorOptionsSchema))}

## spawnSession(config)

A session option that acts only beside another is refused alone, as it would do nothing: \`leaseWaitMs\`
without \`account\`; \`probeOpts.mcpHeartbeat: true\` (\`enableL2\`) and the heartbeat's interval and timeout
(either spelling) without \`mcpServers\`. The same holds for a config file's sessions; the conductor-wide
values (\`createConductor\`, a file's top level) are defaults, and stay free.

${table(apiSchema(spawnConfigSchema))}

## conductor run config.json

The same fields, spelled \`probe\` for \`probeOpts\`; a session with \`host\` runs remotely.

${table(runConfigJsonSchema())}

## Error codes

An error the library throws with a \`code\` is a \`ConductorError\`, with the offending \`field\` where there is
one and \`cause\` when it wraps another error. \`ConductorError\` and the subclasses in the "thrown as" column
are exported from \`statechart-conductor\`, so \`instanceof\` works on each. These are the codes it throws:

${errorTable()}
`;
}
