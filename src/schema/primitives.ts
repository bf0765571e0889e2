/**
 * The value shapes every input shares (API options, the run-config file, accounts and hosts
 * files): durations a timer can hold, session ids that stay file names, argv of strings.
 * Each carries its documentation (`description`, `examples`, `default`) as zod metadata, so
 * error examples, the editor JSON Schema and docs/reference.md all come from one place.
 */
import { z } from "zod";
import { KEY_BYTES, unknownKeys } from "../../machines/session.keys.js";

/**
 * The longest delay `setTimeout` honours: Node clamps anything above 2^31−1 ms (~24.8 days) to
 * 1 ms with only a warning, so `stallMs: 3e9` would fire at once and flap a healthy session.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface FieldDoc {
  description: string;
  /** A correct value, shown in errors and the docs. */
  example: unknown;
  /** The value used when the field is absent (documentation only: policies fill defaults). */
  default?: unknown;
  /** What a missing required value is called in errors ("session id is required"). */
  label?: string;
  /** Accepted but deprecated or only for seed compatibility: said in the docs. */
  note?: string;
}

/** Attaches the field's documentation; `examples` and `default` are JSON Schema keywords. */
export function doc<T extends z.ZodType>(schema: T, d: FieldDoc): T {
  return schema.meta({
    description: d.note ? `${d.description} (${d.note})` : d.description,
    examples: [d.example],
    ...(d.default !== undefined ? { default: d.default } : {}),
    ...(d.label ? { label: d.label } : {}),
  }) as T;
}

/** A delay in whole milliseconds, 0 … 2^31−1. */
export const timerMs = () =>
  z
    .number()
    .int()
    .min(0)
    .max(MAX_TIMER_MS, `must be at most ${MAX_TIMER_MS} ms (~24.8 days), the longest delay a timer can hold`);

/** A delay of at least 1 ms. */
export const positiveTimerMs = () =>
  z
    .number()
    .int()
    .min(1)
    .max(MAX_TIMER_MS, `must be at most ${MAX_TIMER_MS} ms (~24.8 days), the longest delay a timer can hold`);

/** A count (restarts, failures): a whole number ≥ 0. */
export const count = () => z.number().int().min(0).max(MAX_TIMER_MS);

/**
 * Session ids become file names (`<logsDir>/<id>.out.log`), tmux session names and mesh agent
 * ids: a letter or digit, then letters, digits, `.`, `_`, `-`, at most 64 characters. No `/`,
 * no leading `.`, so an id can never name a path outside `logsDir`.
 */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const SESSION_ID_RULE =
  'a letter or digit, then letters, digits, ".", "_" or "-", at most 64 characters (no "/", no leading ".")';
export const sessionId = () => z.string().regex(SESSION_ID_PATTERN, `is not a valid session id: ${SESSION_ID_RULE}`);

/** execve cannot carry a NUL byte: node-pty would truncate or abort on one. */
const noNul = (s: string) => !s.includes("\0");

/**
 * Linux takes at most 128 KiB in one argv or environment string, its NUL included (MAX_ARG_STRLEN,
 * 32 pages): a longer one fails the exec with E2BIG, on every run, far from the option that caused it.
 */
export const MAX_ARG_BYTES = 128 * 1024;
const fitsExec = (s: string, extra = 0) => Buffer.byteLength(s, "utf8") + extra + 1 <= MAX_ARG_BYTES;
const TOO_LONG = `is longer than Linux takes in one argument or environment entry (128 KiB, MAX_ARG_STRLEN): put it in a file and pass the file's path`;

/** One argv element: a string (node-pty aborts natively on anything else) without NUL, that exec takes. */
const NO_NUL = "must not contain a NUL character (exec and paths end a string there)";
export const argString = () => z.string().refine(noNul, NO_NUL).refine(fitsExec, TOO_LONG);

/** Text that becomes one argv element or environment entry (a preset's prompt): exec's limit applies. */
export const execText = () => z.string().refine(noNul, NO_NUL).refine(fitsExec, TOO_LONG);

/** A command line as an argv array: at least the program, every element a string. */
export const argv = () =>
  z
    .array(argString())
    .min(1)
    .refine((a) => a[0] !== "", "argv[0] (the program) must not be empty");

export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Child environment: valid variable names, string values without NUL. */
export const envRecord = () =>
  z
    .record(
      z
        .string()
        .regex(ENV_NAME_PATTERN, 'is not a valid environment variable name (letters, digits, "_", no leading digit)'),
      z.string().refine(noNul, "must not contain a NUL character"),
    )
    // The entry exec gets is NAME=value.
    .superRefine((env, ctx) => {
      for (const [name, value] of Object.entries(env)) {
        if (!fitsExec(value, name.length + 1)) ctx.addIssue({ code: "custom", path: [name], message: TOO_LONG });
      }
    });

/** A regular expression source, compiled case-insensitively at use. */
export const regexSource = () =>
  z
    .string()
    .min(1)
    .superRefine((src, ctx) => {
      try {
        new RegExp(src, "i");
      } catch (e) {
        ctx.addIssue({
          code: "custom",
          message: `${JSON.stringify(src)} is not a valid regular expression (${(e as Error).message}); in JSON write "\\\\" for one backslash`,
        });
      }
    });

/** Text for a name, a path or a flag's value: every one of them reaches an exec, a path or a key. */
export const nonEmpty = () => z.string().min(1).refine(noNul, NO_NUL);

/**
 * The type docs/reference.md names for a value JSON Schema cannot describe (a function, an object
 * with methods): kept as `shownAs` in the metadata, which the fields' own documentation inherits.
 */
export const shownAs = <T extends z.ZodType>(schema: T, type: string): T => schema.meta({ shownAs: type }) as T;

/** A function value (API only: files cannot hold one). */
export const fn = <F extends (...args: never[]) => unknown>() =>
  shownAs(
    z.custom<F>((v) => typeof v === "function", { message: "must be a function" }),
    "function",
  );

/** Keys to type into a session: names from machines/session.keys.ts or single characters. */
export const keySequence = () =>
  z.array(z.string().min(1)).superRefine((keys, ctx) => {
    const bad = unknownKeys(keys);
    if (bad.length > 0)
      ctx.addIssue({
        code: "custom",
        message: `unknown key ${JSON.stringify(bad[0])}; use a name (${Object.keys(KEY_BYTES).join(", ")}) or one character, e.g. ["2", "Enter"]`,
      });
  });
