// public-inbox[:PI_CONFIG] — each message into the public-inbox inbox of its
// list, through public-inbox-mda --no-precheck, with ORIGINAL_RECIPIENT the
// list's posting address and PI_EMERGENCY set. List events pass by (storeKind).
//
// -mda's exit 0 does not prove storage (a duplicate, a spam verdict, a
// filter that ignores the message all exit 0), so a batch goes:
//   1. one request to perl (public-inbox-check) finds each list's inbox and which
//      messages it already holds, by content hash: those (replays after a
//      crash) are not delivered again, so -mda never sees a duplicate;
//   2. -mda once per other message, in order, stopping at a failure;
//   3. one more request confirms that every message -mda took is in the inbox.
// Only what step 1 or 3 found is acknowledged. The bytes go to -mda as the
// outbox holds them, so a replay hashes the same (a v2 inbox would store a
// second copy of a Message-ID whose content differs).
//
// A list name with "@" is the posting address; one without is the inbox
// NAME (publicinbox.NAME), whose first address is given as recipient.
//
// Failures: no inbox for the list, a refusal (65), an unknown recipient
// (67), exit 0 without storing, a message public-inbox cannot parse, a
// signal, a Perl die (255): permanent,
// dead-lettered after the retries, the message naming the fix. A system
// error (-mda dies with errno as status: ENOSPC 28, EACCES 13, ...), a run
// past the timeout (the inbox lock held by -watch or -index), public-inbox
// not installed, a config it cannot read: temporary, retried in order.
//
// Order: a message -mda took but step 3 cannot find fails the batch there,
// yet later messages of the batch were already given to -mda; they are
// found in step 1 when they come again, so they stay once, but they may sit
// before it in the inbox. Only a spam verdict (publicinboxmda.spamcheck not
// none) can do that: a filter that ignores a message is seen in step 1 and
// the batch stops there, and -mda dedupes what another writer stored.

import { constants, homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { SinkError } from "../errors.js";
import type { Logger } from "../log.js";
import { InboxChecker, type InboxCheck } from "./public-inbox-check.js";
import { EmergencyMaildir } from "./public-inbox-emergency.js";
import { runProgram, type RunOutcome } from "./run-program.js";
import { storeKind, type Sink, type SinkContext, type SinkRecord } from "./sink.js";

type Known = Extract<InboxCheck, { status: "stored" | "absent" }>;

/** Why a message is not stored; thrown once, as a SinkError, with how many are. */
interface Failure {
  message: string;
  transient: boolean;
}

/** Where a batch stopped: the record, why, and whether -mda ran for it (it may have stored it anyway). */
interface Stop {
  index: number;
  why: Failure;
  ran: boolean;
}

/** Exit statuses of a -mda that died of a system error (Perl's die exits with errno): the inbox's trouble, not the message's. */
const SYSTEM_ERRORS = ["ENOENT", "EIO", "EAGAIN", "ENOMEM", "EACCES", "EBUSY", "ENFILE", "EMFILE", "ENOSPC", "EROFS", "EDQUOT"];
const TRANSIENT_STATUS = new Map(SYSTEM_ERRORS.map((name) => [constants.errno[name as keyof typeof constants.errno], name]));

export interface PublicInboxOptions {
  /** Kill a public-inbox-mda or perl run after this long (ms): a temporary failure. 0 or absent: no limit. */
  publicInboxTimeoutMs?: number;
  /** PI_EMERGENCY (default: $PI_EMERGENCY, else "emergency" beside the config). */
  publicInboxEmergency?: string;
}

/** The config file public-inbox itself reads when PI_CONFIG is not set. */
export function defaultPiConfig(): string {
  return process.env.PI_CONFIG ?? join(homedir(), ".public-inbox", "config");
}

export class PublicInboxSink implements Sink {
  readonly name: string;
  readonly config: string;
  private readonly emergency: EmergencyMaildir;
  private readonly timeoutMs: number;
  private readonly checker: InboxChecker;
  private log: Logger | null = null;

  constructor(config: string = defaultPiConfig(), options: PublicInboxOptions = {}) {
    this.config = resolve(config);
    this.name = `public-inbox:${this.config}`;
    this.timeoutMs = options.publicInboxTimeoutMs ?? 0;
    this.checker = new InboxChecker(this.config, this.timeoutMs);
    this.emergency = new EmergencyMaildir(resolve(options.publicInboxEmergency ?? process.env.PI_EMERGENCY ?? join(dirname(this.config), "emergency")));
  }

  /** Check that perl, public-inbox's modules and the config are there (a temporary failure: the peer waits). */
  async start(context: SinkContext): Promise<void> {
    this.log = context.log;
    await this.checker.check([]);
    await this.reportEmergency();
  }

  /** The emergency Maildir is looked after, but trouble reading it never fails a delivery. */
  private async reportEmergency(): Promise<void> {
    if (this.log === null) return;
    try {
      await this.emergency.report(this.log);
    } catch (err) {
      this.log.warn({ err, emergency: this.emergency.dir }, "cannot look into the public-inbox emergency Maildir");
    }
  }

  async store(records: readonly SinkRecord[]): Promise<void> {
    await storeKind("message", records, (safe) => this.deliver(safe));
  }

  private async deliver(records: readonly SinkRecord[]): Promise<void> {
    const before = await this.check(records);
    const replays = before.filter((c) => c.status === "stored").length;
    if (replays > 0) this.log?.debug({ replays }, "public-inbox: already in the inbox (a replay); not delivered again");
    const taken: number[] = [];
    let failure: Stop | null = null;
    for (let i = 0; i < records.length && failure === null; i++) {
      const check = before[i]!;
      if (check.status === "stored") continue;
      if (check.status !== "absent") failure = { index: i, why: this.lookupFailure(records[i]!, check), ran: false };
      else if (check.verdict === "ignore") failure = { index: i, why: { message: this.notStored(records[i]!, check, false), transient: false }, ran: false };
      else {
        const why = await this.runMda(records[i]!, check);
        if (why === null) taken.push(i);
        else failure = { index: i, why, ran: true };
      }
    }
    const ran = taken.length + (failure?.ran ? 1 : 0);
    this.log?.debug({ records: records.length, replays, ran }, "public-inbox: batch given to public-inbox-mda");
    await this.reportEmergency();
    await this.confirm(records, before, taken, failure);
  }

  /** Step 3: everything -mda took (and a failed one that may have stored anyway) must be in the inbox now. */
  private async confirm(records: readonly SinkRecord[], before: readonly InboxCheck[], taken: number[], failure: Stop | null): Promise<void> {
    const ranAndFailed = failure?.ran ? [failure.index] : [];
    const asked = [...taken, ...ranAndFailed];
    const after = asked.length === 0 ? [] : await this.check(asked.map((i) => records[i]!), taken[0] ?? failure?.index ?? 0);
    const found = new Set(asked.filter((_, k) => after[k]?.status === "stored"));
    const missing = taken.find((i) => !found.has(i));
    if (missing !== undefined && (failure === null || missing < failure.index)) {
      throw new SinkError(this.notStored(records[missing]!, before[missing] as Known), { transient: false, stored: missing });
    }
    if (failure === null) return;
    if (found.has(failure.index)) {
      // Killed or failed after storing: it counts; the rest of the batch comes again.
      const message = `${failure.why.message} — but the message is in the inbox; the rest of the batch comes again`;
      throw new SinkError(message, { transient: true, stored: failure.index + 1 });
    }
    throw new SinkError(failure.why.message, { transient: failure.why.transient, stored: failure.index });
  }

  /** One request to perl; when it gets no answer the batch fails from `from` (nothing after it is confirmed). */
  private async check(records: readonly SinkRecord[], from = 0): Promise<InboxCheck[]> {
    try {
      return await this.checker.check(records);
    } catch (err) {
      if (!(err instanceof SinkError)) throw err;
      throw new SinkError(err.message, { transient: err.transient, stored: from, cause: err.cause });
    }
  }

  /** Run -mda for one message; null when it exited 0 (to be confirmed), else why it failed. */
  private async runMda(record: SinkRecord, check: Known): Promise<Failure | null> {
    const recipient = record.list.includes("@") ? record.list : check.address;
    const env = { ...process.env, PI_CONFIG: this.config, PI_EMERGENCY: this.emergency.dir, ORIGINAL_RECIPIENT: recipient };
    const startedAt = Date.now();
    const outcome = await runProgram("public-inbox-mda", ["--no-precheck"], { env, input: record.body, timeoutMs: this.timeoutMs });
    if (outcome.type === "not-run") return { message: `${outcome.message} (install public-inbox)`, transient: outcome.transient };
    // Whatever happened is accounted for below (confirmed, retried or a dead letter with its bytes): -mda's own copy is not needed.
    try {
      const removed = await this.emergency.removeCopiesOf(outcome.pid, startedAt);
      if (removed > 0) this.log?.debug({ seq: record.seq, removed }, "public-inbox: removed the emergency copy of our -mda run");
    } catch (err) {
      this.log?.warn({ err, emergency: this.emergency.dir }, "cannot remove the emergency copy of our -mda run");
    }
    if (outcome.code === 0 && outcome.signal === null) return null;
    return this.mdaFailure(outcome, check, recipient);
  }

  private mdaFailure(outcome: Extract<RunOutcome, { type: "exit" }>, check: Known, recipient: string): Failure {
    const said = outcome.stderr === "" ? "" : `: ${outcome.stderr}`;
    const inbox = `inbox ${check.inbox}`;
    if (outcome.timedOut) {
      const message = `public-inbox-mda ran past ${this.timeoutMs} ms for ${inbox} and was killed (is its lock held by public-inbox-watch, -index or -purge?)${said}`;
      return { message, transient: true };
    }
    if (outcome.signal !== null) return { message: `public-inbox-mda killed by ${outcome.signal}${said}`, transient: false };
    switch (outcome.code) {
      case 65: {
        const message = `${inbox} refused the message (public-inbox-mda exit 65)${said}; its filter is ${check.filter} (publicinbox.${check.inbox}.filter in ${this.config}; PublicInbox::Filter::Mirror takes everything)`;
        return { message, transient: false };
      }
      case 67: {
        const message = `public-inbox-mda found no usable inbox for ORIGINAL_RECIPIENT=${recipient} (exit 67)${said}; check publicinbox.${check.inbox}.address and .inboxdir in ${this.config}`;
        return { message, transient: false };
      }
    }
    const errno = TRANSIENT_STATUS.get(outcome.code ?? -1);
    const status = `public-inbox-mda exit ${outcome.code}${errno === undefined ? "" : ` (${errno})`} for ${inbox}${said}`;
    return { message: status, transient: errno !== undefined };
  }

  private lookupFailure(record: SinkRecord, check: InboxCheck): Failure {
    if (check.status === "error") {
      return { message: `cannot look into inbox ${check.inbox ?? "?"} of ${this.config}: ${check.error}`, transient: true };
    }
    if (check.status === "unreadable") {
      return { message: `public-inbox cannot read this message (inbox ${check.inbox}): ${check.error}`, transient: false };
    }
    const list = record.list;
    const message = list.includes("@")
      ? `no public-inbox inbox has the address ${list} in ${this.config}: add publicinbox.NAME.address = ${list} ` +
        `(git config -f ${this.config} --add publicinbox.NAME.address ${list}, or public-inbox-init -V2 NAME DIR URL ${list}), then retry the dead letters`
      : `no public-inbox inbox named ${list} in ${this.config} (a list name without "@" names the inbox): ` +
        `create it (public-inbox-init -V2 ${list} DIR URL ADDRESS) or name the list by its posting address, then retry the dead letters`;
    return { message, transient: false };
  }

  private notStored(record: SinkRecord, check: Known, ran = true): string {
    const why =
      check.verdict === "ignore"
        ? `its filter ${check.filter} ignores it`
        : check.verdict === "reject"
          ? `its filter ${check.filter} refuses it: ${check.reason ?? ""}`
          : "a spam check (publicinboxmda.spamcheck) or a filter may have dropped it";
    const what = ran ? "public-inbox-mda exited 0 but the message is not in inbox" : "not given to public-inbox-mda, which would not store it in inbox";
    return `${what} ${check.inbox} (Message-ID <${check.mid}>, content hash ${check.hash}, seq ${record.seq}): ${why}`;
  }

  async close(): Promise<void> {
    await this.checker.close();
    this.log = null;
  }
}
