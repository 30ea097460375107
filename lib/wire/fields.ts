// The field checks every decoder shares: a header's values, validated by
// type and bound, or a ProtocolError naming the field.

import { ProtocolError } from "../errors.js";

export const MAX_STRING = 4096;

export function bad(message: string): ProtocolError {
  return new ProtocolError("BAD_FRAME", message);
}

export function badField(name: string): never {
  throw bad(`field ${name} is missing or invalid`);
}

export function seq(h: Record<string, unknown>, name: string): number {
  const value = h[name];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) badField(name);
  return value as number;
}

export function str(h: Record<string, unknown>, name: string, min: number): string {
  const value = h[name];
  if (typeof value !== "string" || value.length < min || value.length > MAX_STRING) badField(name);
  return value as string;
}

export function optStr(h: Record<string, unknown>, name: string): string | undefined {
  return h[name] === undefined || h[name] === null ? undefined : str(h, name, 0);
}

export function bytes(h: Record<string, unknown>, name: string): Uint8Array {
  const value = h[name];
  if (value === undefined || value === null) return new Uint8Array(0);
  if (!(value instanceof Uint8Array) || value.length > MAX_STRING) badField(name);
  return value as Uint8Array;
}
