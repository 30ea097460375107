// The shape of a command's options, declared once and used by both the full
// yargs CLI and the lean `publish` fast path, so help, defaults, environment
// variables and config files always agree.

export type OptionType = "string" | "boolean" | "number" | "duration" | "size" | "list" | "array";

export interface OptionSpec {
  type: OptionType;
  describe: string;
  /** Default in the option's own notation ("7d", "64MiB", true). */
  default?: string | number | boolean;
  required?: boolean;
  alias?: string;
  /** Not settable from config files or the environment (e.g. a positional file). */
  cliOnly?: boolean;
}

export type OptionSpecs = Record<string, OptionSpec>;

type ValueOf<S extends OptionSpec> = S["type"] extends "boolean"
  ? boolean
  : S["type"] extends "number" | "duration" | "size"
    ? number
    : S["type"] extends "list" | "array"
      ? string[]
      : string;

/** The resolved options of a command: required and defaulted ones are always present. */
export type Resolved<T extends OptionSpecs> = {
  [K in keyof T]: T[K] extends { required: true } | { default: string | number | boolean }
    ? ValueOf<T[K]>
    : ValueOf<T[K]> | undefined;
};

/** MQ_ARCHIVE_LOG_LEVEL for log-level. */
export function envName(option: string): string {
  return `MQ_ARCHIVE_${option.toUpperCase().replace(/-/g, "_")}`;
}

export function camelCase(option: string): string {
  return option.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
