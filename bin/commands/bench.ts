// `mq-archive bench`: measure the mesh on this machine. With --role it is
// one of the benchmark's own child processes.

import { fileURLToPath } from "node:url";
import { runBench } from "../../lib/bench/orchestrator.js";
import { formatReport } from "../../lib/bench/report.js";
import { runPublisherRole, runSubscriberRole, type PublisherJob, type SubscriberJob } from "../../lib/bench/roles.js";
import { BENCH_OPTIONS } from "../../lib/config/commands.js";
import type { Resolved } from "../../lib/config/spec.js";
import { sinkOptions } from "../../lib/config/sinks.js";
import { EXIT, UsageError } from "../../lib/errors.js";
import { parseSink } from "../../lib/sinks/parse.js";

const BIN = fileURLToPath(new URL("../mq-archive.js", import.meta.url));

export async function runBenchCommand(opts: Resolved<typeof BENCH_OPTIONS>): Promise<number> {
  if (opts.role !== undefined) {
    const job = JSON.parse(opts.spec ?? "{}") as PublisherJob & SubscriberJob;
    if (opts.role === "publisher") await runPublisherRole(job);
    else if (opts.role === "subscriber") await runSubscriberRole(job);
    else throw new UsageError(`unknown bench role ${opts.role}`);
    return EXIT.OK;
  }
  if (!["null", "maildir", "mbox"].includes(opts.sink) && !opts.sink.includes(":")) {
    throw new UsageError("--sink must be null, maildir, mbox or a sink spec such as mhonarc:DIR");
  }
  parseSink(opts.sink === "null" ? "null" : opts.sink.includes(":") ? opts.sink : `${opts.sink}:x`, sinkOptions(opts)); // a bad spec fails here, not in a child
  const tty = process.stderr.isTTY === true && !opts.json;
  const report = await runBench({
    bin: BIN,
    messages: opts.messages,
    size: opts.size,
    subscribers: opts.subscribers,
    sink: opts.sink,
    sinkOptions: sinkOptions(opts),
    rate: opts.rate ?? null,
    backlog: opts.backlog,
    secure: opts.secure,
    metrics: opts.metrics,
    ...(opts.dir === undefined ? {} : { dir: opts.dir }),
    ...(tty ? { onProgress: (line: string) => process.stderr.write(`\r\x1b[K${line}`) } : {}),
  });
  if (tty) process.stderr.write("\r\x1b[K");
  process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return EXIT.OK;
}
