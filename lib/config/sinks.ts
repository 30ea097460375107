// The sink options of the command line, as the sinks take them.

import type { SinkOptions } from "../sinks/parse.js";
import type { SINK_OPTIONS } from "./commands.js";
import type { Resolved } from "./spec.js";

export function sinkOptions(opts: Resolved<typeof SINK_OPTIONS>): SinkOptions {
  const keyFile = opts["hyperkitty-key-file"];
  return {
    timeoutMs: opts["exec-timeout"],
    mhonarcTimeoutMs: opts["mhonarc-timeout"],
    smtpUrl: opts["smtp-url"],
    smtpTimeoutMs: opts["smtp-timeout"],
    publicInboxTimeoutMs: opts["public-inbox-timeout"],
    ...(opts["smtp-from"] === undefined ? {} : { smtpFrom: opts["smtp-from"] }),
    ...(opts["smtp-ca"] === undefined ? {} : { smtpCa: opts["smtp-ca"] }),
    hyperkittyTimeoutMs: opts["hyperkitty-timeout"],
    ...(keyFile === undefined ? {} : { hyperkittyKeyFile: keyFile }),
  };
}
