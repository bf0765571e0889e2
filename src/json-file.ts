/**
 * Reading a JSON config file with one error per failure kind, for every config loader
 * (run config, accounts, hosts): the caller says how its errors look, this says what went wrong.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { findDuplicateKey } from "./json-duplicates.js";
import { jsonErrorOffset } from "./json-position.js";

type Fail = (problem: string) => Error;

/** How every config loader's "cannot read" problem starts (its callers give no example of the content then). */
export const CANNOT_READ = "cannot read the file";

/**
 * A problem with the file as a whole (unreadable, not JSON, a key given twice): an example of the
 * content is no help there, and the loaders leave it out.
 */
export function fileProblem(problem: string): boolean {
  return problem.startsWith(CANNOT_READ) || problem.startsWith("not valid JSON") || / is given twice\b/.test(problem);
}

const READ_REASONS: Readonly<Record<string, string>> = {
  ENOENT: "there is no such file",
  EISDIR: "it is a directory; name the JSON file in it",
  ENOTDIR: "a part of its path is a file, not a directory",
  EACCES: "permission denied",
  EPERM: "permission denied",
};

/** Why a file could not be read, in words, with the errno code to search for: `there is no such file (ENOENT)`. */
function readFailure(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  const reason = code ? READ_REASONS[code] : undefined;
  return reason ? `${reason} (${code})` : (code ?? String((e as Error)?.message ?? e));
}

/** `uniqueKeys`: a key given twice in one object is refused (a config file: json-duplicates.ts). */
export interface JsonReadOptions {
  uniqueKeys?: boolean;
}

function parse(text: string, fail: Fail, opts: JsonReadOptions = {}): unknown {
  // Editors on Windows save UTF-8 with a byte-order mark; JSON.parse refuses it, a person would not.
  const json = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (e) {
    throw fail(`not valid JSON (${v8Reason((e as Error).message)})${whereInText(json)}`);
  }
  const twice = opts.uniqueKeys ? findDuplicateKey(json) : null;
  if (twice) {
    const where = twice.path ? ` in ${twice.path}` : "";
    // One line (a minified file) would read "line 1 and line 1": the columns tell them apart.
    const at =
      twice.firstLine === twice.secondLine
        ? `line ${twice.firstLine}, columns ${twice.firstColumn} and ${twice.secondColumn}`
        : `line ${twice.firstLine} and line ${twice.secondLine}`;
    throw fail(`"${twice.key}" is given twice${where} (${at}): JSON would keep only the last; remove one`);
  }
  return value;
}

/**
 * Line and column: a person looks for a trailing comma by line, not by byte. Never the text around
 * it, nor V8's own quote of it: the file may be a credential (an auth.json the CLI left half-written),
 * and this message goes to the event log.
 */
function whereInText(text: string): string {
  const at = jsonErrorOffset(text);
  if (at === null) return "";
  const before = text.slice(0, at);
  return ` at line ${before.split("\n").length}, column ${at - before.lastIndexOf("\n")}`;
}

/** V8's reason without its quote of the text ("Unexpected token ']', ..."ue"] }, ]..." is not valid JSON"). */
function v8Reason(message: string): string {
  const reason = message.replace(/\s+/g, " ");
  // The quote starts at `, "` or `, ..."` (any token, an emoji too); a position is where whereInText says.
  return reason.replace(/, (?:\.\.\.)?".*$/, "").replace(/ in JSON at position \d+.*$/, "");
}

export async function readJsonFile(file: string, fail: Fail, opts?: JsonReadOptions): Promise<unknown> {
  const text = await readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
    throw fail(`${CANNOT_READ}: ${readFailure(e)}`);
  });
  return parse(text, fail, opts);
}

/** JSON text already read (a copied config file); `fail` says how its error looks. */
export function parseJsonText(text: string, fail: Fail): unknown {
  return parse(text, fail);
}

/** For constructors that must stay synchronous (createConductor reads its accounts file once). */
export function readJsonFileSync(file: string, fail: Fail, opts?: JsonReadOptions): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw fail(`${CANNOT_READ}: ${readFailure(e)}`);
  }
  return parse(text, fail, opts);
}
