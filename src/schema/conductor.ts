/**
 * `createConductor(options)` and the run-config file (`conductor run config.json`): the same
 * fields, the file without functions and objects, and with `probe` for `probeOpts` and `sessions`.
 */
import { z } from "zod";
import { graceMs, leaseWaitMs, maxRestarts, probeOptsSchema, probeSchema, restartSchema, timeZone } from "./policy.js";
import { doc, fn, nonEmpty, shownAs } from "./primitives.js";
import { fileSessionSchema } from "./session.js";

const shared = {
  maxRestarts: maxRestarts().optional(),
  graceMs: graceMs().optional(),
  restart: restartSchema.optional(),
  leaseWaitMs: leaseWaitMs().optional(),
  timeZone: timeZone().optional(),
  brokerStateFile: doc(nonEmpty(), {
    description:
      "cool-downs and open circuits, shared by conductors and kept across restarts; beside it (`.claims/`) which account each conductor runs on now. " +
      "Default: `<accounts>.state.json` beside an accounts file given as a path, `<logsDir>/broker-state.json` for accounts given as an object",
    example: "./.conductor-logs/broker-state.json",
  }).optional(),
  credentialsDir: doc(nonEmpty(), {
    description:
      "where per-session credential homes (0700) are created and removed; default `<tmpdir>/statechart-conductor-<uid>/credentials` (`os.tmpdir()`)",
    example: "/tmp/conductor-credentials",
  }).optional(),
  tmuxSocketName: doc(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must match [A-Za-z0-9_-]{1,64}"), {
    description: "the private tmux server's name on every host (`tmux -L <name>`)",
    example: "conductor",
    default: "conductor",
  }).optional(),
  cols: doc(z.number().int().min(2).max(1000), { description: "pty width", example: 120, default: 120 }).optional(),
  rows: doc(z.number().int().min(2).max(1000), { description: "pty height", example: 40, default: 40 }).optional(),
  outputLogMaxBytes: doc(z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), {
    description: "rotate `<id>.out.log`/`<id>.err.log` before a write takes one past this size; 0: never",
    example: 16_777_216,
    default: 67_108_864,
  }).optional(),
  outputLogKeep: doc(z.number().int().min(1).max(100), {
    description: "rotated output logs kept per file: `<file>.1` (newest) … `<file>.<keep>`",
    example: 3,
    default: 3,
  }).optional(),
};

/** A file's path, or its content as an object. */
const fileOrObject = () => z.union([nonEmpty(), shownAs(z.record(z.string(), z.unknown()), "object")]);
const objectWith = (methods: readonly string[]) =>
  shownAs(
    z.custom<object>(
      (v) =>
        v !== null &&
        typeof v === "object" &&
        methods.every((m) => typeof (v as Record<string, unknown>)[m] === "function"),
      { message: `must be an object with methods ${methods.join(", ")}` },
    ),
    "object",
  );

export const conductorOptionsSchema = doc(
  z.strictObject({
    logsDir: doc(nonEmpty(), {
      description: "`<id>.out.log`, `<id>.err.log` and `conductor-events.jsonl` go here",
      example: "./.conductor-logs",
      label: "logsDir",
    }),
    ...shared,
    probeOpts: probeOptsSchema.optional(),
    enableMesh: doc(z.boolean(), {
      description: "attach a mesh registry of sessions (`session:<id>`, capability `session`)",
      example: false,
      default: true,
    }).optional(),
    meshRegistry: doc(objectWith(["register", "unregister", "discover", "getAgent", "listAll", "clear"]), {
      description: "inject your own mesh registry",
      example: "createMeshRegistry()",
    }).optional(),
    inspect: doc(z.union([fn(), objectWith(["next"])]), {
      description: "any XState v5 inspection observer, passed to the actor system",
      example: "inspector.inspect",
    }).optional(),
    handleSignals: doc(z.boolean(), {
      description: "trap SIGINT/SIGTERM/SIGHUP once per process: shut down every conductor, then exit 130/143/129",
      example: false,
      default: true,
    }).optional(),
    control: doc(
      z.union([
        z.boolean(),
        z.strictObject({
          name: doc(
            z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}"),
            {
              description: "name in the per-user registry (`conductor ls`, `--name`)",
              example: "nightly",
            },
          ).optional(),
          socketPath: doc(nonEmpty(), { description: "socket path", example: "./logs/control.sock" }).optional(),
          version: doc(nonEmpty(), { description: "version shown by `hello`", example: "1.2.0" }).optional(),
        }),
      ]),
      {
        description:
          "open the control socket (0600 Unix socket, docs/control.md) so `conductor ls|logs|send|kill|restart` " +
          "reach this conductor; `conductor.control` resolves to it",
        example: true,
        default: false,
      },
    ).optional(),
    accounts: doc(fileOrObject(), {
      description: "accounts file to lease per run: its path, or its content as an object (docs/accounts.md)",
      example: "./accounts.json",
    }).optional(),
    survivorsFrom: doc(z.array(nonEmpty()), {
      description:
        "logs directories of earlier conductors whose survivors this one ends too, as it does its own logsDir's (`conductor run` passes the other runs under `.conductor-logs/`)",
      example: ["./.conductor-logs/run-2026-12-05T09-00-00"],
    }).optional(),
    hosts: doc(fileOrObject(), {
      description: "hosts file for `remote: true` sessions: its path, or its content as an object (docs/remote.md)",
      example: "./hosts.json",
    }).optional(),
  }),
  { description: "createConductor(options)", example: { logsDir: "./.conductor-logs", maxRestarts: 3 } },
);

export const runConfigSchema = z
  .strictObject({
    $schema: doc(z.string(), {
      description: "the JSON Schema of this file, for editors",
      example: "./node_modules/statechart-conductor/docs/conductor.schema.json",
    }).optional(),
    logsDir: doc(nonEmpty(), {
      description: "relative to this file; default `.conductor-logs/run-<time>`",
      example: "./.conductor-logs",
    }).optional(),
    ...shared,
    probe: probeSchema.optional(),
    accounts: doc(nonEmpty(), {
      description: "accounts file (docs/accounts.md), relative to this file",
      example: "./accounts.json",
    }).optional(),
    hosts: doc(nonEmpty(), {
      description: "hosts file for remote sessions (docs/remote.md), relative to this file",
      example: "./hosts.json",
    }).optional(),
    sessions: doc(z.array(fileSessionSchema).min(1), {
      description: "the sessions to run",
      example: [{ id: "writer", agent: "codex", prompt: "Update the changelog" }],
    }),
  })
  .superRefine((cfg, ctx) => {
    const first = new Map<string, number>();
    cfg.sessions.forEach((s, i) => {
      const seen = first.get(s.id);
      if (seen === undefined) first.set(s.id, i);
      else
        ctx.addIssue({
          code: "custom",
          path: ["sessions", i, "id"],
          message: `"${s.id}" is already used by sessions[${seen}]; ids must be unique`,
        });
      // Said here, with the session's path, not at its spawn in the API's words (a field review).
      const host = (s as { host?: unknown }).host;
      if (host !== undefined && (s as { remote?: unknown }).remote === false)
        ctx.addIssue({
          code: "custom",
          path: ["sessions", i, "remote"],
          message: `"remote": false contradicts "host": "${String(host)}" (a host means a remote session); drop one of them`,
        });
      else if (host !== undefined && cfg.hosts === undefined)
        ctx.addIssue({
          code: "custom",
          path: ["sessions", i, "host"],
          message: `host "${String(host)}" needs a hosts file: add "hosts": "./hosts.json" to this config (docs/remote.md)`,
        });
    });
  })
  .meta({
    title: "statechart-conductor run config",
    description: "`conductor run config.json`: the sessions to supervise and how",
    examples: [{ sessions: [{ id: "writer", agent: "codex", prompt: "Update the changelog" }] }],
  });

export type ConductorOptionsInput = z.input<typeof conductorOptionsSchema>;
export type RunConfig = z.infer<typeof runConfigSchema>;
