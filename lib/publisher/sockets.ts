// serve's two sockets and the limits that bound what one peer can cost
// (README, "What one peer can cost serve").

import { PubSocket, RouterSocket, type CurveServer } from "../transport/zmq.js";
import { MAX_HEADER_BYTES } from "../wire/frames.js";

/**
 * libzmq ends a connection that sends a single part over this, before the
 * daemon sees it. Peers send one-part frames of at most MAX_HEADER_BYTES;
 * parts up to twice that reach the daemon and are answered TOO_LARGE.
 */
const ROUTER_MAX_PART = 2 * MAX_HEADER_BYTES;
/**
 * Messages libzmq queues for one peer before a send to it fails (and its
 * stream pauses). A message carries at most CHUNK_BYTES of bodies unless a
 * single record is larger, so a connection that never reads pins at most
 * 64 × 256 KiB = 16 MiB of serve; an honest peer's credit (8 MiB) stays
 * well inside it.
 */
const ROUTER_HWM = 64;
/**
 * Messages PUB queues for one subscriber before dropping for it. A message
 * carries at most PUB_MAX_BODY of bodies (one record, or a batch), so a
 * stalled subscriber pins at most 512 × 64 KiB = 32 MiB of serve's memory
 * (with 1,000, batches of 60 KB pinned 60 MB; 256 made a healthy subscriber
 * drop behind PUB in bursts and repair over ROUTER, measured).
 */
const PUB_HWM = 512;

export function bindPub(endpoint: string, curve: CurveServer | undefined): Promise<PubSocket> {
  return PubSocket.bind(endpoint, { sendHighWaterMark: PUB_HWM, ...(curve ? { curve } : {}) });
}

/** The ROUTER socket peers talk to. */
export function bindRouter(endpoint: string, heartbeatMs: number, curve: CurveServer | undefined): Promise<RouterSocket> {
  return RouterSocket.bind(endpoint, {
    heartbeatMs,
    maxMessageSize: ROUTER_MAX_PART,
    sendHighWaterMark: ROUTER_HWM,
    ...(curve ? { curve } : {}),
  });
}
