// A raw DEALER speaking CURVE with a peer's key, collecting every message it
// receives: what a hostile (or hand-written) peer would use.

import { Packr } from "msgpackr";
import * as zmq from "zeromq";
import type { KeyPair } from "../../lib/security/keys.js";
import { makeProof } from "../../lib/security/proof.js";
import { decode, encode } from "../../lib/wire/codec.js";
import type { DataFrame, HelloFrame } from "../../lib/wire/frames.js";
import { waitFor } from "./wait.js";

const packr = new Packr({ useRecords: false });

export function helloFrame(peer: string, proof: Uint8Array, from = 0, batches = false): Buffer[] {
  const frame: HelloFrame = { type: "hello", peer, name: "raw", from, outbox: null, lists: null, credit: 64 * 1024 * 1024, proof };
  return encode(batches ? { ...frame, batches } : frame);
}

export class RawPeer {
  readonly received: Buffer[][] = [];
  private readonly socket: zmq.Dealer;

  constructor(
    endpoint: string,
    readonly key: KeyPair,
    readonly serverKey: string,
    options: { receiveHighWaterMark?: number } = {},
  ) {
    this.socket = new zmq.Dealer({
      linger: 0,
      curvePublicKey: key.publicKey,
      curveSecretKey: key.secretKey,
      curveServerKey: serverKey,
      ...(options.receiveHighWaterMark === undefined ? {} : { receiveHighWaterMark: options.receiveHighWaterMark }),
    });
    const socket = this.socket;
    socket.connect(endpoint);
    void (async () => {
      try {
        for await (const parts of socket) this.received.push(parts as Buffer[]);
      } catch {
        /* closed */
      }
    })();
  }

  send(parts: Buffer[]): Promise<void> {
    return this.socket.send(parts);
  }

  headers(): Array<Record<string, unknown>> {
    return this.received.map((parts) => packr.unpack(parts[0]!) as Record<string, unknown>);
  }

  /** This connection's challenge, asked for with a proof-less hello (naming our key). */
  async challenge(): Promise<Uint8Array> {
    const from = this.received.length;
    await this.send(helloFrame(this.key.publicKey, new Uint8Array(0)));
    const found = await waitFor(() => this.headers().slice(from).find((h) => h.t === "challenge"), { what: "a challenge" });
    return found.nonce as Uint8Array;
  }

  /** A proof for this connection made with our own key (as the real peer would). */
  async ownProof(): Promise<Uint8Array> {
    return makeProof(this.key, this.serverKey, await this.challenge());
  }

  /** The records received, whether in data or batch frames. */
  records(): DataFrame[] {
    return this.received.flatMap((parts) => {
      const frame = decode(parts);
      return frame.type === "data" ? [frame] : frame.type === "batch" ? frame.records : [];
    });
  }

  close(): void {
    this.socket.close();
  }
}
