/**
 * OpenSSH known_hosts: parse it and decide whether a server's host key is the one we know.
 * ssh2 accepts any key unless told otherwise, so this is what stands between a session's
 * commands (and the agent's output) and whoever answers on the host's address.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";

export interface KnownHostEntry {
  line: number;
  revoked: boolean;
  /** Plain patterns (`host`, `[host]:port`, wildcards, `!negated`); null when hashed. */
  patterns: string[] | null;
  /** `|1|salt|hash`: HMAC-SHA1 of the host name, keyed with the salt. */
  hashed: { salt: Buffer; hash: Buffer } | null;
  keyType: string;
  key: Buffer;
}

/** Lines that are not host keys (comments, `@cert-authority`, garbage) are skipped, never fatal. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const fields = raw.trim().split(/\s+/);
    const head = fields[0] ?? "";
    if (head === "" || head.startsWith("#")) return;
    let revoked = false;
    if (head.startsWith("@")) {
      if (head !== "@revoked") return; // @cert-authority: certificates are not supported
      revoked = true;
      fields.shift();
    }
    const [hosts, keyType, b64] = fields;
    if (!hosts || !keyType || !b64) return;
    const key = Buffer.from(b64, "base64");
    if (key.length === 0) return;
    let hashed: KnownHostEntry["hashed"] = null;
    if (hosts.startsWith("|1|")) {
      const [, , salt, hash] = hosts.split("|");
      if (!salt || !hash) return;
      hashed = { salt: Buffer.from(salt, "base64"), hash: Buffer.from(hash, "base64") };
    }
    out.push({ line: i + 1, revoked, patterns: hashed ? null : hosts.split(","), hashed, keyType, key });
  });
  return out;
}

/** A missing file is an empty list (every host unknown), as for ssh. */
export function loadKnownHosts(path: string): KnownHostEntry[] {
  try {
    return parseKnownHosts(readFileSync(path, "utf8"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

/** The name ssh looks up: `host` on port 22, `[host]:port` otherwise. */
export const knownHostsName = (host: string, port: number) => (port === 22 ? host : `[${host}]:${port}`);

function glob(pattern: string, name: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${re}$`, "i").test(name);
}

export function entryMatches(entry: KnownHostEntry, host: string, port: number): boolean {
  const name = knownHostsName(host, port);
  if (entry.hashed) {
    const mac = createHmac("sha1", entry.hashed.salt).update(name).digest();
    return mac.length === entry.hashed.hash.length && timingSafeEqual(mac, entry.hashed.hash);
  }
  let hit = false;
  for (const p of entry.patterns ?? []) {
    if (p.startsWith("!")) {
      if (glob(p.slice(1), name)) return false;
    } else if (glob(p, name)) hit = true;
  }
  return hit;
}

/** `SHA256:<base64, no padding>`, as `ssh-keygen -lf` and ssh's own prompts print it. */
export function keyFingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The key type is the first string of the SSH wire-format key blob. */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return "unknown";
  const len = blob.readUInt32BE(0);
  return len > 0 && len < 64 && blob.length >= 4 + len ? blob.toString("latin1", 4, 4 + len) : "unknown";
}

export type HostKeyVerdict =
  | { ok: true; keyType: string; fingerprint: string }
  | { ok: false; kind: "unknown" | "mismatch" | "revoked"; keyType: string; fingerprint: string; knownTypes: string[] };

export function checkHostKey(
  entries: readonly KnownHostEntry[],
  host: string,
  port: number,
  blob: Buffer,
): HostKeyVerdict {
  const keyType = keyTypeOf(blob);
  const fingerprint = keyFingerprint(blob);
  const mine = entries.filter((e) => entryMatches(e, host, port));
  const same = (e: KnownHostEntry) => e.key.length === blob.length && timingSafeEqual(e.key, blob);
  const knownTypes = [...new Set(mine.filter((e) => !e.revoked).map((e) => e.keyType))];
  if (mine.some((e) => e.revoked && same(e))) return { ok: false, kind: "revoked", keyType, fingerprint, knownTypes };
  if (mine.some((e) => !e.revoked && same(e))) return { ok: true, keyType, fingerprint };
  return { ok: false, kind: knownTypes.length > 0 ? "mismatch" : "unknown", keyType, fingerprint, knownTypes };
}

export class HostKeyError extends Error {
  override name = "HostKeyError";
  constructor(
    message: string,
    readonly host: string,
    readonly kind: "unknown" | "mismatch" | "revoked",
    readonly fingerprint: string,
  ) {
    super(message);
  }
}

/** What went wrong, the fingerprint, and the exact commands that fix it once checked. */
export function hostKeyError(
  v: Extract<HostKeyVerdict, { ok: false }>,
  where: { alias: string; host: string; port: number; knownHostsPath: string },
): HostKeyError {
  const { alias, host, port, knownHostsPath: kh } = where;
  const scan = `ssh-keyscan -p ${port} ${host} >> ${kh}`;
  const check = `compare ${v.fingerprint} with the host's own key (on the host: ssh-keygen -lf /etc/ssh/ssh_host_${v.keyType.replace(/^ssh-|-.*$/g, "")}_key.pub)`;
  const msg =
    v.kind === "unknown"
      ? `Host key of "${alias}" (${host} port ${port}) is not in ${kh}: the server offered ${v.keyType} ${v.fingerprint}. ` +
        `If it is right (${check}), add it: ${scan}`
      : v.kind === "revoked"
        ? `Host key of "${alias}" (${host} port ${port}) is marked @revoked in ${kh}: ${v.keyType} ${v.fingerprint}. Refusing to connect.`
        : `HOST KEY MISMATCH for "${alias}" (${host} port ${port}): the server offered ${v.keyType} ${v.fingerprint}, ` +
          `which is not the ${v.knownTypes.join("/")} key recorded in ${kh}. Someone may be intercepting the connection, ` +
          `or the host was reinstalled. Refusing to connect. If the change is expected, ${check}, then remove the old entry ` +
          `(ssh-keygen -R '${knownHostsName(host, port)}' -f ${kh}) and add the new one: ${scan}`;
  return new HostKeyError(msg, alias, v.kind, v.fingerprint);
}

const DEFAULT_HOST_KEY_ALGOS = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa",
];

/**
 * Ask for a key type we already know first (as ssh does): otherwise a host known only by its
 * RSA key would offer ed25519 and look "unknown".
 */
export function hostKeyAlgorithms(knownTypes: readonly string[]): string[] {
  const preferred = knownTypes.flatMap((t) => (t === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [t]));
  const known = preferred.filter((a) => DEFAULT_HOST_KEY_ALGOS.includes(a));
  return [...new Set([...known, ...DEFAULT_HOST_KEY_ALGOS])];
}
