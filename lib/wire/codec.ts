// Pure encode/decode of wire frames. No sockets, no I/O: the parts go in,
// a typed frame or a ProtocolError comes out, so it can be fuzzed.

import { Packr } from "msgpackr";
import { ProtocolError } from "../errors.js";
import { bad, badField, bytes, optStr, seq, str } from "./fields.js";
import { decodeVerify, verifyToWire } from "./verify-codec.js";
import { RECORD_KINDS, type RecordKind } from "../message/record.js";
import { patternsProblem } from "../security/list-match.js";
import { parseStartPoint } from "./start-point.js";
import {
  MAX_BATCH_RECORDS,
  MAX_HEADER_BYTES,
  PROTOCOL_VERSION,
  SUPPORTED_VERSIONS,
  type BatchFrame,
  type DataFrame,
  type Frame,
} from "./frames.js";

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

/** What a batch header may hold: the header limit, less room for the map around the list. */
const MAX_BATCH_HEADER_BYTES = MAX_HEADER_BYTES - 64;

/** Encode a frame into its message parts. A data body is passed through, never copied. */
export function encode(frame: Frame): Buffer[] {
  if (frame.type === "data") return [encodeDataHeader(frame), frame.body];
  if (frame.type === "batch") return encodeBatch(frame.records);
  return [packr.pack(toWire(frame))];
}

/** An upper bound of the bytes one record adds to a batch header (UTF-8 takes at most 3 bytes per UTF-16 unit). */
function batchEntryBytes(record: { list: string; messageId: string }): number {
  return 64 + 3 * (record.list.length + record.messageId.length);
}

/**
 * Records cut into runs that each fit one batch frame: within the header
 * limit, MAX_BATCH_RECORDS and `maxBodyBytes` of bodies (a record larger
 * than that on its own is a run of one).
 */
export function splitBatches<T extends { list: string; messageId: string; body: Buffer }>(
  records: readonly T[],
  maxBodyBytes = Infinity,
): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  let headerBytes = 0;
  let bodyBytes = 0;
  for (const record of records) {
    const entry = batchEntryBytes(record);
    const full =
      headerBytes + entry > MAX_BATCH_HEADER_BYTES || run.length === MAX_BATCH_RECORDS || bodyBytes + record.body.length > maxBodyBytes;
    if (run.length > 0 && full) {
      runs.push(run);
      run = [];
      headerBytes = 0;
      bodyBytes = 0;
    }
    run.push(record);
    headerBytes += entry;
    bodyBytes += record.body.length;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** Records grouped into messages for a peer: batch runs if it accepts batch frames, else one record each. */
export function messagesFor<T extends { list: string; messageId: string; body: Buffer }>(
  records: readonly T[],
  batches: boolean,
  maxBodyBytes = Infinity,
): T[][] {
  return batches ? splitBatches(records, maxBodyBytes) : records.map((record) => [record]);
}

/**
 * Records as one message, chained after `prev` (each names the one before
 * it): a data frame for one record, a batch frame for a run from splitBatches.
 */
export function encodeRun(records: ReadonlyArray<Omit<DataFrame, "type" | "prev">>, prev: number): Buffer[] {
  const chained = records.map((record, i) => ({ ...record, prev: i === 0 ? prev : records[i - 1]!.seq }));
  if (chained.length === 1) return [encodeDataHeader(chained[0]!), chained[0]!.body];
  return encodeBatch(chained);
}

/** A batch frame's parts: the records' headers in one list, their bodies copied back to back. */
function encodeBatch(records: ReadonlyArray<Omit<DataFrame, "type">>): Buffer[] {
  const recs = records.map((r) => [r.seq, r.prev, r.kind, r.list, r.messageId, r.receivedAt, r.body.length]);
  return [packr.pack({ v: PROTOCOL_VERSION, t: "batch", recs }), Buffer.concat(records.map((r) => r.body))];
}

/** The header part of a data frame. */
export function encodeDataHeader(frame: Omit<DataFrame, "body" | "type">): Buffer {
  return packr.pack({
    v: PROTOCOL_VERSION,
    t: "data",
    seq: frame.seq,
    prev: frame.prev,
    kind: frame.kind,
    list: frame.list,
    mid: frame.messageId,
    at: frame.receivedAt,
  });
}

function toWire(frame: Exclude<Frame, DataFrame | BatchFrame>): Record<string, unknown> {
  const v = PROTOCOL_VERSION;
  switch (frame.type) {
    case "hello":
      return {
        v, t: "hello", peer: frame.peer, name: frame.name, from: frame.from,
        outbox: frame.outbox, lists: frame.lists, credit: frame.credit, proof: frame.proof,
        ...(frame.batches ? { batches: true } : {}),
        ...(frame.start === undefined ? {} : { start: frame.start }),
        ...(frame.verify ? { verify: true } : {}),
      };
    case "welcome":
      return {
        v, t: "welcome", outbox: frame.outbox, head: frame.head, first: frame.first,
        from: frame.from, mode: frame.mode, pub: frame.pub, hb: frame.heartbeat,
      };
    case "fetch":
      return { v, t: "fetch", from: frame.from, credit: frame.credit };
    case "credit":
      return { v, t: "credit", bytes: frame.bytes };
    case "ack":
      return { v, t: "ack", seq: frame.seq };
    case "hb":
      return frame.dead === undefined ? { v, t: "hb", seq: frame.seq } : { v, t: "hb", seq: frame.seq, dead: frame.dead };
    case "challenge":
      return { v, t: "challenge", nonce: frame.nonce };
    case "err":
      return { v, t: "err", code: frame.code, msg: frame.message, detail: frame.detail };
    case "pass":
      return { v, t: "pass", seq: frame.seq, prev: frame.prev };
    case "bye":
      return { v, t: "bye" };
    default:
      return verifyToWire(frame, v);
  }
}

/** Decode message parts into a frame. Throws ProtocolError for anything malformed. */
export function decode(parts: readonly Buffer[]): Frame {
  const head = parts[0];
  if (head === undefined || head.length === 0) throw bad("empty message");
  if (head.length > MAX_HEADER_BYTES) throw new ProtocolError("TOO_LARGE", `header of ${head.length} bytes`);
  const h = unpackHeader(head);
  if (h.v === undefined) throw bad("header has no protocol version");
  if (h.v !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      "BAD_VERSION",
      `protocol version ${String(h.v)} is not supported (supported: ${SUPPORTED_VERSIONS.join(", ")})`,
    );
  }
  const t = h.t;
  if (t === "data") {
    if (parts.length !== 2) throw bad(`data frame has ${parts.length} parts, expected 2`);
    return decodeData(h, parts[1] as Buffer);
  }
  if (t === "batch") {
    if (parts.length !== 2) throw bad(`batch frame has ${parts.length} parts, expected 2`);
    return decodeBatch(h, parts[1] as Buffer);
  }
  if (parts.length !== 1) throw bad(`${String(t)} frame has ${parts.length} parts, expected 1`);
  switch (t) {
    case "hello":
      return {
        type: "hello",
        peer: str(h, "peer", 1),
        name: optStr(h, "name") ?? "",
        from: seq(h, "from"),
        outbox: h.outbox === null || h.outbox === undefined ? null : str(h, "outbox", 1),
        lists: h.lists === null || h.lists === undefined ? null : patterns(h, "lists"),
        credit: seq(h, "credit"),
        proof: bytes(h, "proof"),
        ...(h.batches === true ? { batches: true as const } : {}),
        ...(h.start === undefined || h.start === null ? {} : { start: startPoint(h, "start") }),
        ...(h.verify === true ? { verify: true as const } : {}),
      };
    case "welcome":
      return {
        type: "welcome",
        outbox: str(h, "outbox", 1),
        head: seq(h, "head"),
        first: seq(h, "first"),
        from: seq(h, "from"),
        mode: h.mode === "pub" || h.mode === "router" ? h.mode : badField("mode"),
        pub: h.pub === null || h.pub === undefined ? null : str(h, "pub", 1),
        heartbeat: seq(h, "hb"),
      };
    case "fetch":
      return { type: "fetch", from: seq(h, "from"), credit: seq(h, "credit") };
    case "credit":
      return { type: "credit", bytes: seq(h, "bytes") };
    case "ack":
      return { type: "ack", seq: seq(h, "seq") };
    case "hb":
      return h.dead === undefined || h.dead === null ? { type: "hb", seq: seq(h, "seq") } : { type: "hb", seq: seq(h, "seq"), dead: seq(h, "dead") };
    case "challenge": {
      const nonce = bytes(h, "nonce");
      if (nonce.length === 0) badField("nonce");
      return { type: "challenge", nonce };
    }
    case "err":
      return { type: "err", code: str(h, "code", 1), message: optStr(h, "msg") ?? "", detail: optStr(h, "detail") ?? null };
    case "pass": {
      const frame = { type: "pass" as const, seq: seq(h, "seq"), prev: seq(h, "prev") };
      if (frame.prev >= frame.seq) throw bad(`pass frame prev ${frame.prev} is not below seq ${frame.seq}`);
      return frame;
    }
    case "bye":
      return { type: "bye" };
    default:
      return decodeVerify(t, h) ?? unknownType(t);
  }
}

function unknownType(t: unknown): never {
  throw new ProtocolError("UNKNOWN_TYPE", `unknown frame type ${JSON.stringify(String(t)).slice(0, 80)}`);
}

function decodeData(h: Record<string, unknown>, body: Buffer): DataFrame {
  const kind = h.kind;
  if (!RECORD_KINDS.includes(kind as RecordKind)) badField("kind");
  const frame: DataFrame = {
    type: "data",
    seq: seq(h, "seq"),
    prev: seq(h, "prev"),
    kind: kind as RecordKind,
    list: str(h, "list", 1),
    messageId: str(h, "mid", 1),
    receivedAt: seq(h, "at"),
    body,
  };
  if (frame.prev >= frame.seq) throw bad(`data frame prev ${frame.prev} is not below seq ${frame.seq}`);
  return frame;
}

/** A batch is its records: each one checked as a data frame, its body a view of the second part. */
function decodeBatch(h: Record<string, unknown>, bodies: Buffer): BatchFrame {
  const recs = h.recs;
  if (!Array.isArray(recs) || recs.length === 0 || recs.length > MAX_BATCH_RECORDS) badField("recs");
  let offset = 0;
  const records = (recs as unknown[]).map((r) => {
    if (!Array.isArray(r) || r.length !== 7) badField("recs");
    const [seq, prev, kind, list, mid, at, size] = r as unknown[];
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0 || offset + size > bodies.length) {
      throw bad("batch record sizes do not match its bodies");
    }
    const body = bodies.subarray(offset, offset + size);
    offset += size;
    return decodeData({ seq, prev, kind, list, mid, at }, body);
  });
  if (offset !== bodies.length) throw bad("batch record sizes do not match its bodies");
  return { type: "batch", records };
}

function unpackHeader(head: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = packr.unpack(head);
  } catch (err) {
    throw bad(`header is not msgpack (${err instanceof Error ? err.message : String(err)})`);
  }
  const proto = value === null || typeof value !== "object" ? undefined : Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw bad("header is not a map");
  return value as Record<string, unknown>;
}

/** List patterns, within the bounds that keep matching them cheap (list-match.ts). */
function patterns(h: Record<string, unknown>, name: string): string[] {
  const value = h[name];
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) badField(name);
  const problem = patternsProblem(value as string[]);
  if (problem !== null) throw bad(`field ${name}: ${problem}`);
  return value as string[];
}

/** A start point, in the notation start-point.ts parses (the publisher resolves it). */
function startPoint(h: Record<string, unknown>, name: string): string {
  const value = str(h, name, 1);
  const parsed = parseStartPoint(value);
  if (typeof parsed === "string") throw bad(`field ${name}: ${parsed}`);
  return value;
}
