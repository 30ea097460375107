// Z85 (ZeroMQ RFC 32): the printable encoding of CURVE keys, 5 characters
// for every 4 bytes.

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
const DECODE = new Map([...ALPHABET].map((c, i) => [c, i]));

export function z85Encode(data: Uint8Array): string {
  if (data.length % 4 !== 0) throw new Error("Z85 encodes whole 4-byte groups only");
  let out = "";
  for (let i = 0; i < data.length; i += 4) {
    let value = ((data[i]! << 24) | (data[i + 1]! << 16) | (data[i + 2]! << 8) | data[i + 3]!) >>> 0;
    let chunk = "";
    for (let j = 0; j < 5; j++) {
      chunk = ALPHABET[value % 85]! + chunk;
      value = Math.floor(value / 85);
    }
    out += chunk;
  }
  return out;
}

/** The bytes of a Z85 string, or null if it is not valid Z85. */
export function z85Decode(text: string): Buffer | null {
  if (text.length % 5 !== 0) return null;
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0; i < text.length; i += 5) {
    let value = 0;
    for (let j = 0; j < 5; j++) {
      const digit = DECODE.get(text[i + j]!);
      if (digit === undefined) return null;
      value = value * 85 + digit;
    }
    if (value > 0xffffffff) return null;
    out.writeUInt32BE(value, (i / 5) * 4);
  }
  return out;
}
