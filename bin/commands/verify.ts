// `mq-archive verify --connect ENDPOINT --state PATH [--sink SPEC…] [--lists …] [--repair]`

import { VERIFY_OPTIONS } from "../../lib/config/commands.js";
import { subscribeSecurity } from "../../lib/config/security.js";
import { sinkOptions } from "../../lib/config/sinks.js";
import type { Resolved } from "../../lib/config/spec.js";
import { EXIT } from "../../lib/errors.js";
import { createLogger } from "../../lib/log.js";
import { parseSink } from "../../lib/sinks/parse.js";
import { validateEndpoint } from "../../lib/transport/endpoints.js";
import { formatVerifyReport } from "../../lib/verify/report.js";
import { agrees, verify } from "../../lib/verify/run.js";

export async function runVerify(opts: Resolved<typeof VERIFY_OPTIONS>): Promise<number> {
  const connect = validateEndpoint(opts.connect, "--connect");
  const security = subscribeSecurity({ key: opts.key, serverKey: opts["server-key"] === undefined ? undefined : [opts["server-key"]], insecure: opts.insecure });
  const specs = (opts.sink ?? []).map(String);
  const sinks = opts.repair ? specs.map((spec) => parseSink(spec, sinkOptions(opts))) : [];
  const report = await verify({
    connect,
    state: opts.state,
    lists: opts.lists ?? null,
    repair: opts.repair,
    sinkSpecs: specs,
    sinks,
    ...(security.secure ? { security: { ...security.keys, serverKey: security.serverKey[0]! } } : {}),
    timeoutMs: opts.timeout,
    ...(opts.name === undefined ? {} : { name: opts.name }),
    log: createLogger(opts["log-level"]),
  });
  if (opts.json) process.stdout.write(`${JSON.stringify({ ...report, agrees: agrees(report) }, hexBuffers, 2)}\n`);
  else process.stdout.write(formatVerifyReport(report));
  return agrees(report) ? EXIT.OK : EXIT.FAILURE;
}

/** Buffers (Message-ID digests) as hex in JSON. */
function hexBuffers(_key: string, value: unknown): unknown {
  const v = value as { type?: unknown; data?: unknown } | null;
  return v && v.type === "Buffer" && Array.isArray(v.data) ? Buffer.from(v.data as number[]).toString("hex") : value;
}
