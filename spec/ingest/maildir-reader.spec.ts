// Listing and reading maildirs (cur/ + new/) and plain directories of messages.

import { expect } from "chai";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NoInputError } from "../../lib/errors.js";
import { listMaildir, readMaildir } from "../../lib/ingest/maildir-reader.js";
import { tempDir } from "../helpers/tmp.js";

function put(dir: string, files: Record<string, string | Buffer>): void {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
}

async function rejection(dir: string): Promise<unknown> {
  try {
    await listMaildir(dir);
  } catch (err) {
    return err;
  }
  return undefined;
}

describe("maildir reader", () => {
  it("lists cur/ and new/ together, sorted by file name", async () => {
    const dir = tempDir();
    put(dir, {
      "cur/1700000003.M1.host:2,S": "c3",
      "new/1700000001.M1.host": "n1",
      "cur/1700000002.M1.host:2,": "c2",
      "new/1700000004.M1.host": "n4",
    });
    mkdirSync(join(dir, "tmp"));
    writeFileSync(join(dir, "tmp", "0000.partial"), "not delivered yet");
    expect(await listMaildir(dir)).to.deep.equal([
      join(dir, "new/1700000001.M1.host"),
      join(dir, "cur/1700000002.M1.host:2,"),
      join(dir, "cur/1700000003.M1.host:2,S"),
      join(dir, "new/1700000004.M1.host"),
    ]);
  });

  it("ignores hidden files and subdirectories", async () => {
    const dir = tempDir();
    put(dir, { "cur/.hidden": "h", "new/.DS_Store": "x", "new/b": "b", "cur/a": "a", "new/sub/c": "c" });
    expect(await listMaildir(dir)).to.deep.equal([join(dir, "cur/a"), join(dir, "new/b")]);
  });

  it("works with only new/", async () => {
    const dir = tempDir();
    put(dir, { "new/2": "2", "new/1": "1" });
    expect(await listMaildir(dir)).to.deep.equal([join(dir, "new/1"), join(dir, "new/2")]);
  });

  it("reads a plain directory of message files when there is no cur/ or new/", async () => {
    const dir = tempDir();
    put(dir, { "10.eml": "ten", "02.eml": "two", ".hidden": "h", "nested/1.eml": "n" });
    expect(await listMaildir(dir)).to.deep.equal([join(dir, "02.eml"), join(dir, "10.eml")]);
  });

  it("yields each file's bytes unchanged, in listing order", async () => {
    const dir = tempDir();
    const raw = Buffer.from([0x53, 0x3a, 0x20, 0xff, 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x80]);
    put(dir, { "new/b": raw, "cur/a:2,": "Subject: a\n\nA\n" });
    const got: Array<{ path: string; body: string }> = [];
    for await (const m of readMaildir(dir)) got.push({ path: m.path, body: m.body.toString("hex") });
    expect(got).to.deep.equal([
      { path: join(dir, "cur/a:2,"), body: Buffer.from("Subject: a\n\nA\n").toString("hex") },
      { path: join(dir, "new/b"), body: raw.toString("hex") },
    ]);
  });

  it("yields nothing for an empty maildir", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "cur"));
    mkdirSync(join(dir, "new"));
    expect(await listMaildir(dir)).to.deep.equal([]);
  });

  it("throws NoInputError for a missing directory or a file", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "file"), "x");
    expect(await rejection(join(dir, "missing"))).to.be.instanceOf(NoInputError);
    expect(await rejection(join(dir, "file"))).to.be.instanceOf(NoInputError);
  });
});
