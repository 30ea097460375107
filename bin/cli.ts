// The yargs command tree: help text, argument parsing, dispatch. Option
// definitions come from lib/config/commands.ts; behaviour lives in lib/.

import yargs, { type Argv } from "yargs";
import { BENCH_OPTIONS, DEAD_LETTERS_OPTIONS, KEYGEN_OPTIONS, PUBLISH_OPTIONS, SERVE_OPTIONS, STATUS_OPTIONS, SUBSCRIBE_OPTIONS, VERIFY_OPTIONS } from "../lib/config/commands.js";
import { resolveOptions } from "../lib/config/resolve.js";
import { envName, type OptionSpecs, type Resolved } from "../lib/config/spec.js";
import { UsageError } from "../lib/errors.js";
import { fail, runCommand } from "./exit.js";

const EPILOG =
  "Every option can also come from a JSON file (--config) or an MQ_ARCHIVE_<OPTION> environment variable " +
  "(e.g. MQ_ARCHIVE_DB); the command line wins, then the environment, then the file.";

export async function runCli(argv: string[]): Promise<void> {
  const cli = yargs(argv)
    .scriptName("mq-archive")
    .usage("$0 <command> [options]\n\nReliable, secure mailing-list archiving over a brokerless ZeroMQ mesh.")
    .command(
      "publish [file]",
      "commit one message (FILE or stdin) to the outbox, or bulk-import an mbox or maildir",
      (y) => withOptions(y, PUBLISH_OPTIONS).positional("file", { type: "string", describe: PUBLISH_OPTIONS.file.describe }),
      (args) => dispatch("publish", PUBLISH_OPTIONS, args, async (o) => (await import("./commands/publish.js")).runPublish(o)),
    )
    .command(
      "serve",
      "run the publisher: stream the outbox to archive peers (PUB + ROUTER)",
      (y) => withOptions(y, SERVE_OPTIONS),
      (args) => dispatch("serve", SERVE_OPTIONS, args, async (o) => (await import("./commands/serve.js")).runServe(o)),
    )
    .command(
      "subscribe",
      "run an archive peer: store what arrives in sinks, acknowledge what is stored",
      (y) => withOptions(y, SUBSCRIBE_OPTIONS),
      (args) =>
        dispatch("subscribe", SUBSCRIBE_OPTIONS, args, async (o) => (await import("./commands/subscribe.js")).runSubscribe(o)),
    )
    .command(
      "verify",
      "is this archive complete? compare an archive peer's state (and --sink files) with the publisher's ledger; --repair what is missing",
      (y) => withOptions(y, VERIFY_OPTIONS),
      (args) => dispatch("verify", VERIFY_OPTIONS, args, async (o) => (await import("./commands/verify.js")).runVerify(o)),
    )
    .command(
      "status",
      "the outbox and every peer with its position, lag and dead letters (--db), or one archive peer's state (--state)",
      (y) => withOptions(y, STATUS_OPTIONS),
      (args) => dispatch("status", STATUS_OPTIONS, args, async (o) => (await import("./commands/status.js")).runStatus(o)),
    )
    .command(
      "dead-letters <action> [id]",
      "an archive peer's dead letters: list, show ID (the message), retry ID, retry --all",
      (y) =>
        withOptions(y, DEAD_LETTERS_OPTIONS)
          .positional("action", { choices: ["list", "show", "retry"] as const, describe: "what to do" })
          .positional("id", { type: "string", describe: "a dead letter's ID (from list)" }),
      (args) =>
        dispatch("dead-letters", DEAD_LETTERS_OPTIONS, args, async (o) =>
          (await import("./commands/dead-letters.js")).runDeadLetters(o, String(args.action), args.id as string | undefined),
        ),
    )
    .command(
      "keygen",
      "create a CURVE key pair: OUT.key (secret) and OUT.pub; prints the public key",
      (y) => withOptions(y, KEYGEN_OPTIONS),
      (args) => dispatch("keygen", KEYGEN_OPTIONS, args, async (o) => (await import("./commands/keygen.js")).runKeygen(o)),
    )
    .command(
      "bench",
      "measure publish, end-to-end throughput, latency and memory with real processes on loopback",
      (y) => withOptions(y, BENCH_OPTIONS),
      (args) => dispatch("bench", BENCH_OPTIONS, args, async (o) => (await import("./commands/bench.js")).runBenchCommand(o)),
    )
    .demandCommand(1, "name a command (see --help)")
    .strict()
    .epilog(EPILOG)
    .help()
    .alias("h", "help")
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((message, err) => fail(err ?? new UsageError(`${message} (see --help)`)));
  await cli.parseAsync();
}

function withOptions<T>(y: Argv<T>, specs: OptionSpecs): Argv<T> {
  for (const [name, spec] of Object.entries(specs)) {
    if (name === "file") continue;
    const env = spec.cliOnly ? "" : ` [env ${envName(name)}]`;
    y.option(name, {
      type: spec.type === "boolean" ? "boolean" : spec.type === "array" ? "array" : "string",
      describe: `${spec.describe}${spec.required ? " (required)" : ""}${env}`,
      ...(spec.type === "array" ? { string: true } : {}),
      ...(spec.default === undefined ? {} : { defaultDescription: String(spec.default) }),
      ...(spec.alias === undefined ? {} : { alias: spec.alias }),
    });
  }
  return y;
}

async function dispatch<T extends OptionSpecs>(
  command: string,
  specs: T,
  args: Record<string, unknown>,
  run: (opts: Resolved<T>) => Promise<number>,
): Promise<void> {
  await runCommand(async () => run(resolveOptions(specs, { command, cli: args })));
}
