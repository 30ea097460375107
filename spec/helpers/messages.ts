// Deterministic test messages: RFC 5322 headers, a body of arbitrary bytes
// (not valid UTF-8, with "From " lines that mbox must quote), and helpers to
// read archives back and compare by sha256.

import { createHash } from "node:crypto";
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { readMbox } from "../../lib/ingest/mbox-reader.js";

export interface TestMessage {
  list: string;
  messageId: string;
  body: Buffer;
}

/** Message `i` of `list`, about `size` bytes. The same arguments always give the same bytes. */
export function makeMessage(list: string, i: number, size = 1024): TestMessage {
  const messageId = `<${list}.${i}@test.mq-archive>`;
  const head = Buffer.from(
    `From: Tester ${i} <tester${i}@example.org>\nTo: ${list}@lists.example.org\n` +
      `Subject: message ${i} to ${list}\nMessage-ID: ${messageId}\nDate: Mon, 30 Nov 2026 12:00:00 +0000\n\n` +
      `From the desk of tester ${i}:\n>From a quoted line\n`,
    "latin1",
  );
  const filler = Buffer.alloc(Math.max(0, size - head.length - 1));
  let x = hashSeed(`${list}/${i}`);
  for (let j = 0; j < filler.length; j++) {
    x = (x * 1103515245 + 12345) >>> 0;
    const b = (x >>> 16) & 0xff;
    // Keep lines short and bytes varied (high bytes too), but no NUL or CR.
    filler[j] = j % 72 === 71 ? 10 : b === 0 || b === 13 ? 0xe9 : b === 10 ? 0x20 : b;
  }
  return { list, messageId, body: Buffer.concat([head, filler, Buffer.from("\n")]) };
}

function hashSeed(s: string): number {
  return createHash("sha256").update(s).digest().readUInt32LE(0);
}

export function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Every file in DIR/<list>/{new,cur}, with the seq from its name. */
export function readMaildirArchive(dir: string, list: string): Array<{ seq: number; body: Buffer }> {
  const out: Array<{ seq: number; body: Buffer }> = [];
  for (const sub of ["new", "cur"]) {
    const d = join(dir, list, sub);
    if (!existsSync(d)) continue;
    for (const name of readdirSync(d)) {
      const seq = Number(/_(\d+)\.mq-archive/.exec(name)?.[1] ?? NaN);
      out.push({ seq, body: readFileSync(join(d, name)) });
    }
  }
  return out.sort((a, b) => a.seq - b.seq);
}

/** Every message of DIR/<list>.mbox, in file order. */
export async function readMboxArchive(dir: string, list: string): Promise<Buffer[]> {
  const file = join(dir, `${list}.mbox`);
  if (!existsSync(file)) return [];
  const out: Buffer[] = [];
  for await (const m of readMbox(file)) out.push(m.body);
  return out;
}

/** Assert-friendly summary: which expected messages are missing, duplicated, or altered. */
export function compareArchive(expected: readonly TestMessage[], got: readonly Buffer[]): {
  missing: string[];
  duplicated: string[];
  unexpected: number;
  outOfOrder: boolean;
} {
  const want = new Map(expected.map((m, i) => [sha256(m.body), { id: m.messageId, i }]));
  const seen = new Map<string, number>();
  let unexpected = 0;
  let lastIndex = -1;
  let outOfOrder = false;
  for (const body of got) {
    const h = sha256(body);
    const w = want.get(h);
    if (!w) {
      unexpected++;
      continue;
    }
    seen.set(h, (seen.get(h) ?? 0) + 1);
    if ((seen.get(h) ?? 0) === 1) {
      if (w.i < lastIndex) outOfOrder = true;
      lastIndex = w.i;
    }
  }
  const missing = expected.filter((m) => !seen.has(sha256(m.body))).map((m) => m.messageId);
  const duplicated = [...seen].filter(([, n]) => n > 1).map(([h]) => want.get(h)!.id);
  return { missing, duplicated, unexpected, outOfOrder };
}
