// The wire's error table: what a receiver does with each code.

import { expect } from "chai";
import { NotAuthorizedError, OutboxReplacedError, ProtocolError } from "../../lib/errors.js";
import { stopError } from "../../lib/subscriber/outbox-identity.js";
import { WIRE_ERRORS, wireErrorAction, type WireErrorCode } from "../../lib/wire/errors.js";

describe("wire error codes", () => {
  it("say for each code whether the receiver stops, says hello again, retries or only logs", () => {
    expect(WIRE_ERRORS).to.deep.equal({
      BAD_FRAME: "log",
      BAD_VERSION: "stop",
      UNKNOWN_TYPE: "log",
      TOO_LARGE: "log",
      NO_SESSION: "hello",
      NOT_AUTHORIZED: "stop",
      BUSY: "retry",
      OUTBOX_MISMATCH: "stop",
      POSITION_AHEAD: "stop",
    });
  });

  it("only log a code the receiver does not know (a newer publisher's), never stop on it", () => {
    for (const code of ["SOMETHING_NEW", "", "constructor", "__proto__", "toString"]) expect(wireErrorAction(code), code).to.equal("log");
  });

  it("turn each stopping code into a typed error the subscriber ends with", () => {
    const followed = { outbox: "5f0c2a9e-1b7d-4c3e-9a51-0d2e6f7a8b90", position: 7 };
    const err = (code: WireErrorCode, detail: string | null = null) => stopError({ type: "err", code, message: "m", detail }, followed);
    const stopping = (Object.keys(WIRE_ERRORS) as WireErrorCode[]).filter((c) => WIRE_ERRORS[c] === "stop");
    expect(stopping.sort()).to.deep.equal(["BAD_VERSION", "NOT_AUTHORIZED", "OUTBOX_MISMATCH", "POSITION_AHEAD"]);
    expect(err("OUTBOX_MISMATCH", "other")).to.be.instanceOf(OutboxReplacedError).and.have.property("message").that.includes("--accept-outbox other");
    expect(err("POSITION_AHEAD", "3")).to.be.instanceOf(OutboxReplacedError).and.have.property("message").that.includes("head is 3");
    expect(err("NOT_AUTHORIZED")).to.be.instanceOf(NotAuthorizedError);
    expect(err("BAD_VERSION")).to.be.instanceOf(ProtocolError);
  });
});
