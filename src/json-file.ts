/**
 * Reading a JSON config file with one error per failure kind, for every config loader
 * (run config, accounts, hosts): the caller says how its errors look, this says what went wrong.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { jsonErrorOffset } from "./json-position.js";

type Fail = (problem: string) => Error;

function parse(text: string, fail: Fail): unknown {
  // Editors on Windows save UTF-8 with a byte-order mark; JSON.parse refuses it, a person would not.
  const json = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(json);
  } catch (e) {
    // V8 quotes the text around the error, newlines and all: one line of it reads better.
    throw fail(`not valid JSON (${(e as Error).message.replace(/\s+/g, " ")})${whereInText(json)}`);
  }
}

/** Line, column and the line itself: a person looks for a trailing comma by line, not by byte. */
function whereInText(text: string): string {
  const at = jsonErrorOffset(text);
  if (at === null) return "";
  const before = text.slice(0, at);
  const line = before.split("\n").length;
  const column = at - before.lastIndexOf("\n");
  const row = (text.split("\n")[line - 1] ?? "").trimEnd();
  return ` at line ${line}, column ${column}: ${row.length > 120 ? `${row.slice(0, 117)}...` : row}`;
}

export async function readJsonFile(file: string, fail: Fail): Promise<unknown> {
  const text = await readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
    throw fail(`cannot read the file (${e.code ?? e.message})`);
  });
  return parse(text, fail);
}

/** JSON text already read (a copied config file); `fail` says how its error looks. */
export function parseJsonText(text: string, fail: Fail): unknown {
  return parse(text, fail);
}

/** For constructors that must stay synchronous (createConductor reads its accounts file once). */
export function readJsonFileSync(file: string, fail: Fail): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw fail(`cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parse(text, fail);
}
