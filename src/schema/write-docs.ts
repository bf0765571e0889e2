/** `npm run schema`: writes docs/conductor.schema.json and docs/reference.md from the schema. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { referenceMarkdown, runConfigJsonSchema } from "./generate-docs.js";

const docs = process.argv[2] ?? "docs";
writeFileSync(join(docs, "conductor.schema.json"), `${JSON.stringify(runConfigJsonSchema(), null, 2)}\n`);
writeFileSync(join(docs, "reference.md"), referenceMarkdown());
process.stdout.write(`wrote ${join(docs, "conductor.schema.json")} and ${join(docs, "reference.md")}\n`);
