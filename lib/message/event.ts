// List events (a list created, an owner added, a member subscribed, ...):
// what one is, and the check that turns an event's JSON into the record
// the outbox stores. Pure: the id and the time come from the caller's
// defaults when the event has none.
//
// An event is stored under the record Message-ID `event:<id>`: unique per
// list like a Message-ID, so the same event published twice is stored once,
// and never a real message's (rfc5322 refuses ids that start with `event:`).

import { InvalidMessageError } from "../errors.js";
import { validateListName } from "./rfc5322.js";

export const EVENT_TYPES = [
  "list-created",
  "list-deleted",
  "owner-added",
  "owner-removed",
  "moderator-added",
  "moderator-removed",
  "member-subscribed",
  "member-unsubscribed",
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** An event's JSON body. Other fields are kept as they are. */
export interface ListEvent {
  id: string;
  type: EventType;
  list: string;
  /** ISO-8601 time of the event. */
  at: string;
  address?: string;
  display_name?: string;
  [field: string]: unknown;
}

/** What the outbox stores for an event. */
export interface EventRecord {
  list: string;
  messageId: string;
  /** The event as one line of JSON (id, type, list and at first). */
  body: Buffer;
  event: ListEvent;
}

/** The prefix that sets event records' Message-IDs apart from messages'. */
export const EVENT_ID_PREFIX = "event:";

/** An id: 1 to 200 characters, no ASCII control character (it reaches environments and logs). */
const EVENT_ID = /^[^\x00-\x1f\x7f]{1,200}$/;

/** Types that name the address they concern. */
const ADDRESS_TYPES: ReadonlySet<EventType> = new Set(EVENT_TYPES.filter((t) => !t.startsWith("list-")));

export interface EventDefaults {
  /** The id of an event that has none (a random UUID). */
  id: () => string;
  /** The time of an event that has none (now, ISO-8601 UTC). */
  at: () => string;
}

/** The record Message-ID an event is stored under. */
export function eventMessageId(id: string): string {
  return `${EVENT_ID_PREFIX}${id}`;
}

/**
 * Check an event's JSON and fill in `id` and `at` when absent. Throws
 * InvalidMessageError (exit 65): BAD_EVENT for invalid JSON, an unknown
 * type or a malformed field, BAD_LIST for a missing or invalid list.
 */
export function parseEvent(json: Buffer | string, defaults: EventDefaults): EventRecord {
  const raw = parseJson(typeof json === "string" ? json : json.toString("utf8"));
  const type = raw.type;
  if (typeof type !== "string" || !(EVENT_TYPES as readonly string[]).includes(type)) {
    const given = type === undefined ? "no \"type\"" : `unknown type ${JSON.stringify(type)}`;
    throw bad(`the event has ${given}: use one of ${EVENT_TYPES.join(", ")}`);
  }
  if (raw.list === undefined) throw new InvalidMessageError("BAD_LIST", "the event has no \"list\"");
  if (typeof raw.list !== "string") throw new InvalidMessageError("BAD_LIST", "the event's \"list\" must be a string");
  const list = validateListName(raw.list);
  const id = raw.id === undefined ? defaults.id() : raw.id;
  if (typeof id !== "string" || !EVENT_ID.test(id)) {
    throw bad("the event's \"id\" must be a string of 1 to 200 characters without control characters");
  }
  const at = raw.at === undefined ? defaults.at() : raw.at;
  if (typeof at !== "string" || Number.isNaN(Date.parse(at))) throw bad("the event's \"at\" must be an ISO-8601 time");
  for (const field of ["address", "display_name"] as const) {
    if (raw[field] !== undefined && typeof raw[field] !== "string") throw bad(`the event's "${field}" must be a string`);
  }
  if (ADDRESS_TYPES.has(type as EventType) && (typeof raw.address !== "string" || raw.address === "")) {
    throw bad(`a ${type} event needs an "address"`);
  }
  // id, type, list and at lead, in that order; the rest follow as given.
  const lead = { id, type, list, at };
  const event = { ...lead, ...raw, ...lead } as ListEvent;
  return { list, messageId: eventMessageId(id), body: Buffer.from(JSON.stringify(event)), event };
}

function parseJson(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw bad(`the event is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad("the event must be a JSON object");
  return value as Record<string, unknown>;
}

function bad(message: string): InvalidMessageError {
  return new InvalidMessageError("BAD_EVENT", message);
}
