// Benchmark messages: valid RFC 5322, distinct Message-IDs, bodies of the
// requested size from one block of random bytes (cheap to make, not
// compressible).

import { randomBytes } from "node:crypto";

export class BenchMessages {
  private readonly filler: Buffer;

  constructor(private readonly size: number) {
    const text = randomBytes(Math.max(1, size)).toString("base64").replace(/.{76}/g, "$&\n");
    this.filler = Buffer.from(text.slice(0, size), "latin1");
  }

  body(i: number): Buffer {
    const head = Buffer.from(
      `From: bench@example.org\nTo: bench@lists.example.org\nSubject: bench ${i}\nMessage-ID: <bench-${i}@mq-archive.bench>\n\n`,
      "latin1",
    );
    const rest = Math.max(0, this.size - head.length - 1);
    const offset = (i * 7919) % Math.max(1, this.filler.length - rest);
    return Buffer.concat([head, this.filler.subarray(offset, offset + rest), Buffer.from("\n")]);
  }

  messageId(i: number): string {
    return `<bench-${i}@mq-archive.bench>`;
  }
}
