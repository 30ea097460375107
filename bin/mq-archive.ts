#!/usr/bin/env node
// Entry point. `publish` runs once per posted message, so it takes a lean
// path (node:util parseArgs, no yargs, no ZeroMQ); everything else, and
// `publish --help`, goes through the full yargs CLI.

const argv = process.argv.slice(2);

// A subscriber's file sinks fsync many files at once; libuv's default of 4
// threads caps that. Set before anything touches the thread pool (every
// import below is dynamic) for the commands that run subscribers (bench's
// roles are `bench --role …`); `publish` does not pay for the threads.
if (argv[0] === "subscribe" || argv[0] === "bench") process.env.UV_THREADPOOL_SIZE ??= "16";
const wantsHelp = argv.includes("--help") || argv.includes("-h");

if (argv[0] === "publish" && !wantsHelp) {
  const { publishCommand } = await import("./commands/publish.js");
  await publishCommand(argv.slice(1));
} else {
  const { runCli } = await import("./cli.js");
  await runCli(argv);
}
