/** `conductor send | kill | restart | stop`: one request each to a running conductor. */
import type { Hello } from "../control/protocol.js";
import { KEY_BYTES, unknownKeys } from "../../machines/session.keys.js";
import { type Flags, UsageError } from "./args.js";
import { answerTimeoutMs, withConductor } from "./connect.js";

function oneSession(positionals: string[], cmd: string): string {
  const [id, ...extra] = positionals;
  if (!id) throw new UsageError(`${cmd} needs a session id, e.g. conductor ${cmd} review-1 (see conductor ls)`);
  if (extra.length > 0 && cmd !== "send")
    throw new UsageError(`${cmd} takes one session id (got ${positionals.length} arguments)`);
  return id;
}

export async function sendCommand(flags: Flags, positionals: string[], out: NodeJS.WriteStream): Promise<number> {
  const id = oneSession(positionals, "send");
  const text = positionals.slice(1).join(" ");
  const keys = (flags.keys as string[] | undefined) ?? [];
  if (keys.length === 0 && positionals.length < 2)
    throw new UsageError(`send needs the text to type, e.g. conductor send ${id} "y", or --keys Enter`);
  if (keys.length > 0 && text)
    throw new UsageError("send takes either text or --keys, not both (send the text, then the keys)");
  const unknown = unknownKeys(keys);
  if (unknown.length > 0)
    throw new UsageError(
      `unknown key ${JSON.stringify(unknown[0])}: --keys takes a key name (${Object.keys(KEY_BYTES).join(", ")}; C-c for Ctrl-C) or one character`,
    );
  return withConductor(flags, async (client) => {
    if (keys.length > 0) {
      const hello = await client.request<Hello>({ op: "hello" });
      if (hello.ops.includes("keys")) await client.request({ op: "keys", session: id, keys });
      // Without sendKeys, Enter alone is still sendable: sendInput writes the text and a carriage return.
      else if (keys.every((k) => /^(enter|return)$/i.test(k)))
        for (const _ of keys) await client.request({ op: "send", session: id, text: "" });
      else throw new Error(`this conductor cannot send keys other than Enter (it has no sendKeys): ${keys.join(" ")}`);
      out.write(`sent ${keys.join(" ")} to ${id}\n`);
    } else {
      await client.request({ op: "send", session: id, text });
      out.write(`sent ${text.length} character(s) and Enter to ${id}\n`);
    }
    return 0;
  });
}

export async function killCommand(flags: Flags, positionals: string[], out: NodeJS.WriteStream): Promise<number> {
  const id = oneSession(positionals, "kill");
  return withConductor(flags, async (client) => {
    const r = await client.request<{ killed: boolean; state: string }>({
      op: "kill",
      session: id,
      reason: "control_kill",
    });
    out.write(
      r.killed ? `killed ${id}: its process tree is gone (${r.state})\n` : `${id} had already ended (${r.state})\n`,
    );
    return 0;
  });
}

export async function restartCommand(flags: Flags, positionals: string[], out: NodeJS.WriteStream): Promise<number> {
  const id = oneSession(positionals, "restart");
  return withConductor(flags, async (client) => {
    const r = await client.request<{ state: string }>({ op: "restart", session: id });
    out.write(`restarted ${id} (${r.state})\n`);
    return 0;
  });
}

export async function stopCommand(flags: Flags, positionals: string[], out: NodeJS.WriteStream): Promise<number> {
  if (positionals.length > 0) throw new UsageError(`stop takes no argument (to stop one session: conductor kill <id>)`);
  return withConductor(flags, async (client, entry) => {
    await client.request({ op: "shutdown", reason: "control_stop" });
    out.write(`stopping ${entry.name}: every session is being stopped…\n`);
    // The conductor closes its socket once every process tree is gone (graceMs and more): as long as
    // that takes, but no longer than it stays silent.
    await client.whileAnswering(client.closed, answerTimeoutMs(), "shutdown");
    out.write(`${entry.name} stopped\n`);
    return 0;
  });
}
