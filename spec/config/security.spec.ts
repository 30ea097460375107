// Secure by default: serve and subscribe need keys, or an explicit
// --insecure that stays on loopback unless --insecure-remote says otherwise.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { ConfigError, UsageError } from "../../lib/errors.js";
import { generateKeyPair, writeKeyFiles } from "../../lib/security/keys.js";
import { serveSecurity, subscribeSecurity } from "../../lib/config/security.js";
import { tempDir } from "../helpers/tmp.js";

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error("expected a UsageError, none was thrown");
}

const LOOPBACK = ["tcp://127.0.0.1:5580", "tcp://127.0.0.1:5581"];

function serve(o: Partial<Parameters<typeof serveSecurity>[0]>) {
  return serveSecurity({ key: undefined, peers: undefined, insecure: false, insecureRemote: false, endpoints: LOOPBACK, ...o });
}

function subscribe(o: Partial<Parameters<typeof subscribeSecurity>[0]>) {
  return subscribeSecurity({ key: undefined, serverKey: undefined, insecure: false, ...o });
}

describe("serveSecurity", () => {
  it("allows --insecure on loopback endpoints", () => {
    for (const endpoints of [
      LOOPBACK,
      ["tcp://127.0.0.1:*"],
      ["tcp://localhost:5580"],
      ["tcp://[::1]:5580"],
      ["ipc:///tmp/mq-archive.sock", "ipc:///tmp/mq-archive.sock.pub"],
      ["inproc://archive", "inproc://archive-pub"],
    ]) {
      expect(serve({ insecure: true, endpoints }), endpoints.join(" ")).to.deep.equal({ secure: false });
    }
  });

  it("refuses --insecure on a non-loopback endpoint unless --insecure-remote", () => {
    for (const endpoints of [
      ["tcp://0.0.0.0:5580", "tcp://0.0.0.0:5581"],
      ["tcp://127.0.0.1:5580", "tcp://0.0.0.0:5581"],
      ["tcp://*:5580"],
      ["tcp://192.168.1.10:5580"],
      ["tcp://eth0:5580"],
    ]) {
      const err = usageError(() => serve({ insecure: true, endpoints }));
      expect(err.message, endpoints.join(" ")).to.include("--insecure-remote");
      expect(err.message).to.include(endpoints.find((e) => !e.startsWith("tcp://127."))!);
      expect(serve({ insecure: true, insecureRemote: true, endpoints })).to.deep.equal({ secure: false });
    }
  });

  it("refuses --insecure together with --key or --peers", () => {
    for (const o of [{ key: "server.key" }, { peers: "peers" }, { key: "server.key", peers: "peers" }]) {
      const err = usageError(() => serve({ insecure: true, ...o }));
      expect(err.message).to.include("--insecure");
      usageError(() => serve({ insecure: true, insecureRemote: true, ...o }));
    }
  });

  it("refuses to run with neither keys nor --insecure, saying how to fix it", () => {
    for (const o of [{}, { key: "server.key" }, { peers: "peers" }]) {
      const err = usageError(() => serve(o));
      expect(err.message).to.include("keygen");
      expect(err.message).to.include("--insecure");
    }
  });

  it("returns the keys and the ACL from real files", () => {
    const dir = tempDir();
    const server = generateKeyPair();
    const peer = generateKeyPair();
    const { keyFile } = writeKeyFiles(join(dir, "server"), server);
    const peersFile = join(dir, "peers");
    writeFileSync(peersFile, `# archive hosts\n${peer.publicKey} name=archive lists=dev\n`);
    const security = serve({ key: keyFile, peers: peersFile, endpoints: ["tcp://0.0.0.0:5580"] });
    expect(security.secure).to.equal(true);
    if (!security.secure) return;
    expect(security.keys).to.deep.equal(server);
    expect(security.peersFile).to.equal(peersFile);
    expect(security.peers.entries()).to.have.length(1);
    const entry = security.peers.get(peer.publicKey)!;
    expect(entry.name).to.equal("archive");
    expect(entry.allowed("dev")).to.equal(true);
    expect(entry.allowed("users")).to.equal(false);
  });

  it("passes on ConfigError for a bad key or peers file", () => {
    const dir = tempDir();
    const { keyFile } = writeKeyFiles(join(dir, "server"), generateKeyPair());
    const peersFile = join(dir, "peers");
    writeFileSync(peersFile, "not-a-key\n");
    expect(() => serve({ key: keyFile, peers: peersFile })).to.throw(ConfigError, /peers:1/);
    expect(() => serve({ key: join(dir, "missing.key"), peers: peersFile })).to.throw(ConfigError, /missing\.key/);
    expect(() => serve({ key: keyFile, peers: join(dir, "missing-peers") })).to.throw(ConfigError, /missing-peers/);
  });
});

describe("subscribeSecurity", () => {
  it("allows --insecure alone", () => {
    expect(subscribe({ insecure: true })).to.deep.equal({ secure: false });
  });

  it("refuses --insecure together with --key or --server-key", () => {
    for (const o of [{ key: "peer.key" }, { serverKey: [generateKeyPair().publicKey] }]) {
      expect(usageError(() => subscribe({ insecure: true, ...o })).message).to.include("--insecure");
    }
  });

  it("refuses a missing --key or --server-key, saying how to fix it", () => {
    for (const o of [{}, { key: "peer.key" }, { serverKey: [generateKeyPair().publicKey] }, { key: "peer.key", serverKey: [] }]) {
      const err = usageError(() => subscribe(o));
      expect(err.message).to.include("keygen");
      expect(err.message).to.include("--server-key");
      expect(err.message).to.include("--insecure");
    }
  });

  it("takes --server-key as Z85 text or as a .pub file", () => {
    const dir = tempDir();
    const peer = generateKeyPair();
    const server = generateKeyPair();
    const { keyFile } = writeKeyFiles(join(dir, "peer"), peer);
    const { pubFile } = writeKeyFiles(join(dir, "server"), server);
    for (const serverKey of [server.publicKey, pubFile]) {
      expect(subscribe({ key: keyFile, serverKey: [serverKey] }), serverKey).to.deep.equal({ secure: true, keys: peer, serverKey: [server.publicKey] });
    }
    const other = generateKeyPair().publicKey;
    expect(subscribe({ key: keyFile, serverKey: [pubFile, other] })).to.deep.equal({ secure: true, keys: peer, serverKey: [server.publicKey, other] });
  });

  it("throws ConfigError naming --server-key for something that is not a key", () => {
    const dir = tempDir();
    const { keyFile } = writeKeyFiles(join(dir, "peer"), generateKeyPair());
    expect(() => subscribe({ key: keyFile, serverKey: [join(dir, "nope.pub")] })).to.throw(ConfigError, /--server-key/);
    expect(() => subscribe({ key: keyFile, serverKey: ["not-a-key"] })).to.throw(ConfigError, /--server-key/);
  });
});
