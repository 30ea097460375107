// Encode/decode of the verify frames (verify-frames.ts): pure, bounded,
// every field checked, so the codec fuzz covers them with the others.

import { bad, badField, MAX_STRING, seq, str } from "./fields.js";
import {
  MAX_VERIFY_ENTRIES,
  MAX_VERIFY_GET,
  MAX_VERIFY_NAMES,
  MAX_VERIFY_RANGES,
  type VerifyEntry,
  type VerifyFrame,
  type VerifyRange,
} from "./verify-frames.js";

export function verifyToWire(frame: VerifyFrame, v: number): Record<string, unknown> {
  switch (frame.type) {
    case "vlists":
      return { v, t: "vlists", after: frame.after };
    case "vnames":
      return { v, t: "vnames", lists: frame.lists, more: frame.more, acked: frame.acked, head: frame.head, since: frame.since };
    case "vsum":
      return { v, t: "vsum", q: frame.q };
    case "vsums":
      return { v, t: "vsums", sums: frame.sums, split: frame.split };
    case "ventry":
      return { v, t: "ventry", list: frame.list, from: frame.from, to: frame.to };
    case "ventries":
      return { v, t: "ventries", list: frame.list, entries: frame.entries, more: frame.more };
    case "vget":
      return { v, t: "vget", seqs: frame.seqs };
    case "vgot":
      return { v, t: "vgot", missing: frame.missing };
  }
}

/** The verify frame of type `t`, or undefined when `t` is not one. */
export function decodeVerify(t: unknown, h: Record<string, unknown>): VerifyFrame | undefined {
  switch (t) {
    case "vlists":
      return { type: "vlists", after: str(h, "after", 0) };
    case "vnames":
      return {
        type: "vnames",
        lists: array(h, "lists", MAX_VERIFY_NAMES, (x) => name(x, "lists")),
        more: bool(h, "more"),
        acked: seq(h, "acked"),
        head: seq(h, "head"),
        since: seq(h, "since"),
      };
    case "vsum":
      return { type: "vsum", q: array(h, "q", MAX_VERIFY_RANGES, range, 1) };
    case "vsums":
      return { type: "vsums", sums: array(h, "sums", MAX_VERIFY_RANGES, sum), split: bool(h, "split") };
    case "ventry": {
      const [list, from, to] = range([h.list, h.from, h.to]);
      return { type: "ventry", list, from, to };
    }
    case "ventries":
      return { type: "ventries", list: str(h, "list", 1), entries: array(h, "entries", MAX_VERIFY_ENTRIES, entry), more: bool(h, "more") };
    case "vget":
      return { type: "vget", seqs: array(h, "seqs", MAX_VERIFY_GET, (x) => nat(x, "seqs"), 1) };
    case "vgot":
      return { type: "vgot", missing: array(h, "missing", MAX_VERIFY_GET, (x) => nat(x, "missing")) };
    default:
      return undefined;
  }
}

function array<T>(h: Record<string, unknown>, field: string, max: number, item: (x: unknown) => T, min = 0): T[] {
  const value = h[field];
  if (!Array.isArray(value) || value.length < min || value.length > max) badField(field);
  return (value as unknown[]).map(item);
}

function bool(h: Record<string, unknown>, field: string): boolean {
  const value = h[field];
  if (typeof value !== "boolean") badField(field);
  return value as boolean;
}

function nat(x: unknown, field: string): number {
  if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 0) badField(field);
  return x as number;
}

function u32(x: unknown, field: string): number {
  if (typeof x !== "number" || !Number.isInteger(x) || x < 0 || x > 0xffff_ffff) badField(field);
  return x as number;
}

function name(x: unknown, field: string): string {
  if (typeof x !== "string" || x.length < 1 || x.length > MAX_STRING) badField(field);
  return x as string;
}

function range(x: unknown): VerifyRange {
  if (!Array.isArray(x) || x.length !== 3) badField("q");
  const [list, from, to] = x as unknown[];
  const r: VerifyRange = [name(list, "list"), nat(from, "from"), nat(to, "to")];
  if (r[1] > r[2]) throw bad(`range ${r[1]}..${r[2]} is empty`);
  return r;
}

function sum(x: unknown): [number, number, number] {
  if (!Array.isArray(x) || x.length !== 3) badField("sums");
  const [count, hi, lo] = x as unknown[];
  return [nat(count, "sums"), u32(hi, "sums"), u32(lo, "sums")];
}

function entry(x: unknown): VerifyEntry {
  if (!Array.isArray(x) || x.length !== 4) badField("entries");
  const [s, hi, lo, mid] = x as unknown[];
  if (typeof hi !== "number" || !Number.isInteger(hi) || hi < -0x8000_0000 || hi > 0x7fff_ffff) badField("entries");
  return [nat(s, "entries"), hi as number, u32(lo, "entries"), mid === null ? null : name(mid, "entries")];
}
