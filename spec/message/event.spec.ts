import { expect } from "chai";
import { InvalidMessageError } from "../../lib/errors.js";
import { EVENT_TYPES, parseEvent } from "../../lib/message/event.js";
import { acceptMessage } from "../../lib/message/rfc5322.js";

const DEFAULTS = { id: () => "generated-id", at: () => "2026-12-05T19:00:00.000Z" };

function refusal(json: string): InvalidMessageError {
  try {
    parseEvent(json, DEFAULTS);
  } catch (err) {
    expect(err).to.be.instanceOf(InvalidMessageError);
    return err as InvalidMessageError;
  }
  expect.fail(`${json} was accepted`);
}

describe("parseEvent", () => {
  it("keeps the eight type names", () => {
    expect(EVENT_TYPES).to.deep.equal([
      "list-created", "list-deleted", "owner-added", "owner-removed",
      "moderator-added", "moderator-removed", "member-subscribed", "member-unsubscribed",
    ]);
  });

  it("fills in id and at when absent, and stores the event under event:<id>", () => {
    const e = parseEvent(Buffer.from('{"type":"list-created","list":"dev@lists.example.org"}'), DEFAULTS);
    expect(e.list).to.equal("dev@lists.example.org");
    expect(e.messageId).to.equal("event:generated-id");
    expect(e.body.toString()).to.equal('{"id":"generated-id","type":"list-created","list":"dev@lists.example.org","at":"2026-12-05T19:00:00.000Z"}');
  });

  it("keeps a given id, at, address, display_name and other fields; id, type, list and at lead", () => {
    const json = JSON.stringify({ display_name: "Ann", address: "ann@example.org", extra: { n: 1 }, at: "2026-01-02T03:04:05Z", list: "dev", type: "member-subscribed", id: "e-1" });
    const e = parseEvent(json, DEFAULTS);
    expect(e.messageId).to.equal("event:e-1");
    expect(e.body.toString()).to.equal(
      '{"id":"e-1","type":"member-subscribed","list":"dev","at":"2026-01-02T03:04:05Z","display_name":"Ann","address":"ann@example.org","extra":{"n":1}}',
    );
    expect(e.event).to.deep.equal(JSON.parse(e.body.toString()));
  });

  it("gives the same record for the same event published twice with its id", () => {
    const json = '{"id":"x","type":"owner-added","list":"dev","address":"o@example.org","at":"2026-01-01T00:00:00Z"}';
    expect(parseEvent(json, DEFAULTS)).to.deep.equal(parseEvent(json, { id: () => "other", at: () => "2000-01-01T00:00:00Z" }));
  });

  const cases: Array<[string, string, RegExp]> = [
    ["invalid JSON", '{"type":', /^the event is not valid JSON: /],
    ["empty input", "", /^the event is not valid JSON: /],
    ["an array", "[]", /^the event must be a JSON object$/],
    ["a string", '"list-created"', /^the event must be a JSON object$/],
    ["no type", '{"list":"dev"}', /^the event has no "type": use one of list-created, list-deleted, /],
    ["an unknown type", '{"type":"list-renamed","list":"dev"}', /^the event has unknown type "list-renamed": use one of list-created, /],
    ["a type of another case", '{"type":"List-Created","list":"dev"}', /unknown type "List-Created"/],
    ["a bad id", '{"type":"list-created","list":"dev","id":""}', /^the event's "id" must be a string of 1 to 200 characters/],
    ["an id with a newline", '{"type":"list-created","list":"dev","id":"a\\nb"}', /"id" must be/],
    ["a numeric id", '{"type":"list-created","list":"dev","id":7}', /"id" must be/],
    ["a bad at", '{"type":"list-created","list":"dev","at":"yesterday"}', /^the event's "at" must be an ISO-8601 time$/],
    ["a non-string address", '{"type":"list-created","list":"dev","address":1}', /^the event's "address" must be a string$/],
    ["a member event without address", '{"type":"member-subscribed","list":"dev"}', /^a member-subscribed event needs an "address"$/],
  ];
  for (const [what, json, message] of cases) {
    it(`refuses ${what} (BAD_EVENT, exit 65)`, () => {
      const err = refusal(json);
      expect(err.code).to.equal("BAD_EVENT");
      expect(err.exitStatus).to.equal(65);
      expect(err.message).to.match(message);
    });
  }

  const lists: Array<[string, string, RegExp]> = [
    ["a missing list", '{"type":"list-created"}', /^the event has no "list"$/],
    ["a list that is no string", '{"type":"list-created","list":["dev"]}', /^the event's "list" must be a string$/],
    ["an invalid list", '{"type":"list-created","list":"../dev"}', /^invalid list name "\.\.\/dev"/],
  ];
  for (const [what, json, message] of lists) {
    it(`refuses ${what} (BAD_LIST, exit 65)`, () => {
      const err = refusal(json);
      expect(err.code).to.equal("BAD_LIST");
      expect(err.exitStatus).to.equal(65);
      expect(err.message).to.match(message);
    });
  }
});

describe("event ids and Message-IDs", () => {
  it("a message whose Message-ID poses as an event's gets a derived id instead", () => {
    const accepted = acceptMessage(Buffer.from("Message-ID: event:e-1\nFrom: a@example.org\n\nbody\n"));
    expect(accepted.derivedId).to.equal(true);
    expect(accepted.messageId).to.not.match(/^event:/);
  });
});
