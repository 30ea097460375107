// npm run chaos -- --messages N --seconds S --seed X [--dir DIR]
// Prints one summary line and exits non-zero on any violation.

import { parseArgs } from "node:util";
import { killAllDaemons } from "../helpers/cli.js";
import { runChaos } from "./chaos.js";

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "2000" },
    seconds: { type: "string", default: "25" },
    seed: { type: "string", default: String(Date.now() % 1_000_000) },
    dir: { type: "string" },
    quiet: { type: "boolean", default: false },
  },
});

// A crash of this runner must not leave its daemons behind.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void killAllDaemons().then(() => process.exit(130)));

const result = await runChaos({
  messages: Number(values.messages),
  seconds: Number(values.seconds),
  seed: Number(values.seed),
  ...(values.dir === undefined ? {} : { dir: values.dir }),
  say: values.quiet ? () => {} : (line) => process.stderr.write(`[chaos seed ${values.seed}] ${line}\n`),
});
for (const v of result.violations) process.stderr.write(`VIOLATION: ${v}\n`);
process.stderr.write(`faults by kind: ${JSON.stringify(result.faultsByKind)}; ${result.seconds} s\n`);
process.stdout.write(
  `chaos: ${result.messages} messages, ${result.faults} faults, ${result.lost} lost, ${result.duplicated} duplicated, ${result.deadLettered} dead-lettered, mirror failovers ${result.mirrorFailovers}, returns ${result.mirrorReturns} (seed ${result.seed})\n`,
);
process.exit(result.violations.length === 0 ? 0 : 1);
