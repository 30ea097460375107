// CURVE key pairs: generated with node:crypto's X25519 (the same curve and
// encoding libzmq's CURVE uses), stored as Z85 in zcert-style files, and
// read back with clear errors. A secret key file is created 0600, never
// overwritten, and refused when others may read it (as ssh does).

import { createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, writeSync, type Stats } from "node:fs";
import { ConfigError, UsageError } from "../errors.js";
import { readSecretFile } from "./secret-file.js";
import { z85Decode, z85Encode } from "./z85.js";

export interface KeyPair {
  /** Z85, 40 characters. */
  publicKey: string;
  secretKey: string;
}

export function generateKeyPair(): KeyPair {
  const { privateKey } = generateKeyPairSync("x25519");
  const jwk = privateKey.export({ format: "jwk" });
  return {
    publicKey: z85Encode(Buffer.from(jwk.x!, "base64url")),
    secretKey: z85Encode(Buffer.from(jwk.d!, "base64url")),
  };
}

/** The raw 32 bytes of a Z85 key, or null if it is not one. */
export function keyBytes(z85: string): Buffer | null {
  const bytes = z85.length === 40 ? z85Decode(z85) : null;
  return bytes !== null && bytes.length === 32 ? bytes : null;
}

/** A short, stable name for a key in logs: sha256 of its bytes. */
export function fingerprint(publicKeyZ85: string): string {
  const bytes = keyBytes(publicKeyZ85) ?? Buffer.from(publicKeyZ85);
  return `sha256:${createHash("sha256").update(bytes).digest("hex").slice(0, 16)}`;
}

/** PKCS#8 wrapping of a raw X25519 secret, so node:crypto can use it without its public half. */
const PKCS8_X25519 = Buffer.from("302e020100300506032b656e04220420", "hex");

function privateKeyObject(secretKeyZ85: string): KeyObject {
  const d = keyBytes(secretKeyZ85);
  if (d === null) throw new UsageError("not a CURVE secret key (40 Z85 characters)");
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519, d]), format: "der", type: "pkcs8" });
}

/** The public key that belongs to a secret key. */
export function publicKeyOf(secretKeyZ85: string): string {
  const jwk = createPublicKey(privateKeyObject(secretKeyZ85)).export({ format: "jwk" });
  return z85Encode(Buffer.from(jwk.x!, "base64url"));
}

/** X25519 shared secret between one side's secret key and the other's public key. */
export function sharedSecret(secretKeyZ85: string, publicKeyZ85: string): Buffer {
  const peer = keyBytes(publicKeyZ85);
  if (peer === null) throw new UsageError("not a CURVE public key (40 Z85 characters)");
  const publicKey = createPublicKey({ key: { kty: "OKP", crv: "X25519", x: peer.toString("base64url") }, format: "jwk" });
  return diffieHellman({ privateKey: privateKeyObject(secretKeyZ85), publicKey });
}

/** Write PATH.key (secret, 0600, never overwritten) and PATH.pub. */
export function writeKeyFiles(base: string, pair: KeyPair, now = new Date()): { keyFile: string; pubFile: string } {
  const keyFile = `${base}.key`;
  const pubFile = `${base}.pub`;
  for (const file of [keyFile, pubFile]) {
    if (existsSync(file)) throw new UsageError(`${file} already exists; not overwriting a key (choose another --out)`);
  }
  const secret =
    `#   mq-archive CURVE secret key, generated ${now.toISOString()}\n` +
    "#   Keep it private: whoever holds it can act as this peer or publisher.\n" +
    `curve\n    public-key = "${pair.publicKey}"\n    secret-key = "${pair.secretKey}"\n`;
  writeExclusive(keyFile, secret, 0o600);
  writeExclusive(pubFile, `${pair.publicKey}\n`, 0o644);
  return { keyFile, pubFile };
}

function writeExclusive(file: string, text: string, mode: number): void {
  let fd: number;
  try {
    fd = openSync(file, "wx", mode);
  } catch (err) {
    throw new UsageError(`cannot create ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** Read a secret key file written by `keygen` (or a zcert secret certificate). */
export function readKeyFile(file: string): KeyPair {
  const { text, stats } = readSecretFile(file, "key file");
  const publicKey = /public-key\s*=\s*"([^"]{40})"/.exec(text)?.[1];
  const secretKey = /secret-key\s*=\s*"([^"]{40})"/.exec(text)?.[1];
  if (!publicKey || !secretKey || !keyBytes(publicKey) || !keyBytes(secretKey)) {
    throw new ConfigError(`${file} is not an mq-archive secret key file (make one with mq-archive keygen --out NAME)`);
  }
  if (publicKeyOf(secretKey) !== publicKey) {
    throw new ConfigError(`${file}: its public-key does not belong to its secret-key (the file was edited or mixed up)`);
  }
  refuseIfExposed(file, stats);
  return { publicKey, secretKey };
}

/**
 * A secret key others can read is refused, as ssh refuses one: no access
 * for others, and none for the group either when the file is ours. A file
 * another user owns (root:list, 0640) may let its group read it. Checked
 * after parsing, so a .pub given by mistake is named as such.
 */
function refuseIfExposed(file: string, stats: Stats): void {
  const ours = stats.uid === process.getuid?.();
  if ((stats.mode & (ours ? 0o077 : 0o007)) === 0) return;
  const mode = (stats.mode & 0o777).toString(8).padStart(4, "0");
  const fix = ours ? `chmod 600 ${file}` : `chmod o-rwx ${file}`;
  throw new ConfigError(`${file}: permissions ${mode} are too open for a secret key (whoever reads it can act as this peer or publisher); run: ${fix}`);
}

/** A public key given as a Z85 string or as a .pub file holding one. */
export function readPublicKey(value: string, what: string): string {
  const trimmed = value.trim();
  if (keyBytes(trimmed)) return trimmed;
  let text: string;
  try {
    text = readFileSync(value, "utf8");
  } catch {
    throw new ConfigError(`${what} ${JSON.stringify(value)} is neither a Z85 public key (40 characters) nor a readable .pub file`);
  }
  const key = /public-key\s*=\s*"([^"]{40})"/.exec(text)?.[1] ?? text.trim();
  if (!keyBytes(key)) throw new ConfigError(`${value} does not hold a Z85 public key (${what})`);
  return key;
}
