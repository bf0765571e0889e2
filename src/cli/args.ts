/** A small argv parser with the messages this CLI wants ("unknown option", what a flag needs). */

export interface FlagSpec {
  type: "boolean" | "string";
  short?: string;
  /** For a string flag: `--inspect` alone is allowed and gives this value. */
  bare?: string;
  /** Shown in "needs a value" errors, e.g. "a directory, e.g. --logs-dir ./logs". */
  hint?: string;
  /** May be given several times (values collected). */
  many?: boolean;
}

export type Flags = Record<string, string | boolean | string[] | undefined>;

export class UsageError extends Error {}

export function parseArgs(argv: string[], spec: Record<string, FlagSpec>): { flags: Flags; positionals: string[] } {
  const flags: Flags = {};
  const positionals: string[] = [];
  const byShort = new Map(Object.entries(spec).flatMap(([k, s]) => (s.short ? [[s.short, k] as const] : [])));
  const set = (name: string, value: string | boolean) => {
    const s = spec[name] as FlagSpec;
    if (s.many) flags[name] = [...((flags[name] as string[] | undefined) ?? []), String(value)];
    else flags[name] = value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    // `-n=5` as `--lines=5`: the short name is what comes before its "=" too.
    const raw = arg.startsWith("--")
      ? arg.slice(2, eq > 0 ? eq : undefined)
      : (byShort.get(arg.slice(1, eq > 0 ? eq : undefined)) ?? "");
    const name = arg.startsWith("--no-") && spec[arg.slice(5)]?.type === "boolean" ? arg.slice(5) : raw;
    const s = spec[name];
    if (!s) throw new UsageError(`unknown option "${eq > 0 ? arg.slice(0, eq) : arg}"`);
    if (s.type === "boolean") {
      if (eq > 0) throw new UsageError(`--${name} takes no value`);
      set(name, !arg.startsWith("--no-"));
      continue;
    }
    if (eq > 0) {
      set(name, arg.slice(eq + 1));
      continue;
    }
    const value = argv[i + 1];
    if (s.bare !== undefined && (value === undefined || value.startsWith("-") || !s.many)) {
      set(name, s.bare);
      continue;
    }
    if (value === undefined || (value.startsWith("-") && value !== "-"))
      throw new UsageError(`--${name} needs ${s.hint ?? "a value"}`);
    set(name, value);
    i++;
  }
  return { flags, positionals };
}
