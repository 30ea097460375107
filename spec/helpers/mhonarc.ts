// MHonArc archives for the tests, with the real program: set one up with the
// resources an operator might give it, read what its database holds, and
// make the messages it declines, refuses or hangs on.
//
// A refusal and a hang need MHonArc to do so for a message of our choosing:
// the archive is set up (mhonarc -editidx -rcfile) with MIME filters of its
// own for two content types (MHonArc saves them in its database, so every
// later run loads them): one dies ("refuses"), one ignores SIGTERM and
// sleeps (a hung run). Everything else is MHonArc's stock behaviour.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeMessage, type TestMessage } from "./messages.js";
import { SYNC_CHILD } from "./sync-limit.js";

/** Why the MHonArc tests cannot run here, or null. */
export function mhonarcMissing(): string | null {
  const r = spawnSync("mhonarc", ["-v"], { encoding: "utf8", ...SYNC_CHILD });
  return r.status === 0 ? null : "mhonarc is not installed (apt-get install mhonarc; .ci/run installs it)";
}

export interface ArchiveSetup {
  /** Messages of content type text/x-mqa-refuse make mhonarc die (exit 255). */
  refuse?: boolean;
  /** Messages of content type text/x-mqa-hang make mhonarc hang, deaf to SIGTERM. */
  hang?: boolean;
  /** MHonArc's CHECKNOARCHIVE: it declines messages marked X-No-Archive: yes. */
  checkNoArchive?: boolean;
}

/** Create the archive OUTDIR with these resources, as an operator would before the first message. */
export function setUpArchive(outdir: string, setup: ArchiveSetup): void {
  mkdirSync(outdir, { recursive: true });
  const filters = join(outdir, "..", "mqa-test-filters.pl");
  writeFileSync(
    filters,
    [
      "package mqatest;",
      'sub refuse { die "mq-archive test filter: this archive refuses text/x-mqa-refuse\\n"; }',
      "sub hang { $SIG{TERM} = 'IGNORE'; sleep 1 while 1; }",
      "1;",
    ].join("\n"),
  );
  const lines = ["<MIMEFilters>"];
  if (setup.refuse) lines.push(`text/x-mqa-refuse; mqatest::refuse; ${filters}`);
  if (setup.hang) lines.push(`text/x-mqa-hang; mqatest::hang; ${filters}`);
  lines.push("</MIMEFilters>");
  const rc = join(outdir, "..", "mqa-test.mrc");
  writeFileSync(rc, `${lines.join("\n")}\n`);
  const args = ["-quiet", "-outdir", outdir, "-editidx", "-rcfile", rc, ...(setup.checkNoArchive ? ["-checknoarchive"] : [])];
  const r = spawnSync("mhonarc", args, { encoding: "utf8", ...SYNC_CHILD });
  if (r.status !== 0) throw new Error(`mhonarc ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
}

/** Add one message with mhonarc directly, as an operator's earlier import would. */
export function addDirectly(outdir: string, body: Buffer): void {
  mkdirSync(outdir, { recursive: true });
  const r = spawnSync("mhonarc", ["-quiet", "-outdir", outdir, "-add"], { input: body, encoding: "utf8", ...SYNC_CHILD });
  if (r.status !== 0) throw new Error(`mhonarc -add exited ${r.status}: ${r.stderr}`);
}

export interface ArchivedEntry {
  /** The Message-ID without <> as %MsgId holds it. */
  id: string;
  /** Its message number (%IndexNum): the order mhonarc added them in. */
  num: number;
  subject: string;
  /** Its page's text, "" if the page is missing. */
  page: string;
}

/** What OUTDIR/.mhonarc.db holds, in message-number order (empty if there is no archive). */
export function readArchive(outdir: string): ArchivedEntry[] {
  const db = join(outdir, ".mhonarc.db");
  if (!existsSync(db)) return [];
  const script =
    "use JSON::PP; do $ARGV[0] or die qq(cannot read $ARGV[0]: $@ $!); " +
    "print JSON::PP->new->canonical->encode([map { { id => $_, num => 0 + $IndexNum{$MsgId{$_}}, subject => $Subject{$MsgId{$_}} } } keys %MsgId]);";
  const r = spawnSync("perl", ["-e", script, db], { encoding: "latin1", ...SYNC_CHILD });
  if (r.status !== 0) throw new Error(`reading ${db}: ${r.stderr}`);
  const entries = JSON.parse(r.stdout) as Array<Omit<ArchivedEntry, "page">>;
  return entries
    .sort((a, b) => a.num - b.num)
    .map((e) => {
      const page = join(outdir, `msg${String(e.num).padStart(5, "0")}.html`);
      return { ...e, page: existsSync(page) ? readFileSync(page, "latin1") : "" };
    });
}

/**
 * The id mhonarc files a message under, computed here independently of the
 * sink: the Message-ID without <>, or for a message without one
 * md5_hex(its header bytes, up to the empty line) @NO-ID-FOUND.mhonarc.org.
 */
export function mhonarcId(body: Buffer): string {
  const end = body.indexOf("\n\n");
  const header = end < 0 ? body : body.subarray(0, end + 1);
  const field = /^message-id:[ \t]*(.*)$/im.exec(header.toString("latin1"));
  if (field !== null && field[1]!.trim() !== "") {
    const inner = /<([^>]*)>/.exec(field[1]!);
    return inner !== null ? inner[1]! : field[1]!.trim();
  }
  return `${createHash("md5").update(header).digest("hex")}@NO-ID-FOUND.mhonarc.org`;
}

/** Message `i` of `list` with its header changed: `drop` removes header fields, `add` adds lines. */
export function variant(list: string, i: number, change: { drop?: RegExp; add?: string[] }): TestMessage {
  const m = makeMessage(list, i, 600);
  const text = m.body.toString("latin1");
  const split = text.indexOf("\n\n");
  let head = text.slice(0, split).split("\n");
  if (change.drop) head = head.filter((l) => !change.drop!.test(l));
  head.push(...(change.add ?? []));
  const body = Buffer.from(`${head.join("\n")}${text.slice(split)}`, "latin1");
  return { list, messageId: head.some((l) => /^message-id:/i.test(l)) ? m.messageId : "", body };
}

export const noMessageId = (list: string, i: number): TestMessage => variant(list, i, { drop: /^message-id:/i });
export const refused = (list: string, i: number): TestMessage => variant(list, i, { add: ["Content-Type: text/x-mqa-refuse"] });
export const hanging = (list: string, i: number): TestMessage => variant(list, i, { add: ["Content-Type: text/x-mqa-hang"] });
export const markedNoArchive = (list: string, i: number): TestMessage => variant(list, i, { add: ["X-No-Archive: yes"] });
