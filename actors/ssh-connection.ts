/**
 * One connection attempt to an SSH host, as the host statechart's `connection` actor: an ssh2
 * Client connecting with the host's settings (ssh-connect-config.ts), reporting READY, then
 * CLOSED with why (`fatal`: retrying cannot help, e.g. a refused key or a bad host key).
 */
import type { Client, ConnectConfig } from "ssh2";
import { type EventObject, fromCallback } from "xstate";
import type { ConnectionInput } from "../machines/ssh-host.machine.js";
import type { HostConfig } from "./host-config.js";
import { connectConfig } from "./ssh-connect-config.js";
import type { SshHostOptions } from "./ssh-host.js";
import { ssh2Client } from "./ssh2-client.js";

/** `ready`: the client to run channels on, until `gone` (closed, or the attempt was stopped). */
export function sshConnection(
  config: HostConfig,
  opts: SshHostOptions,
  log: (event: string, data: Record<string, unknown>) => void,
  link: { ready: (c: Client) => void; gone: (c: Client) => void },
) {
  return fromCallback<EventObject, ConnectionInput>(({ sendBack, input }) => {
    let done = false;
    let error: string | null = null;
    let fatal = false;
    const c = new (ssh2Client())();
    const finish = () => {
      if (done) return;
      done = true;
      link.gone(c);
      sendBack({ type: "CONN.CLOSED", error, fatal });
    };
    const fail = (message: string) => {
      error = message;
      fatal = true;
      queueMicrotask(finish);
    };
    let connect: ConnectConfig;
    try {
      connect = connectConfig(
        config,
        opts,
        (message) => {
          if (error) return;
          error = message;
          fatal = true;
        },
        log,
      );
    } catch (e) {
      fail((e as Error).message);
      return () => {
        done = true;
      };
    }
    log("ssh.connecting", { host: config.name, address: `${config.host}:${config.port}`, attempt: input.attempt });
    c.on("ready", () => {
      if (done) return;
      link.ready(c);
      log("ssh.connected", { host: config.name });
      sendBack({ type: "CONN.READY" });
    });
    c.on("error", (e: Error & { level?: string }) => {
      if (e.level === "client-authentication") {
        fatal = true;
        error = `authentication refused for ${config.user}@${config.host}:${config.port} (host "${config.name}"; ${config.agent ? "ssh-agent keys" : `key ${config.identityFile}`}; passwords are never tried): check the key is in the user's authorized_keys`;
      } else error ??= e.message;
    });
    c.on("close", finish);
    try {
      c.connect(connect);
    } catch (e) {
      // An encrypted key without passphrase, a malformed key: retrying will not help.
      const msg = (e as Error).message;
      fail(
        /passphrase|encrypted/i.test(msg)
          ? `${msg}: identityFile ${config.identityFile} is passphrase-protected; load it into ssh-agent and use "agent": true`
          : `cannot connect to host "${config.name}": ${msg}`,
      );
    }
    return () => {
      done = true;
      link.gone(c);
      c.end();
      setTimeout(() => c.destroy(), 2000).unref();
    };
  });
}
