// A custom archiver built on the library: follow a publisher and store each
// message as DIR/<list>/<seq>.eml. Run it against `mq-archive serve --insecure` (with keys, pass `security:` as the README shows):
//
//   node dist/examples/custom-archiver.js tcp://127.0.0.1:5580 ./custom.db ./custom-archive
//
// Each record is acknowledged only after it is written; a record that comes
// again (after a crash before the ack) lands on the same file name.

import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Subscriber, createLogger } from "../lib/index.js";

const [connect = "tcp://127.0.0.1:5580", state = "custom-archiver.db", out = "custom-archive"] = process.argv.slice(2);

const subscriber = new Subscriber({ connect, state, name: "custom-archiver", log: createLogger("info") });
await subscriber.start();
for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => void subscriber.close());

for await (const delivery of subscriber) {
  const dir = join(out, delivery.list);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${delivery.seq}.eml`), delivery.body);
  await delivery.ack();
}
