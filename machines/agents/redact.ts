/**
 * Secrets never reach lastError, the event log or a snapshot: an error line can quote the key
 * that was refused ("Incorrect API key provided: sk-proj-…").
 */
const SECRETS: readonly RegExp[] = [
  /\bsk-[A-Za-z0-9_*-]{6,}/g, // OpenAI / Anthropic (sk-ant-…) keys, masked or not
  /\bAIza[0-9A-Za-z_-]{10,}/g, // Google API keys
  /\b(?:ghp|gho|ghu|ghs|github_pat)_[A-Za-z0-9_]{10,}/g,
  /\bxox[abprs]-[A-Za-z0-9-]{10,}/g,
  /\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*/g, // JWTs
];
const BEARER = /\b(Bearer|Basic|token)(\s+)[A-Za-z0-9._~+/=-]{8,}/gi;
const KEY_FIELD = /\b((?:api[_-]?key|access[_-]?token|secret|password)["']?\s*[:=]\s*["']?)[^\s"',]{6,}/gi;

export function redactSecrets(text: string): string {
  let out = text.replace(BEARER, "$1$2[redacted]").replace(KEY_FIELD, "$1[redacted]");
  for (const re of SECRETS) out = out.replace(re, "[redacted]");
  return out;
}
