/**
 * Reading a JSON config file with one error per failure kind, for every config loader
 * (run config, accounts, hosts): the caller says how its errors look, this says what went wrong.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";

type Fail = (problem: string) => Error;

function parse(text: string, fail: Fail): unknown {
  try {
    // Editors on Windows save UTF-8 with a byte-order mark; JSON.parse refuses it, a person would not.
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    throw fail(`not valid JSON (${(e as Error).message})`);
  }
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
