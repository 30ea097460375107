// The publisher's allowlist: strict parsing (every mistake names its line)
// and the PeerAcl built from it.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { ConfigError } from "../../lib/errors.js";
import { fingerprint, generateKeyPair } from "../../lib/security/keys.js";
import { ALL_LISTS } from "../../lib/security/list-match.js";
import { PeerAcl, parsePeers, readPeersFile, type PeerEntry } from "../../lib/security/peers-file.js";
import { z85Encode } from "../../lib/security/z85.js";
import { tempDir } from "../helpers/tmp.js";

function key(): string {
  return generateKeyPair().publicKey;
}

/** A real generated public key with a "#" somewhere inside it. */
function keyWithHash(): string {
  for (;;) {
    const k = key();
    if (k.includes("#")) return k;
  }
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError, none was thrown");
}

describe("parsePeers", () => {
  it("reads keys, name= and lists=, skipping comments and blank lines", () => {
    const [a, b, c] = [key(), key(), key()];
    const text = [
      "# peers allowed to follow this publisher",
      "",
      `${a}`,
      "   ",
      `${b} name=archive-1 lists=dev-*,users@lists.example.org   # trailing comment`,
      "\t# indented comment",
      `  ${c}\tname=other`,
    ].join("\n");
    expect(parsePeers(text, "peers")).to.deep.equal([
      { key: a, name: fingerprint(a), lists: null },
      { key: b, name: "archive-1", lists: ["dev-*", "users@lists.example.org"] },
      { key: c, name: "other", lists: null },
    ]);
  });

  it("keeps a key that contains '#' (a Z85 character)", () => {
    const generated = keyWithHash();
    // And one built to have "#" in the middle: the group 0x00000054 is "0000#".
    const built = z85Encode(Buffer.concat([Buffer.from([0, 0, 0, 0x54]), Buffer.alloc(28, 7)]));
    expect(built.slice(0, 5)).to.equal("0000#");
    const text = `${generated} name=gen # comment\n${built}\n${built.replace("0000#", "00000")} lists=a#b # lists keep "#" inside a word\n`;
    expect(parsePeers(text, "peers")).to.deep.equal([
      { key: generated, name: "gen", lists: null },
      { key: built, name: fingerprint(built), lists: null },
      { key: built.replace("0000#", "00000"), name: fingerprint(built.replace("0000#", "00000")), lists: ["a#b"] },
    ]);
  });

  it("accepts CRLF line endings", () => {
    const [a, b] = [key(), key()];
    const text = `# comment\r\n${a} name=one\r\n\r\n${b} lists=dev\r\n`;
    expect(parsePeers(text, "peers")).to.deep.equal([
      { key: a, name: "one", lists: null },
      { key: b, name: fingerprint(b), lists: ["dev"] },
    ]);
  });

  it("ignores a UTF-8 byte order mark at the start of the file", () => {
    const a = key();
    expect(parsePeers(`\uFEFF${a} name=one\n`, "peers")).to.deep.equal([{ key: a, name: "one", lists: null }]);
    expect(parsePeers(`\uFEFF# comment\n${a}\n`, "peers")).to.deep.equal([{ key: a, name: fingerprint(a), lists: null }]);
  });

  it("names source:line for a bad key", () => {
    const a = key();
    const cases = [
      `# ok\n${a}\n${a.slice(0, 39)}\n`,
      `# ok\n${a}\n${a.slice(0, 39)}~ name=x\n`,
      `# ok\n${a}\nname=x\n`,
      `# ok\n${a}\n${"#".repeat(40).replace(/^#/, "0")}\n`,
    ];
    for (const text of cases) {
      expect(configError(() => parsePeers(text, "/etc/mq-archive/peers")).message, text).to.match(/^\/etc\/mq-archive\/peers:3: /);
    }
  });

  it("names source:line (and the first line) for a duplicate key", () => {
    const a = key();
    const err = configError(() => parsePeers(`${a} name=one\n\n${a} name=two\n`, "peers"));
    expect(err.message).to.match(/^peers:3: /);
    expect(err.message).to.include("line 1");
  });

  it("names source:line for an unknown attribute", () => {
    const a = key();
    for (const attribute of ["list=dev", "Name=x", "name", "lists", "name=", "foo=bar"]) {
      const err = configError(() => parsePeers(`\n${a} ${attribute}\n`, "peers"));
      expect(err.message, attribute).to.match(/^peers:2: /);
    }
  });

  it("names source:line for lists= with no list", () => {
    const a = key();
    for (const lists of ["lists=", "lists=,", "lists=,,,"]) {
      const err = configError(() => parsePeers(`${key()}\n${a} ${lists}\n`, "peers"));
      expect(err.message, lists).to.match(/^peers:2: /);
    }
  });

  // Regression test (fixed): lib/security/peers-file.ts parsePeers (lines 42-47) lets a repeated
  // attribute overwrite the earlier one. `KEY lists=dev lists=board` grants
  // only ["board"] (and `name=a name=b` names it "b") with no error, although
  // the module promises "Parsed strictly: a typo is an error naming the line,
  // never a silently widened or narrowed grant". Expected: ConfigError
  // "peers:1: ..."; actual: returns lists ["board"].
  it("names source:line for a repeated attribute", () => {
    const a = key();
    for (const attributes of ["lists=dev lists=board", "name=a name=b", "lists=* name=x lists=dev"]) {
      const err = configError(() => parsePeers(`${a} ${attributes}\n`, "peers"));
      expect(err.message, attributes).to.match(/^peers:1: /);
    }
  });

  it("counts lines the same with CRLF endings", () => {
    const err = configError(() => parsePeers(`# c\r\n\r\n${key()} bogus\r\n`, "peers"));
    expect(err.message).to.match(/^peers:3: /);
  });

  it("gives no peers for an empty or comment-only file", () => {
    expect(parsePeers("", "peers")).to.deep.equal([]);
    expect(parsePeers("# nothing yet\n\n", "peers")).to.deep.equal([]);
  });
});

describe("readPeersFile", () => {
  it("reads a file, naming it in errors", () => {
    const dir = tempDir();
    const file = join(dir, "peers");
    const a = key();
    writeFileSync(file, `${a} name=one\n`);
    expect(readPeersFile(file)).to.deep.equal([{ key: a, name: "one", lists: null }]);
    writeFileSync(file, `${a} name=one\nnot-a-key\n`);
    expect(configError(() => readPeersFile(file)).message).to.include(`${file}:2`);
  });

  it("throws ConfigError for a missing file", () => {
    const dir = tempDir();
    const file = join(dir, "missing-peers");
    expect(configError(() => readPeersFile(file)).message).to.include(file);
  });
});

describe("PeerAcl", () => {
  const [a, b, c, d] = [key(), key(), key(), key()];
  const entries: PeerEntry[] = [
    { key: a, name: "all", lists: null },
    { key: b, name: "star", lists: ["dev", "*"] },
    { key: c, name: "some", lists: ["dev-*", "users"] },
  ];

  it("gets an entry by key, with its lists matcher", () => {
    const acl = new PeerAcl(entries);
    const some = acl.get(c)!;
    expect(some.name).to.equal("some");
    expect(some.lists).to.deep.equal(["dev-*", "users"]);
    expect(some.allowed("dev-announce")).to.equal(true);
    expect(some.allowed("users")).to.equal(true);
    expect(some.allowed("board")).to.equal(false);
    expect(some.allowed("users2")).to.equal(false);
    expect(acl.get(d)).to.equal(undefined);
  });

  it("lists every entry", () => {
    const acl = new PeerAcl(entries);
    expect(acl.entries().map((e) => e.key)).to.have.members([a, b, c]);
    expect(acl.entries()).to.have.length(3);
  });

  it("says `all` only without lists or with *", () => {
    const acl = new PeerAcl(entries);
    expect(acl.get(a)!.all).to.equal(true);
    expect(acl.get(a)!.allowed).to.equal(ALL_LISTS);
    expect(acl.get(b)!.all).to.equal(true);
    expect(acl.get(b)!.allowed("board")).to.equal(true);
    expect(acl.get(c)!.all).to.equal(false);
    // A glob that admits every non-empty name still is not "*": such a peer stays off PUB.
    const wide = new PeerAcl([{ key: d, name: "d", lists: ["?*"] }]).get(d)!;
    expect(wide.allowed("board")).to.equal(true);
    expect(wide.all).to.equal(false);
  });

  it("reports removed keys and keys whose lists changed", () => {
    const before = new PeerAcl(entries);
    const after = new PeerAcl([
      { key: a, name: "renamed", lists: null },
      { key: c, name: "some", lists: ["users"] },
      { key: d, name: "new", lists: null },
    ]);
    const change = before.changesTo(after);
    expect(change.removed).to.deep.equal([b]);
    expect(change.narrowed).to.deep.equal([c]);
  });

  it("reports nothing for an identical allowlist", () => {
    const change = new PeerAcl(entries).changesTo(new PeerAcl(entries.map((e) => ({ ...e }))));
    expect(change).to.deep.equal({ removed: [], narrowed: [] });
  });

  it("reports a key that goes from every list to some lists", () => {
    const change = new PeerAcl(entries).changesTo(
      new PeerAcl([{ key: a, name: "all", lists: ["dev"] }, entries[1]!, entries[2]!]),
    );
    expect(change).to.deep.equal({ removed: [], narrowed: [a] });
  });

  it("built from a parsed file", () => {
    const text = `${a} name=x\n${c} lists=dev\n`;
    const acl = new PeerAcl(parsePeers(text, "peers"));
    expect(acl.get(a)!.all).to.equal(true);
    expect(acl.get(c)!.all).to.equal(false);
    expect(acl.get(c)!.allowed("dev")).to.equal(true);
    expect(acl.get(c)!.allowed("users")).to.equal(false);
  });
});
