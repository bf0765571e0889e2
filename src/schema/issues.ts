/**
 * zod issues → what a person editing a call or a JSON file needs: the field path, the problem in
 * words, a correct example (from the field's metadata), and for a typo the closest known key.
 */
import { closest, describeValue } from "../../machines/error-words.js";

export { closest, describeValue };
import { z } from "zod";
import { MAX_TIMER_MS } from "./primitives.js";

export interface Issue {
  /** e.g. `sessions[2].agent`, `probeOpts.stallMs` (empty for the whole input). */
  path: string;
  problem: string;
  example: string;
  /** Which entry the path is in, when that reads better than the path (`codex account "work"`). */
  subject?: string;
}

type Key = string | number;
type AnySchema = z.core.$ZodType;
interface Meta {
  description?: string;
  examples?: unknown[];
  label?: string;
}

const WRAPPERS = new Set(["optional", "nullable", "default", "prefault", "readonly", "nonoptional", "catch"]);

const defOf = (s: AnySchema) =>
  (s as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
const metaOf = (s: AnySchema): Meta | undefined => z.globalRegistry.get(s) as Meta | undefined;

/** The schema at `path` with the metadata met on the way down (innermost wins). */
export function schemaAt(root: AnySchema, path: readonly Key[]): { schema: AnySchema | undefined; meta: Meta } {
  let s: AnySchema | undefined = root;
  let meta: Meta = {};
  const unwrap = () => {
    while (s) {
      meta = { ...meta, ...metaOf(s) };
      const d = defOf(s);
      if (WRAPPERS.has(d.type)) s = d.innerType as AnySchema;
      else if (d.type === "pipe") s = d.in as AnySchema;
      else break;
    }
  };
  unwrap();
  for (const key of path) {
    if (!s) break;
    meta = {};
    const d = defOf(s);
    if (d.type === "object") s = (d.shape as Record<string, AnySchema>)[String(key)];
    else if (d.type === "array") s = d.element as AnySchema;
    else if (d.type === "record") s = d.valueType as AnySchema;
    else if (d.type === "union") {
      const options = d.options as AnySchema[];
      s = options.map((o) => schemaAt(o, [key]).schema).find((x) => x !== undefined);
    } else s = undefined;
    unwrap();
  }
  return { schema: s, meta };
}

/** `unknown key "prot" (did you mean "port"?)`, or the known ones when none is near: for every loader. */
export function unknownKeyProblem(key: string, known: readonly string[], word = "key"): string {
  const guess = closest(key, known);
  const hint = guess ? `did you mean "${guess}"?` : known.length > 0 ? `known: ${known.join(", ")}` : "";
  return `unknown ${word} "${key}"${hint ? ` (${hint})` : ""}`;
}

/** The keys the object at `path` of `root` accepts: what an unknown key there is compared with. */
export const keysKnownAt = (root: AnySchema, path: readonly Key[]): string[] => knownKeys(schemaAt(root, path).schema);

/** One issue's problem in words ("must be >= 1, got number 0"), for loaders that place it themselves. */
export function problemIn(issue: z.core.$ZodIssue, root: AnySchema, input: unknown): string {
  const p = issue.path.filter((k): k is Key => typeof k !== "symbol");
  return problemOf(issue, root, p, valueAt(input, p));
}

/** Keys an object schema accepts (through unions). */
function knownKeys(schema: AnySchema | undefined): string[] {
  if (!schema) return [];
  const d = defOf(schema);
  if (d.type === "object") return Object.keys(d.shape as object);
  if (d.type === "union") return (d.options as AnySchema[]).flatMap(knownKeys);
  return [];
}

export function formatPath(p: readonly Key[]): string {
  let out = "";
  for (const k of p) {
    if (typeof k === "number") out += `[${k}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(k)) out += out ? `.${k}` : k;
    else out += `[${JSON.stringify(k)}]`;
  }
  return out;
}

/** A function or object no JSON can hold (custom, or a union of such): its example is code, not a string. */
const codeValued = (s: AnySchema): boolean => {
  const def = defOf(s);
  if (def.type === "custom") return true;
  return def.type === "union" && (def.options as AnySchema[]).every(codeValued);
};

/** `"key": <example>` for a named field, the bare example for an array element or a root. */
export function exampleFor(root: AnySchema, p: readonly Key[]): string {
  for (let n = p.length; n >= 0; n--) {
    const { schema, meta } = schemaAt(root, p.slice(0, n));
    const ex = meta.examples?.[0];
    if (ex === undefined) continue;
    const raw = schema && codeValued(schema) && typeof ex === "string";
    const value = raw ? (ex as string) : inlineJson(ex);
    const key = p[n - 1];
    return typeof key === "string" ? `${JSON.stringify(key)}: ${value}` : value;
  }
  return "";
}

/** JSON on one line with a space after `,` and `:`, as people write it: `{ "a": [1, 2] }`. */
export function inlineJson(v: unknown): string {
  return (JSON.stringify(v, null, 1) ?? "undefined").replace(/\n\s*/g, " ").replace(/\[ /g, "[").replace(/ \]/g, "]");
}

export const valueAt = (root: unknown, p: readonly Key[]): unknown =>
  p.reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Record<Key, unknown>)[k] : undefined), root);

/** Our own messages (set in the schema) read well as they are; zod's defaults get rephrased. */
const isZodDefault = (m: string) => /^(Invalid|Too (big|small)|Expected|Unrecognized)/.test(m);

function problemOf(issue: z.core.$ZodIssue, root: AnySchema, p: Key[], got: unknown): string {
  const { meta } = schemaAt(root, p);
  const leaf = meta.label ?? String(p[p.length - 1] ?? "value");
  switch (issue.code) {
    case "invalid_type":
      if (got === undefined) return `${leaf} is required`;
      // zod says "expected number" for NaN and Infinity too: "got number NaN" read as a contradiction.
      if (issue.expected === "number" && typeof got === "number") return `must be a finite number, got ${got}`;
      return `expected ${issue.expected === "int" ? "a whole number" : issue.expected}, got ${describeValue(got)}`;
    case "invalid_value": {
      if (!isZodDefault(issue.message)) return issue.message;
      const values = issue.values.map((v) => JSON.stringify(v));
      const guess = typeof got === "string" ? closest(got, issue.values.map(String)) : undefined;
      return `must be one of ${values.join(", ")}, got ${describeValue(got)}${guess ? ` (did you mean "${guess}"?)` : ""}`;
    }
    case "too_small":
    case "too_big": {
      const small = issue.code === "too_small";
      const limit = small ? (issue as { minimum: unknown }).minimum : (issue as { maximum: unknown }).maximum;
      if (issue.origin === "string") return small ? "must not be empty" : `is longer than ${limit} characters`;
      if (issue.origin === "array") return `needs ${small ? "at least" : "at most"} ${limit} item(s)`;
      if (!small && Number(limit) === MAX_TIMER_MS)
        return `got ${describeValue(got)}, ${issue.message} (larger values are clamped to 1 ms by Node)`;
      return `must be ${small ? ">=" : "<="} ${limit}, got ${describeValue(got)}`;
    }
    case "invalid_format":
      return isZodDefault(issue.message)
        ? `${describeValue(got)} has the wrong format`
        : `${describeValue(got)} ${issue.message}`;
    case "invalid_union": {
      const forms = isPlainObject(got) ? objectForms(schemaAt(root, p).schema) : undefined;
      if (forms) return `takes one of the forms ${forms}, got ${describeValue(got)}`;
      const values = issue.errors.flat().flatMap((i) => (i.code === "invalid_value" ? i.values : []));
      const types = issue.errors.flat().flatMap((i) => (i.code === "invalid_type" ? [i.expected] : []));
      const article = (t: string) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);
      const accepted = [...new Set([...values.map((v) => JSON.stringify(v)), ...types.map(article)])];
      return accepted.length > 0
        ? `must be ${accepted.join(" or ")}, got ${describeValue(got)}`
        : `${describeValue(got)} is not accepted here`;
    }
    case "custom":
      return got === undefined || issue.message.includes("got ") || !/^must be/.test(issue.message)
        ? issue.message
        : `${issue.message}, got ${describeValue(got)}`;
    default:
      return issue.message;
  }
}

/**
 * Keys other tools (and the library's own options) name what a config calls otherwise: no spelling
 * distance finds them (`cwd` is nearer to `id` than to `workdir`). Offered only where the key is known.
 */
const SYNONYMS: Readonly<Record<string, string>> = {
  cwd: "workdir",
  dir: "workdir",
  directory: "workdir",
  workingDirectory: "workdir",
  args: "command",
  argv: "command",
  cmd: "command",
  probeOpts: "probe",
  environment: "env",
  name: "id",
};

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * An object given where one of several object forms fits (an MCP server: `command` or `url`): the
 * form whose keys it uses is the one meant, so that form's issues are the ones to tell, not a sum of
 * every form's ("must be a string or a string"). None when no one form stands out.
 */
function likeliestBranch(
  issue: Extract<z.core.$ZodIssue, { code: "invalid_union" }>,
  root: AnySchema,
  p: readonly Key[],
  got: unknown,
): z.core.$ZodIssue[] | undefined {
  const union = schemaAt(root, p).schema;
  if (!isPlainObject(got) || !union || defOf(union).type !== "union") return undefined;
  const options = defOf(union).options as AnySchema[];
  const scores = options.map((o) => Object.keys(got).filter((k) => knownKeys(o).includes(k)).length);
  const best = Math.max(...scores);
  if (best === 0 || scores.filter((s) => s === best).length > 1) return undefined;
  return issue.errors[scores.indexOf(best)];
}

/** The object forms a union takes, by their keys: `{ "command", "args", "env" } or { "url" }`. */
function objectForms(schema: AnySchema | undefined): string | undefined {
  if (!schema || defOf(schema).type !== "union") return undefined;
  const forms = (defOf(schema).options as AnySchema[]).map(knownKeys);
  if (forms.some((keys) => keys.length === 0)) return undefined;
  return forms.map((keys) => `{ ${keys.map((k) => `"${k}"`).join(", ")} }`).join(" or ");
}

/**
 * A key given one level too high: `createConductor({ stallMs })` for `probeOpts.stallMs`. The first
 * object field at `p` whose own keys have `key` (any case) names it; none when no field has.
 */
function nestedKey(
  root: AnySchema,
  p: readonly Key[],
  known: readonly string[],
  key: string,
): [string, string] | undefined {
  for (const field of known) {
    const inner = knownKeys(schemaAt(root, [...p, field]).schema).find((k) => k.toLowerCase() === key.toLowerCase());
    if (inner !== undefined) return [field, inner];
  }
  return undefined;
}

/** `"probeOpts": { "stallMs": 30000 }`: the nested key's example inside its field. */
function nestedExample(root: AnySchema, p: readonly Key[], [field, key]: [string, string]): string {
  const inner = exampleFor(root, [...p, field, key]);
  return inner.startsWith(`${JSON.stringify(key)}:`) ? `${JSON.stringify(field)}: { ${inner} }` : inner;
}

/** One zod issue → one or more readable issues (one per unknown key). */
export function issuesFrom(issue: z.core.$ZodIssue, root: AnySchema, input: unknown): Issue[] {
  const p = issue.path.filter((k): k is Key => typeof k !== "symbol");
  if (issue.code === "unrecognized_keys") {
    const known = knownKeys(schemaAt(root, p).schema);
    return issue.keys.map((key) => {
      const synonym = SYNONYMS[key];
      const guess = synonym && known.includes(synonym) ? synonym : closest(key, known);
      const nested = guess ? undefined : nestedKey(root, p, known, key);
      const hint = guess ?? nested?.join(".");
      return {
        path: formatPath([...p, key]),
        problem: `unknown key "${key}" (${hint ? `did you mean "${hint}"?` : `known keys: ${known.join(", ")}`})`,
        example: nested ? nestedExample(root, p, nested) : exampleFor(root, guess ? [...p, guess] : p),
      };
    });
  }
  if (issue.code === "invalid_union") {
    const branch = likeliestBranch(issue, root, p, valueAt(input, p));
    if (branch)
      return branch.flatMap((i) => issuesFrom({ ...i, path: [...issue.path, ...i.path] } as typeof i, root, input));
  }
  if (issue.code === "invalid_key") {
    // A map key (the path ends with it): say what is wrong with the key itself.
    const inner = issue.issues[0]?.message ?? "";
    const key = p[p.length - 1];
    return [
      {
        path: formatPath(p),
        problem: `${describeValue(key)} ${inner && !isZodDefault(inner) ? inner : "is not a valid key"}`,
        example: exampleFor(root, p.slice(0, -1)),
      },
    ];
  }
  // A rule across fields may name the example itself (what to add beside the field).
  const own = issue.code === "custom" ? issue.params?.example : undefined;
  const example = typeof own === "string" ? own : exampleFor(root, p);
  return [{ path: formatPath(p), problem: problemOf(issue, root, p, valueAt(input, p)), example }];
}

export function issuesOf(error: z.ZodError, root: AnySchema, input: unknown): Issue[] {
  return error.issues.flatMap((i) => issuesFrom(i, root, input));
}
