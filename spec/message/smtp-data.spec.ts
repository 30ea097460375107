import { expect } from "chai";
import fc from "fast-check";
import { hasEightBit, smtpData } from "../../lib/message/smtp-data.js";

const b = (s: string): Buffer => Buffer.from(s, "latin1");

describe("smtpData: a message as SMTP carries it", () => {
  it("makes every line break CR LF: LF, CR LF and a lone CR alike", () => {
    expect(smtpData(b("a\nb\r\nc\rd\n"))).to.deep.equal(b("a\r\nb\r\nc\r\nd\r\n"));
  });

  it("ends a message that has no final line break with CR LF", () => {
    expect(smtpData(b("Subject: x\n\nno end"))).to.deep.equal(b("Subject: x\r\n\r\nno end\r\n"));
    expect(smtpData(b("ends in CR\r"))).to.deep.equal(b("ends in CR\r\n"));
  });

  it("keeps a message that is already SMTP data as the same buffer", () => {
    const body = b("Subject: x\r\n\r\nbody\r\n");
    expect(smtpData(body)).to.equal(body);
  });

  it("changes nothing else: 8-bit bytes, NULs, dots, From lines, header case and folding", () => {
    const body = b("sUbJeCt:  odd\n\tfolded\nX: \xe9\x00\xff\n\n.\n..x\nFrom me\n>From you\n");
    expect(smtpData(body)).to.deep.equal(b("sUbJeCt:  odd\r\n\tfolded\r\nX: \xe9\x00\xff\r\n\r\n.\r\n..x\r\nFrom me\r\n>From you\r\n"));
  });

  it("agrees with the regular expression Python's smtplib uses (_fix_eols), plus the final CR LF (property)", () => {
    const bytes = fc.array(fc.oneof(fc.constantFrom(0x0d, 0x0a, 0x2e), fc.integer({ min: 0, max: 255 })), { maxLength: 300 });
    fc.assert(
      fc.property(bytes, (array) => {
        const body = Buffer.from(array);
        const text = body.toString("latin1").replace(/\r\n|\n|\r(?!\n)/g, "\r\n");
        const expected = body.length === 0 || text.endsWith("\r\n") ? text : `${text}\r\n`;
        const data = smtpData(body);
        expect(data.toString("latin1")).to.equal(expected);
        expect(smtpData(data), "idempotent").to.deep.equal(data);
      }),
      { numRuns: 2000 },
    );
  });

  it("hasEightBit finds a byte above 127", () => {
    expect(hasEightBit(b("plain ascii\r\n"))).to.equal(false);
    expect(hasEightBit(b("caf\xe9\r\n"))).to.equal(true);
  });
});
