// --metrics HOST:PORT: where the metrics endpoint listens. Loopback unless
// the operator says otherwise (--metrics-remote): the numbers name peers,
// lists' lag and the host's load, which are nobody else's business.

import { UsageError } from "../errors.js";
import { isLoopback } from "../transport/endpoints.js";

export interface MetricsListen {
  host: string;
  port: number;
}

export function parseMetricsListen(value: string, remote: boolean): MetricsListen {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new UsageError(`--metrics ${JSON.stringify(value)} is not HOST:PORT, e.g. 127.0.0.1:9580 or [::1]:9580`);
  }
  const host = m[1]!.replace(/^\[|\]$/g, "");
  if (!remote && !isLoopback(`tcp://${m[1]}:${port}`)) {
    throw new UsageError(`--metrics ${value} is not a loopback address: add --metrics-remote to serve metrics to the network`);
  }
  return { host, port };
}
