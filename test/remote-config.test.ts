/** The hosts file (zod schema, friendly errors) and known_hosts parsing/verification. */
import { execFileSync } from "node:child_process";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConductorError, ConfigError } from "../src/errors.js";
import { HostsConfigError, loadHostsFile, parseHostsConfig } from "../src/hosts-config.js";
import {
  checkHostKey,
  hostKeyAlgorithms,
  hostKeyError,
  keyFingerprint,
  keyTypeOf,
  parseKnownHosts,
} from "../actors/known-hosts.js";

const tmp = mkdtempSync(join(tmpdir(), "remote-config-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const base = { host: "10.0.0.12", user: "deploy", identityFile: "~/.ssh/id_ed25519" };
/** A unix socket at `path`, as an ssh-agent's would be. */
const listenOn = (path: string) =>
  new Promise<Server>((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(path, () => resolve(srv));
  });
const parse = (hosts: Record<string, unknown>, opts = {}) =>
  parseHostsConfig({ hosts }, { home: "/home/me", env: {}, ...opts });
const errorOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return e as HostsConfigError;
  }
  throw new Error("expected an error");
};

describe("hosts file", () => {
  it("fills defaults and expands ~", () => {
    const { hosts } = parse({ "build-box": base });
    expect(hosts["build-box"]).toEqual({
      name: "build-box",
      host: "10.0.0.12",
      port: 22,
      user: "deploy",
      identityFile: "/home/me/.ssh/id_ed25519",
      knownHosts: "/home/me/.ssh/known_hosts",
      multiplexer: "tmux",
      strictHostKeyChecking: true,
    });
  });

  it("defect: an agent socket that is not there is refused at load, naming it (not 'authentication refused' at connect)", () => {
    const missing = join(tmp, "no-agent.sock");
    const e = errorOf(() => parse({ a: { host: "h", user: "u", agent: missing } }));
    expect(e.message).toContain(`host "a", field "agent": the ssh-agent socket ${missing} cannot be used (ENOENT)`);
    expect(e.message).toMatch(/start ssh-agent/);
    const fromEnv = errorOf(() =>
      parse({ a: { host: "h", user: "u", agent: true } }, { env: { SSH_AUTH_SOCK: missing } }),
    );
    expect(fromEnv.message).toContain(`SSH_AUTH_SOCK (${missing}) cannot be used (ENOENT)`);
    const file = join(tmp, "plain-file");
    writeFileSync(file, "");
    expect(errorOf(() => parse({ a: { host: "h", user: "u", agent: file } })).message).toContain(
      `${file} is not a socket`,
    );
  });

  it("agent: true reads SSH_AUTH_SOCK; a path is used as is", async () => {
    const [envSock, pathSock] = [join(tmp, "agent.1"), join(tmp, "agent.sock")];
    const servers = await Promise.all([envSock, pathSock].map(listenOn));
    const { hosts } = parse(
      { a: { host: "h", user: "u", agent: true }, b: { host: "h", user: "u", agent: pathSock } },
      { env: { SSH_AUTH_SOCK: envSock } },
    );
    for (const srv of servers) srv.close();
    expect(hosts.a!.agent).toBe(envSock);
    expect(hosts.b!.agent).toBe(pathSock);
    const e = errorOf(() => parse({ a: { host: "h", user: "u", agent: true } }));
    expect(e.message).toMatch(
      /host "a", field "agent": "agent": true but SSH_AUTH_SOCK is not set.*Example: "agent": true/,
    );
  });

  it.each([
    // The run config's words, not the schema library's ("Too big: expected number to be <=65535").
    [
      { ...base, port: 70000 },
      "port",
      /host "box", field "port": must be <= 65535, got number 70000\. Example: "port": 22/,
    ],
    [{ ...base, host: "" }, "host", /field "host": must not be empty\. Example/],
    [{ ...base, port: "22" }, "port", /field "port": expected number, got string "22"\. Example: "port": 22$/],
    [{ user: "u", identityFile: "k" }, "host", /field "host": is required.*Example: "host": "10\.0\.0\.12"/],
    [{ ...base, host: "me@10.0.0.1" }, "host", /without user@/],
    [{ ...base, multiplexer: "screen" }, "multiplexer", /Example: "multiplexer": "tmux" \(or "psmux"\)/],
    [
      { ...base, password: "hunter2" },
      "identityFile",
      /"password" is not supported: remote sessions never use passwords/,
    ],
    [{ ...base, prot: 22 }, "prot", /unknown field "prot" \(did you mean "port"\?\)/],
    [{ host: "h", user: "u" }, "identityFile", /no way to authenticate/],
    [{ ...base, agent: true }, "identityFile", /either "identityFile" or "agent", not both/],
    [{ ...base, strictHostKeyChecking: "no" }, "strictHostKeyChecking", /field "strictHostKeyChecking"/],
  ])("%j → an error naming the host and field %s", (entry, field, message) => {
    const e = errorOf(() => parse({ box: entry }, { env: { SSH_AUTH_SOCK: "/s" } }));
    expect(e).toBeInstanceOf(HostsConfigError);
    // One error family: a hosts file's problem is a ConductorError with a code, as every other input's.
    expect(e).toBeInstanceOf(ConductorError);
    // A ConfigError as the accounts and run-config files' errors are (it extended ConductorError only).
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.issues).toEqual([expect.objectContaining({ path: field, subject: 'host "box"' })]);
    expect(e.code).toBe("INVALID_CONFIG");
    expect(e.host).toBe("box");
    expect(e.field).toBe(field);
    expect(e.message).toMatch(message);
  });

  it("a bare map of hosts (no top-level \"hosts\") says where they go, not 'top level: is required'", () => {
    const e = errorOf(() => parseHostsConfig({ box: base }, { home: "/home/me", env: {} }));
    expect(e.field).toBe("hosts");
    expect(e.message).toMatch(
      /the hosts go under a top-level "hosts" key, e\.g\. \{ "hosts": \{ "box": \{ \.\.\. \} \} \}/,
    );
    expect(errorOf(() => parseHostsConfig({}, { env: {} })).message).toMatch(/field "hosts": is required/);
  });

  it("opting out of host key checking is loud", () => {
    const warnings: string[] = [];
    parse({ box: { ...base, strictHostKeyChecking: false } }, { warn: (m: string) => warnings.push(m) });
    expect(warnings[0]).toMatch(/WARNING: host "box" .* ANY host key will be accepted/);
  });

  it("loadHostsFile: unreadable and invalid JSON name the file", () => {
    expect(errorOf(() => loadHostsFile(join(tmp, "nope.json"))).message).toMatch(
      /nope\.json: cannot read the file: there is no such file \(ENOENT\)$/,
    );
    writeFileSync(join(tmp, "bad.json"), "{ hosts: ");
    expect(errorOf(() => loadHostsFile(join(tmp, "bad.json"))).message).toMatch(/bad\.json: top level: not valid JSON/);
    writeFileSync(
      join(tmp, "rel.json"),
      JSON.stringify({ hosts: { r: { host: "h", user: "u", identityFile: "keys/id" } } }),
    );
    expect(loadHostsFile(join(tmp, "rel.json")).hosts.r!.identityFile).toBe(join(tmp, "keys/id"));
  });
});

describe("known_hosts", () => {
  const keyFile = join(tmp, "hk");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", keyFile]);
  const [type, b64] = readFileSync(`${keyFile}.pub`, "utf8").split(" ") as [string, string];
  const blob = Buffer.from(b64, "base64");
  const other = Buffer.from(blob);
  other.writeUInt8(other.readUInt8(other.length - 1) ^ 0xff, other.length - 1);

  it("fingerprint and type match ssh-keygen -lf", () => {
    const lf = execFileSync("ssh-keygen", ["-lf", `${keyFile}.pub`], { encoding: "utf8" }).split(" ")[1];
    expect(keyFingerprint(blob)).toBe(lf);
    expect(keyTypeOf(blob)).toBe("ssh-ed25519");
  });

  it("plain host on port 22, [host]:port otherwise, comma lists, wildcards and negation", () => {
    const kh = parseKnownHosts(
      [
        `# comment`,
        `a.example,10.0.0.5 ${type} ${b64}`,
        `[b.example]:2222 ${type} ${b64}`,
        `*.lab,!evil.lab ${type} ${b64}`,
        "garbage",
      ].join("\n"),
    );
    expect(kh).toHaveLength(3);
    expect(checkHostKey(kh, "10.0.0.5", 22, blob).ok).toBe(true);
    expect(checkHostKey(kh, "a.example", 2222, blob)).toMatchObject({ ok: false, kind: "unknown" });
    expect(checkHostKey(kh, "b.example", 2222, blob).ok).toBe(true);
    expect(checkHostKey(kh, "x.lab", 22, blob).ok).toBe(true);
    expect(checkHostKey(kh, "evil.lab", 22, blob)).toMatchObject({ ok: false, kind: "unknown" });
    expect(checkHostKey(kh, "a.example", 22, other)).toMatchObject({
      ok: false,
      kind: "mismatch",
      knownTypes: ["ssh-ed25519"],
    });
  });

  it("hashed entries (|1|salt|hmac-sha1), as ssh-keygen -H writes them", () => {
    const salt = randomBytes(20);
    const hash = createHmac("sha1", salt).update("[10.1.1.1]:2200").digest();
    const kh = parseKnownHosts(`|1|${salt.toString("base64")}|${hash.toString("base64")} ${type} ${b64}\n`);
    expect(checkHostKey(kh, "10.1.1.1", 2200, blob).ok).toBe(true);
    expect(checkHostKey(kh, "10.1.1.1", 22, blob).ok).toBe(false);
    expect(checkHostKey(kh, "10.1.1.1", 2200, other)).toMatchObject({ kind: "mismatch" });
  });

  it("@revoked wins over a matching entry; @cert-authority lines are skipped", () => {
    const kh = parseKnownHosts(`h ${type} ${b64}\n@revoked h ${type} ${b64}\n@cert-authority *.x ${type} ${b64}\n`);
    expect(kh).toHaveLength(2);
    expect(checkHostKey(kh, "h", 22, blob)).toMatchObject({ ok: false, kind: "revoked" });
  });

  it("the error names host, fingerprint and the commands to run after checking", () => {
    const v = checkHostKey(parseKnownHosts(`[h]:2222 ${type} ${b64}`), "h", 2222, other);
    if (v.ok) throw new Error("expected a mismatch");
    const e = hostKeyError(v, { alias: "build", host: "h", port: 2222, knownHostsPath: "/k" });
    expect(e.message).toContain(`HOST KEY MISMATCH for "build" (h port 2222)`);
    expect(e.message).toContain(`SHA256:${createHash("sha256").update(other).digest("base64").replace(/=+$/, "")}`);
    expect(e.message).toContain("ssh-keygen -R '[h]:2222' -f /k");
    expect(e.message).toContain("ssh-keyscan -p 2222 h >> /k");
  });

  it("asks the server for a key type we know first", () => {
    expect(hostKeyAlgorithms(["ssh-rsa"]).slice(0, 3)).toEqual(["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]);
    expect(hostKeyAlgorithms([])[0]).toBe("ssh-ed25519");
    expect(new Set(hostKeyAlgorithms(["ecdsa-sha2-nistp256"])).size).toBe(
      hostKeyAlgorithms(["ecdsa-sha2-nistp256"]).length,
    );
  });
});
