// The record-log contract against the outbox's SQLite record log, on real files.

import { join } from "node:path";
import { Outbox } from "../../lib/store/outbox.js";
import { tempDir } from "../helpers/tmp.js";
import { recordLogContract } from "./record-log-contract.js";

describe("SqliteRecordLog (the record-log contract)", () => {
  recordLogContract(() => {
    const outbox = Outbox.open(join(tempDir(), "outbox.db"));
    return { log: outbox.records, close: () => outbox.close() };
  });
});
