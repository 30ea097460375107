// verify's HyperKitty read-back looks a message up under the Message-ID as
// HyperKitty stores it (Python's header parser's reading): pythonReading
// must agree with HyperKitty's own get_message_id on ordinary and odd ids.

import { expect } from "chai";
import { createServer, type Server } from "node:http";
import { HyperKittyReadback, pythonReading } from "../../lib/verify/readback-hyperkitty.js";
import { hyperkittyMissing, storedIds } from "../sinks/hyperkitty/server.js";
import { skipWhenMissing } from "../helpers/skip.js";

const IDS = [
  "<plain@example.org>",
  "<dev@lists.example.org.7@test.mq-archive>",
  "<a@b.1@c>",
  "<with+plus=and.dots@host.example>",
  "  <spaced@example.org>  ",
  "<a.b@[127.0.0.1]>",
  "<no-at-sign>",
];

describe("pythonReading (HyperKitty's stored Message-ID)", () => {
  it("reads each Message-ID as HyperKitty's get_message_id does", async function () {
    skipWhenMissing(this, "the HyperKitty read-back check", hyperkittyMissing());
    const bodies = IDS.map((id) => Buffer.from(`From: a@example.org\nMessage-ID: ${id}\nSubject: s\n\nbody\n`));
    const theirs = await storedIds(bodies);
    expect(bodies.map((b) => pythonReading(b))).to.deep.equal(theirs);
  });

  it("is null for a message without Message-ID", () => {
    expect(pythonReading(Buffer.from("From: a@example.org\nSubject: s\n\nbody\n"))).to.equal(null);
  });
});

describe("HyperKittyReadback against a broken or hostile server", function () {
  this.timeout(60_000);
  let server: Server;
  let base: string;
  let answer: (path: string, res: import("node:http").ServerResponse) => void;

  before(async () => {
    server = createServer((req, res) => answer(req.url ?? "", res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address() as { port: number };
    base = `http://127.0.0.1:${address.port}/hyperkitty/`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const readBack = () =>
    new HyperKittyReadback(`hyperkitty:${base}`, base).holds("dev@example.org", { seq: 1, key: Buffer.alloc(16) }).then(
      () => "read",
      (err: Error) => err.message,
    );

  it("stops reading an answer without end at MAX_PAGE_BYTES, naming it", async () => {
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    answer = (_path, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write("[");
      const more = () => {
        while (res.write(chunk)) if (res.destroyed) return;
      };
      res.on("drain", more);
      more();
    };
    expect(await readBack()).to.match(/an answer over 64 MiB/);
  });

  it("follows `next` neither to another site nor around a loop", async () => {
    answer = (path, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ results: [], next: path.includes("elsewhere") ? null : "http://192.0.2.1/hyperkitty/api/elsewhere" }));
    };
    expect(await readBack()).to.match(/next page is on another site \(http:\/\/192\.0\.2\.1\)/);
    answer = (path, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ results: [{ message_id: "a@b" }], next: `${base}api/list/dev@example.org/emails/?format=json` }));
    };
    expect(await readBack()).to.match(/pages loop back/);
  });
});
