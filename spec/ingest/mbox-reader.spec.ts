// Reading mboxrd files: splitting, undoing quoting, chunk boundaries.

import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { NoInputError } from "../../lib/errors.js";
import { readMbox } from "../../lib/ingest/mbox-reader.js";
import { quoteMboxrd } from "../../lib/message/mboxrd.js";
import { makeMessage } from "../helpers/messages.js";
import { tempDir } from "../helpers/tmp.js";

const ENVELOPE = "From sender@example.org Mon Nov 30 12:00:00 2026\n";

/** An mbox file of the bodies, each quoted and followed by a blank line. Bodies must end in a newline. */
function writeMbox(bodies: readonly Buffer[], envelope = ENVELOPE): string {
  const path = join(tempDir(), "in.mbox");
  writeFileSync(path, Buffer.concat(bodies.flatMap((b) => [Buffer.from(envelope), quoteMboxrd(b), Buffer.from("\n")])));
  return path;
}

function writeRaw(text: string | Buffer): string {
  const path = join(tempDir(), "raw.mbox");
  writeFileSync(path, text);
  return path;
}

async function readAll(path: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  let index = 0;
  for await (const m of readMbox(path)) {
    expect(m.index).to.equal(++index);
    out.push(m.body);
  }
  return out;
}

const b = (text: string): Buffer => Buffer.from(text, "latin1");

describe("quoteMboxrd", () => {
  it("adds one > to every line matching /^>*From /, and to nothing else", () => {
    const body = b("From a\n>From b\n>>From c\nFrom\n>Fromage\n From d\nx From e\nFrom f");
    expect(quoteMboxrd(body).toString("latin1")).to.equal(
      ">From a\n>>From b\n>>>From c\nFrom\n>Fromage\n From d\nx From e\n>From f",
    );
  });

  it("leaves a body without From lines byte-identical", () => {
    const body = Buffer.from([0xff, 0x0a, 0x00, 0x3e, 0x0d, 0x0a]);
    expect(quoteMboxrd(body).equals(body)).to.equal(true);
  });
});

describe("readMbox", () => {
  it("round-trips bodies with From, >From and >>From lines exactly", async () => {
    const bodies = [
      b("Subject: one\n\nFrom the start\n>From quoted\n>>From twice\n>Fromage stays\n"),
      b("Subject: two\n\nFrom \n\n\nends with blank lines\n\n"),
      makeMessage("dev", 1, 3000).body,
    ];
    expect(await readAll(writeMbox(bodies))).to.deep.equal(bodies);
  });

  it("round-trips CRLF bodies, in an LF or a CRLF file", async () => {
    const bodies = [b("Subject: crlf\r\n\r\nFrom here\r\n>From there\r\n"), b("Subject: 2\r\n\r\nx\r\n")];
    expect(await readAll(writeMbox(bodies))).to.deep.equal(bodies);
    expect(await readAll(writeMbox(bodies, ENVELOPE.replace("\n", "\r\n")))).to.deep.equal(bodies);
    const crlfFile = writeRaw("From a\r\nSubject: 1\r\n\r\nb1\r\n\r\nFrom b\r\nSubject: 2\r\n\r\nb2\r\n\r\n");
    expect(await readAll(crlfFile)).to.deep.equal([b("Subject: 1\r\n\r\nb1\r\n"), b("Subject: 2\r\n\r\nb2\r\n")]);
  });

  it("reads many messages in order", async () => {
    const bodies = Array.from({ length: 50 }, (_, i) => makeMessage("users", i, 200 + i * 37).body);
    expect(await readAll(writeMbox(bodies))).to.deep.equal(bodies);
  });

  it("reads a file without blank separator lines or a final newline", async () => {
    const path = writeRaw("From a\nSubject: 1\n\nb1\nFrom b\nSubject: 2\n\nlast line");
    expect(await readAll(path)).to.deep.equal([b("Subject: 1\n\nb1\n"), b("Subject: 2\n\nlast line")]);
  });

  // Regression test (fixed): lib/ingest/mbox-reader.ts finish() drops the last line when its length is 1, meaning to drop the "\n" separator. A file that ends without a newline...
  it("keeps a one-character last line when the file has no final newline", async () => {
    expect(await readAll(writeRaw("From a\nSubject: x\n\nb"))).to.deep.equal([b("Subject: x\n\nb")]);
  });

  it("ignores text before the first From line and yields nothing for a file without one", async () => {
    expect(await readAll(writeRaw("garbage\n\nFrom a\nS: 1\n\n"))).to.deep.equal([b("S: 1\n")]);
    expect(await readAll(writeRaw("S: no envelope\n\nbody\n"))).to.deep.equal([]);
    expect(await readAll(writeRaw(""))).to.deep.equal([]);
  });

  it("keeps lines and From separators that straddle the 1 MiB read chunks", async () => {
    const MiB = 1024 * 1024;
    // The first entry ends 3 bytes before the chunk boundary, so the next
    // envelope line is split across two chunks; the third message spans three.
    const firstBody = Buffer.alloc(MiB - 3 - ENVELOPE.length - 1, 0x61);
    firstBody.write("Subject: big\n\n", 0, "latin1");
    for (let i = 100; i < firstBody.length; i += 80) firstBody[i] = 0x0a;
    firstBody[firstBody.length - 1] = 0x0a;
    const bodies = [firstBody, b("Subject: small\n\nFrom inside\n"), makeMessage("dev", 7, 2.5 * MiB).body];
    const path = writeMbox(bodies);
    const got = await readAll(path);
    expect(got.length).to.equal(3);
    got.forEach((body, i) => expect(body.equals(bodies[i]!), `message ${i + 1}`).to.equal(true));
  });

  it("throws NoInputError for a missing file or a directory", async () => {
    for (const path of [join(tempDir(), "missing.mbox"), tempDir()]) {
      let thrown: unknown;
      try {
        await readAll(path);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, path).to.be.instanceOf(NoInputError);
    }
  });
});
