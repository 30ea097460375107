// Accepting a message: header block, Message-ID, derived ids, list names.

import { expect } from "chai";
import { InvalidMessageError, type InvalidMessageReason } from "../../lib/errors.js";
import { acceptMessage, derivedMessageId, headerLines, isUsableMessageId, validateListName } from "../../lib/message/rfc5322.js";
import { makeMessage } from "../helpers/messages.js";

const msg = (text: string): Buffer => Buffer.from(text, "latin1");

function rejection(fn: () => unknown): InvalidMessageReason {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(InvalidMessageError);
    return (err as InvalidMessageError).code;
  }
  throw new Error("expected an InvalidMessageError");
}

describe("acceptMessage", () => {
  it("finds the Message-ID of a generated test message", () => {
    const m = makeMessage("dev", 3, 2048);
    expect(acceptMessage(m.body)).to.deep.equal({ messageId: m.messageId, derivedId: false });
  });

  it("matches the header name case-insensitively and ignores look-alikes", () => {
    const body = msg("X-Message-ID: <x@y>\nResent-Message-ID: <r@y>\nmessage-id : <real@y>\n\nbody\n");
    expect(acceptMessage(body).messageId).to.equal("<real@y>");
    expect(acceptMessage(msg("MESSAGE-ID: <up@y>\n\n")).messageId).to.equal("<up@y>");
  });

  it("unfolds a folded Message-ID header", () => {
    expect(acceptMessage(msg("Subject: s\nMessage-ID:\n   <folded@example.org>\nTo: t\n\nb\n")).messageId).to.equal(
      "<folded@example.org>",
    );
  });

  it("takes the bracketed id and leaves comments and spaces out", () => {
    expect(acceptMessage(msg("Message-ID:   <a.b@c>  (generated)\n\n")).messageId).to.equal("<a.b@c>");
    expect(acceptMessage(msg("Message-ID: bare@id \n\n")).messageId).to.equal("bare@id");
  });

  it("reads CRLF messages", () => {
    const body = msg("From: a@b\r\nMessage-ID: <crlf@x>\r\nSubject: s\r\n\r\nline\r\n");
    expect(acceptMessage(body)).to.deep.equal({ messageId: "<crlf@x>", derivedId: false });
    expect(headerLines(body)).to.deep.equal(["From: a@b", "Message-ID: <crlf@x>", "Subject: s"]);
  });

  it("skips a leading mbox From_ line", () => {
    const body = msg("From sender@example.org Mon Nov 30 12:00:00 2026\nMessage-ID: <mbox@x>\n\nb\n");
    expect(acceptMessage(body).messageId).to.equal("<mbox@x>");
  });

  it("does not look for the Message-ID in the body", () => {
    const body = msg("Subject: no id\n\nMessage-ID: <in-body@x>\n");
    expect(acceptMessage(body)).to.deep.equal({ messageId: derivedMessageId(body), derivedId: true });
  });

  it("derives a stable id from the content when there is none, without changing the bytes", () => {
    const body = msg("Subject: hello\nMessage-ID:   \n\nbody\n");
    const copy = Buffer.from(body);
    const first = acceptMessage(body);
    expect(first.derivedId).to.equal(true);
    expect(first.messageId).to.match(/^<[0-9a-f]{64}@mq-archive\.invalid>$/);
    expect(acceptMessage(Buffer.from(copy)).messageId).to.equal(first.messageId);
    expect(acceptMessage(msg("Subject: hello\nMessage-ID:   \n\nbody!\n")).messageId).to.not.equal(first.messageId);
    expect(body.equals(copy)).to.equal(true);
  });

  // Regression test (issue 12, finding 4): a NUL in the Message-ID was kept, and an exec sink could never put it into its environment.
  it("derives the id, keeping the bytes, when the Message-ID holds a control character", () => {
    for (const id of ["<a\x00b@x>", "<a\tb@x>", "<a\x1b[31m@x>", "<a\x7f@x>", "<a\rb@x>", "\x00", "bare\x01id"]) {
      const body = msg(`Subject: s\nMessage-ID: ${id}\n\nbody\n`);
      const copy = Buffer.from(body);
      expect(acceptMessage(body), JSON.stringify(id)).to.deep.equal({ messageId: derivedMessageId(body), derivedId: true });
      expect(body.equals(copy)).to.equal(true);
    }
    // The id is what is checked: a usable bracketed id beside a control character, and 8-bit ids, are kept.
    expect(acceptMessage(msg("Message-ID: <ok@x> (\x00)\n\n")).messageId).to.equal("<ok@x>");
    const utf8 = Buffer.from("Message-ID: <caf\u00e9@x>\n\n", "utf8");
    expect(acceptMessage(utf8)).to.deep.equal({ messageId: "<caf\xc3\xa9@x>", derivedId: false });
  });

  it("rejects an empty message", () => {
    expect(rejection(() => acceptMessage(Buffer.alloc(0)))).to.equal("EMPTY_MESSAGE");
  });

  it("rejects a message that does not start with a header block", () => {
    expect(rejection(() => acceptMessage(msg("just some text\n\nmore\n")))).to.equal("NO_HEADERS");
    expect(rejection(() => acceptMessage(msg("\nSubject: late\n\n")))).to.equal("NO_HEADERS");
    expect(rejection(() => acceptMessage(msg(" folded: first\n\n")))).to.equal("NO_HEADERS");
    expect(rejection(() => acceptMessage(msg(":no name\n\n")))).to.equal("NO_HEADERS");
    expect(rejection(() => acceptMessage(Buffer.from([0xff, 0xfe, 0x00, 0x0a])))).to.equal("NO_HEADERS");
  });

  it("rejects a message over the size limit, and accepts one at it", () => {
    const body = msg("Message-ID: <s@x>\n\n0123456789\n");
    expect(rejection(() => acceptMessage(body, body.length - 1))).to.equal("TOO_LARGE");
    expect(acceptMessage(body, body.length).messageId).to.equal("<s@x>");
  });
});

describe("isUsableMessageId", () => {
  it("takes 1 to 995 characters without ASCII control characters", () => {
    for (const ok of ["<a@b>", "a b", "x".repeat(995), "<\xe9\x85@x>"]) expect(isUsableMessageId(ok), JSON.stringify(ok)).to.equal(true);
    for (const bad of ["", "x".repeat(996), "<a\x00@b>", "<a\n@b>", "<a\x1f@b>", "<a\x7f@b>"]) {
      expect(isUsableMessageId(bad), JSON.stringify(bad)).to.equal(false);
    }
  });
});

describe("headerLines", () => {
  it("keeps folded fields together and stops at the blank line", () => {
    const body = msg("Subject: one\n two\nTo: x\n\nNot: a header\n");
    expect(headerLines(body)).to.deep.equal(["Subject: one\n two", "To: x"]);
  });
});

describe("validateListName", () => {
  it("accepts list names and addresses", () => {
    for (const ok of ["dev", "dev@lists.example.org", "a", "A0._@+=-", "x".repeat(255)]) {
      expect(validateListName(ok)).to.equal(ok);
    }
  });

  it("rejects names that are unsafe as file names", () => {
    for (const bad of ["", "a/b", "..", "a..b", ".hidden", "-x", "@x", "a b", "a\\b", "dev\n", "x".repeat(256), "dév"]) {
      expect(rejection(() => validateListName(bad)), JSON.stringify(bad)).to.equal("BAD_LIST");
    }
  });
});
