// Parse a command line against an option spec with node:util parseArgs: the
// lean parser for the publish fast path (yargs costs ~90 ms to load).

import { parseArgs } from "node:util";
import { UsageError } from "../errors.js";
import type { OptionSpecs } from "./spec.js";

export interface ParsedArgv {
  values: Record<string, unknown>;
  positionals: string[];
}

export function parseArgv(specs: OptionSpecs, argv: string[]): ParsedArgv {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }> = {};
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = {
      type: spec.type === "boolean" ? "boolean" : "string",
      ...(spec.type === "array" ? { multiple: true } : {}),
      ...(spec.alias?.length === 1 ? { short: spec.alias } : {}),
    };
  }
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values, positionals };
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (see --help)`, { cause: err });
  }
}
