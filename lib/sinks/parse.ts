// Sink specs from the command line: maildir:DIR, mbox:DIR, events:DIR, mhonarc:DIR, hyperkitty:URL,
// public-inbox[:PI_CONFIG], smtp:ADDRESS, outbox:PATH, exec:COMMAND, null.
// What a sink needs beyond its spec (timeouts, key files, servers) comes in
// SinkOptions, filled from the command line by sinkOptions (config/sinks.ts).

import { resolve } from "node:path";
import { UsageError } from "../errors.js";
import { EventsSink } from "./events.js";
import { ExecSink, type ExecOptions } from "./exec.js";
import { HyperKittySink, type HyperKittyOptions } from "./hyperkitty.js";
import { MaildirSink } from "./maildir.js";
import { MboxSink } from "./mbox.js";
import { MhonarcSink, type MhonarcOptions } from "./mhonarc.js";
import { NullSink } from "./null.js";
import { OutboxSink } from "./outbox.js";
import { PublicInboxSink, type PublicInboxOptions } from "./public-inbox.js";
import type { Sink } from "./sink.js";
import { SmtpSink, type SmtpOptions } from "./smtp.js";

/** Options of the sinks that take any; each reads only its own. */
export interface SinkOptions extends ExecOptions, MhonarcOptions, SmtpOptions, HyperKittyOptions, PublicInboxOptions {}

export function parseSink(spec: string, options: SinkOptions = {}): Sink {
  if (spec === "null") return new NullSink();
  // The config is optional: public-inbox's own default ($PI_CONFIG, else ~/.public-inbox/config).
  if (spec === "public-inbox") return new PublicInboxSink(undefined, options);
  const colon = spec.indexOf(":");
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const arg = colon < 0 ? "" : spec.slice(colon + 1);
  if (arg.trim() === "") throw new UsageError(`sink ${JSON.stringify(spec)} needs an argument, e.g. maildir:/srv/archive`);
  switch (kind) {
    case "maildir":
      return new MaildirSink(resolve(arg));
    case "mbox":
      return new MboxSink(resolve(arg));
    case "events":
      return new EventsSink(resolve(arg));
    case "mhonarc":
      return new MhonarcSink(resolve(arg), options);
    case "outbox":
      return new OutboxSink(resolve(arg));
    case "exec":
      return new ExecSink(arg, options);
    case "smtp":
      return new SmtpSink(arg, options);
    case "hyperkitty":
      return new HyperKittySink(arg, options);
    case "public-inbox":
      return new PublicInboxSink(arg, options);
    default:
      throw new UsageError(
        `unknown sink ${JSON.stringify(kind)} in ${JSON.stringify(spec)}: use maildir:DIR, mbox:DIR, events:DIR, mhonarc:DIR, hyperkitty:URL, public-inbox[:PI_CONFIG], smtp:ADDRESS, outbox:PATH, exec:COMMAND or null`,
      );
  }
}
