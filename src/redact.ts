/**
 * The one redactor for anything that reaches a log: argv elements and free strings.
 *
 * Masks, with `***`: values of secret-named flags (`--api-key v`, `--token=v`, `--client-secret v`,
 * `--password v`), `NAME_KEY=v` and `?api_key=v` pairs, credentials in URLs (`postgres://u:SECRET@h`),
 * header forms (`Authorization: Bearer …`, `X-Auth-Token: …`, `Cookie: …`), secret-named JSON fields
 * (`"client_secret": "…"`), every value of an MCP server's `env` (claude's `--mcp-config` JSON and
 * codex's `-c mcp_servers.<name>.env={…}`), and literal strings the caller names (the prompt).
 *
 * A literal shorter than LITERAL_MIN_SUBSTRING is masked only where it is a whole element or a whole
 * `=` value: the seed-era rule "every occurrence" turned a 1-character prompt into `***` in every word.
 */

export const REDACTED = "***";

/** Literals at least this long are also masked inside other strings. */
export const LITERAL_MIN_SUBSTRING = 8;

// Name segments that mark a value as secret; whole segments so `--max-tokens 100` stays readable.
const SECRET_WORDS = new Set([
  "key",
  "apikey",
  "token",
  "password",
  "passwd",
  "pass",
  "pwd",
  "secret",
  "credential",
  "credentials",
  "auth",
  "authorization",
  "bearer",
  "cookie",
  "session",
  "signature",
  "private",
]);

/** `--api-key`, `apiKey`, `CLIENT_SECRET`, `x-auth-token` → true; `--max-tokens`, `model` → false. */
export function isSecretName(name: string): boolean {
  return name
    .replace(/^-+/, "")
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2") // apiKey → api_Key
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .some((seg) => SECRET_WORDS.has(seg));
}

const HEADER_NAMES =
  "authorization|proxy-authorization|cookie|set-cookie|x-[a-z0-9-]*(?:token|key|secret|auth)|api-key";
const HEADER = new RegExp(`^(\\s*(?:${HEADER_NAMES})\\s*:)\\s*\\S.*$`, "i");
const HEADER_INSIDE = new RegExp(`\\b((?:${HEADER_NAMES})\\s*:\\s*)(?:(?:bearer|basic|token)\\s+)?[^\\s"',;]+`, "gi");
// scheme://user:password@host → scheme://user:***@host; scheme://<long token>@host → scheme://***@host
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"']*):([^\s@/"']+)@/gi;
const URL_TOKEN_USER = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/@"']{20,})@/gi;
// "client_secret": "v" (JSON) and name=v / name: v pairs inside a string
const JSON_FIELD = /("([^"\\]*)"\s*:\s*)"((?:[^"\\]|\\.)*)"/g;
const PAIR = /(^|[\s?&;,{(])([A-Za-z_][A-Za-z0-9_.-]*)=([^\s&;,"'})]+)/g;
// codex: -c mcp_servers.<name>.env={ "K" = "v", … }
const CODEX_MCP_ENV = /^(mcp_servers\.[^.=]+\.env=\{)(.*)(\})$/s;
const TOML_PAIR = /("(?:[^"\\]|\\.)*"\s*=\s*)"(?:[^"\\]|\\.)*"/g;

/** Redacts the secrets a free string can carry (URL credentials, headers, JSON fields, pairs). */
export function redactString(text: string): string {
  const json = redactJsonText(text);
  if (json !== undefined) return json;
  return text
    .replace(URL_PASSWORD, (_, head: string) => `${head}:${REDACTED}@`)
    .replace(URL_TOKEN_USER, (_, scheme: string) => `${scheme}${REDACTED}@`)
    .replace(HEADER_INSIDE, (_, head: string) => `${head}${REDACTED}`)
    .replace(JSON_FIELD, (m, head: string, key: string) => (isSecretName(key) ? `${head}"${REDACTED}"` : m))
    .replace(PAIR, (m, lead: string, key: string) => (isSecretName(key) ? `${lead}${key}=${REDACTED}` : m));
}

/**
 * A whole JSON document (claude's `--mcp-config`, codex's `mcp_servers.x.args=[…]`): walk it, so
 * nested `env` blocks and `args` lists are masked. `key` names the document (`args`) when known.
 */
function redactJsonText(text: string, key = ""): string | undefined {
  const t = text.trim();
  if (!(t.startsWith("{") && t.endsWith("}")) && !(t.startsWith("[") && t.endsWith("]"))) return undefined;
  try {
    return JSON.stringify(redactJson(JSON.parse(t), key));
  } catch {
    return undefined;
  }
}

function redactJson(value: unknown, key = ""): unknown {
  if (typeof value === "string") return isSecretName(key) ? REDACTED : redactString(value);
  if (Array.isArray(value)) return key === "args" ? redactArgv(value.map(String)) : value.map((v) => redactJson(v));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // An MCP server's env is configuration for a child: every value is treated as a secret.
      out[k] = k === "env" && v && typeof v === "object" ? maskValues(v as Record<string, unknown>) : redactJson(v, k);
    }
    return out;
  }
  return value;
}

function maskValues(env: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.keys(env).map((k) => [k, REDACTED]));
}

export interface RedactOptions {
  /** Strings that must never appear (the prompt). Empty strings are ignored. */
  literals?: readonly string[];
}

/** argv for a log line; the input is never mutated. */
export function redactArgv(argv: readonly string[], opts: RedactOptions = {}): string[] {
  const literals = (opts.literals ?? []).filter((s) => typeof s === "string" && s.length > 0);
  const out: string[] = [];
  let maskNext = false;
  for (const raw of argv) {
    let shown = String(raw);
    // A flag right after a secret flag means the secret flag had no value: treat it as a flag.
    if (maskNext && shown.startsWith("--")) maskNext = false;
    if (maskNext) {
      out.push(REDACTED);
      maskNext = false;
      continue;
    }
    const header = HEADER.exec(shown);
    const codexEnv = CODEX_MCP_ENV.exec(shown);
    const eq = shown.indexOf("=");
    if (header) {
      shown = `${header[1]} ${REDACTED}`;
    } else if (/^(authorization|x-[a-z0-9-]*(token|key|secret))$/i.test(shown)) {
      maskNext = true; // `-H Authorization "Bearer x"`: the name alone, the value follows
    } else if (codexEnv) {
      shown = `${codexEnv[1]}${(codexEnv[2] ?? "").replace(TOML_PAIR, (_, head: string) => `${head}"${REDACTED}"`)}}`;
    } else if (eq > 0 && /^-{0,2}[A-Za-z_][A-Za-z0-9_.-]*$/.test(shown.slice(0, eq))) {
      shown = isSecretName(shown.slice(0, eq))
        ? `${shown.slice(0, eq + 1)}${REDACTED}`
        : `${shown.slice(0, eq + 1)}${redactValue(shown.slice(0, eq), shown.slice(eq + 1))}`;
    } else if (shown.startsWith("-") && !shown.includes(" ") && isSecretName(shown)) {
      maskNext = true;
    } else {
      shown = redactString(shown);
    }
    out.push(maskLiterals(shown, literals));
  }
  return out;
}

/** The value of `name=value`; a JSON value is walked with the name's last segment as its key. */
function redactValue(name: string, value: string): string {
  return redactJsonText(value, name.split(".").at(-1)) ?? redactString(value);
}

function maskLiterals(shown: string, literals: readonly string[]): string {
  let s = shown;
  for (const lit of literals) {
    if (s === lit) return REDACTED;
    const eq = s.indexOf("=");
    if (eq > 0 && s.slice(eq + 1) === lit) s = `${s.slice(0, eq + 1)}${REDACTED}`;
    else if (lit.length >= LITERAL_MIN_SUBSTRING) s = s.split(lit).join(REDACTED);
  }
  return s;
}
