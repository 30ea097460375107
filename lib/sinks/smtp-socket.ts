// The TCP connection under the smtp sink's nodemailer pool, opened here
// (nodemailer's getSocket) for one reason: Nagle's algorithm off. nodemailer
// writes a message's end (".\r\n") as a small segment of its own, which
// Nagle holds until the server's delayed ACK: measured against aiosmtpd on
// loopback, 50 ms a message with it, 6.8 ms without (10 KB messages,
// aiosmtpd's discarding handler). TLS, if any, nodemailer starts over it.
//
// The socket is handed over still connecting: nodemailer then owns every
// failure (refused, reset, its greeting timeout covers the connecting
// too). A getSocket that reports an error itself leaves a dead resource
// in nodemailer's pool, which then never sends again (seen with 6.10).

import { connect, type Socket } from "node:net";

type SocketCallback = (err: Error | null, options: { connection: Socket }) => void;

/** A nodemailer getSocket that connects to host:port with noDelay and keep-alive. */
export function noDelaySocket(host: string, port: number): (options: unknown, callback: SocketCallback) => void {
  return (_options, callback) => {
    const socket = connect({ host, port, noDelay: true, keepAlive: true });
    callback(null, { connection: socket });
  };
}
