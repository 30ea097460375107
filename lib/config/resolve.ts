// Merge a command's options from, in order of precedence: the command line,
// MQ_ARCHIVE_* environment variables, a JSON config file (--config), and the
// declared defaults. Every value is converted and checked here, so commands
// receive typed values or the user receives an error naming the source.

import { readFileSync } from "node:fs";
import { ConfigError, UsageError } from "../errors.js";
import { KNOWN_COMMANDS, KNOWN_OPTIONS } from "./commands.js";
import { camelCase, envName, type OptionSpec, type OptionSpecs, type Resolved } from "./spec.js";
import { parseDuration, parseSize } from "./units.js";

export interface ResolveInput {
  /** The command name: its section in the config file. */
  command: string;
  /** Values given on the command line (undefined = not given). */
  cli: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** Option and command names a config file may use (default: every command's). */
  knownOptions?: ReadonlySet<string>;
  knownCommands?: ReadonlySet<string>;
}

export function resolveOptions<T extends OptionSpecs>(specs: T, input: ResolveInput): Resolved<T> {
  const env = input.env ?? process.env;
  const configPath = stringOrUndefined(input.cli.config) ?? env[envName("config")];
  const file = configPath === undefined || configPath === "" ? {} : loadConfig(configPath, input);
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const fromCli = input.cli[name] ?? input.cli[camelCase(name)];
    const fromEnv = spec.cliOnly ? undefined : env[envName(name)];
    const fromFile = spec.cliOnly ? undefined : file[name];
    const [raw, source] = isGiven(fromCli)
      ? [fromCli, `--${name}`]
      : isGiven(fromEnv)
        ? [fromEnv, envName(name)]
        : isGiven(fromFile)
          ? [fromFile, `"${name}" in ${configPath}`]
          : [spec.default, "default"];
    if (raw === undefined) {
      if (spec.required) throw new UsageError(`missing required option --${name} (${spec.describe})`);
      continue;
    }
    out[name] = convert(name, spec, raw, source);
  }
  return out as Resolved<T>;
}

function isGiven(value: unknown): boolean {
  return value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0) && value !== "";
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** The options for `command` from a JSON file: top-level keys, overridden by a section named after the command. */
function loadConfig(path: string, input: ResolveInput): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path} must hold a JSON object`);
  }
  const top = normalizeKeys(parsed as Record<string, unknown>);
  const sectionRaw = top[input.command];
  const section =
    sectionRaw !== null && typeof sectionRaw === "object" && !Array.isArray(sectionRaw)
      ? normalizeKeys(sectionRaw as Record<string, unknown>)
      : {};
  const options = input.knownOptions ?? KNOWN_OPTIONS;
  const commands = input.knownCommands ?? KNOWN_COMMANDS;
  for (const [key, value] of [...Object.entries(top), ...Object.entries(section)]) {
    const isSection = typeof value === "object" && value !== null && !Array.isArray(value);
    if (isSection ? !commands.has(key) : !options.has(key)) {
      throw new ConfigError(`config file ${path}: unknown ${isSection ? "command section" : "option"} "${key}"`);
    }
  }
  return { ...top, ...section };
}

function normalizeKeys(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    out[key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)] = value;
  }
  return out;
}

function convert(name: string, spec: OptionSpec, given: unknown, source: string): unknown {
  // An option given twice: the last one wins, as in most command-line tools.
  const raw = Array.isArray(given) && spec.type !== "array" && spec.type !== "list" ? given[given.length - 1] : given;
  const fail = (what: string): never => {
    throw new UsageError(`${source}: ${JSON.stringify(raw)} is not ${what} (${name}: ${spec.describe})`);
  };
  switch (spec.type) {
    case "string":
      return typeof raw === "string" || typeof raw === "number" ? String(raw) : fail("a string");
    case "boolean":
      if (typeof raw === "boolean") return raw;
      if (raw === "1" || raw === "true" || raw === "yes") return true;
      if (raw === "0" || raw === "false" || raw === "no") return false;
      return fail("true or false");
    case "number": {
      const n = typeof raw === "number" ? raw : Number(raw);
      return Number.isFinite(n) && typeof raw !== "boolean" ? n : fail("a number");
    }
    case "duration":
      return typeof raw === "string" || typeof raw === "number"
        ? (parseDuration(raw) ?? fail("a duration such as 500ms, 30s, 5m, 12h or 7d"))
        : fail("a duration");
    case "size":
      return typeof raw === "string" || typeof raw === "number"
        ? (parseSize(raw) ?? fail("a size such as 65536, 10KB or 64MiB"))
        : fail("a size");
    case "list": {
      const items = Array.isArray(raw) ? raw.flatMap((x) => String(x).split(",")) : String(raw).split(",");
      return items.map((s) => s.trim()).filter((s) => s !== "");
    }
    case "array":
      return (Array.isArray(raw) ? raw : [raw]).map(String);
  }
}
