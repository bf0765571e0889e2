/**
 * A key given twice in one JSON object: JSON.parse keeps the last silently, so a config file with
 * `"agent": "claude"` over a later `"agent": "codex"` ran codex with no word, and a person editing
 * it reads the first. Config loaders refuse it, saying where both are (src/json-file.ts). A scan
 * of text JSON.parse has already accepted, so it follows the grammar without checking it.
 */

export interface DuplicateKey {
  key: string;
  /** Where the object is: `sessions[0]`, `hosts.box`, "" for the top level. */
  path: string;
  /** Lines and columns (1-based) of the first and the second: one line may hold both. */
  firstLine: number;
  firstColumn: number;
  secondLine: number;
  secondColumn: number;
}

export function findDuplicateKey(text: string): DuplicateKey | null {
  let i = 0;
  const place = (at: number) => {
    const before = text.slice(0, at);
    return { line: before.split("\n").length, column: at - before.lastIndexOf("\n") };
  };
  const ws = () => {
    while (i < text.length && " \t\n\r\ufeff".includes(text[i] as string)) i++;
  };
  const string = (): string => {
    const from = i;
    i++;
    while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    return JSON.parse(text.slice(from, i)) as string;
  };
  const scalar = () => {
    while (i < text.length && !",}] \t\n\r".includes(text[i] as string)) i++;
  };
  const member = (path: string, key: string) =>
    /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}${path ? "." : ""}${key}` : `${path}[${JSON.stringify(key)}]`;
  const value = (path: string): DuplicateKey | null => {
    ws();
    const c = text[i];
    if (c === "{") return object(path);
    if (c === "[") return array(path);
    if (c === '"') string();
    else scalar();
    return null;
  };
  const object = (path: string): DuplicateKey | null => {
    i++;
    const seen = new Map<string, number>();
    for (;;) {
      ws();
      if (text[i] === "}") {
        i++;
        return null;
      }
      const at = i;
      const key = string();
      const first = seen.get(key);
      if (first !== undefined) {
        const [a, b] = [place(first), place(at)];
        return { key, path, firstLine: a.line, firstColumn: a.column, secondLine: b.line, secondColumn: b.column };
      }
      seen.set(key, at);
      ws();
      i++; // the colon
      const found = value(member(path, key));
      if (found) return found;
      ws();
      if (text[i] === ",") i++;
    }
  };
  const array = (path: string): DuplicateKey | null => {
    i++;
    for (let n = 0; ; n++) {
      ws();
      if (text[i] === "]") {
        i++;
        return null;
      }
      const found = value(`${path}[${n}]`);
      if (found) return found;
      ws();
      if (text[i] === ",") i++;
    }
  };
  return value("");
}
