// `verify --sink public-inbox[:PI_CONFIG]`: what the list's inbox holds,
// read with public-inbox's own Perl modules (one perl for the whole run,
// a list per request). An archived entry is held when its Message-ID is
// among the inbox's (public-inbox keeps them without the angle brackets);
// one that is not is asked about by content (confirm): public-inbox gives a
// message without a Message-ID an id of its own, and mq-archive another,
// so only the sink's own check (public-inbox-check.ts, by content hash)
// can tell that it is there. A record no longer retained cannot be asked
// about that way: it stays named lost.

import { VerifyError } from "../errors.js";
import { Coprocess } from "../sinks/coprocess.js";
import { defaultPiConfig } from "../sinks/public-inbox.js";
import { InboxChecker } from "../sinks/public-inbox-check.js";
import { HeldMessages, IndexedReadback } from "./readback-index.js";

/** One list name a line in; one JSON line out: the inbox and each message it serves, as [article number, Message-ID] pairs (a message of several Message-IDs has a pair for each). */
const MIDS_SCRIPT = String.raw`
use strict;
use v5.10.1;
use POSIX ();
use JSON::PP ();
use PublicInbox::Config;
my $json = JSON::PP->new->ascii->canonical;
$| = 1;
my $cfg = PublicInbox::Config->new;
while (defined(my $list = <STDIN>)) {
	chomp $list;
	my $res = eval {
		my $ibx = $list =~ /\@/ ? $cfg->lookup($list) : $cfg->lookup_name($list);
		return { inbox => undef, pairs => [] } unless $ibx;
		my $over = $ibx->over or die "inbox $ibx->{name} has no over index (not indexed?)\n";
		+{ inbox => $ibx->{name}, pairs => $over->dbh->selectall_arrayref(
			'SELECT o.num, m.mid FROM over o JOIN id2num x ON x.num = o.num JOIN msgid m ON m.id = x.id WHERE o.num > 0 ORDER BY o.num') };
	} // +{ error => "$@" };
	print $json->encode($res), "\n";
}
POSIX::_exit(0);
`;

export interface Confirmable {
  list: string;
  seq: number;
  body: Buffer;
}

export class PublicInboxReadback extends IndexedReadback {
  private readonly config: string;
  private perl: Coprocess | null = null;

  constructor(sink: string, config: string) {
    super(sink);
    this.config = config === "" ? defaultPiConfig() : config;
  }

  /** Of records their Message-IDs did not find, the seqs the inbox holds by content (the sink's own check). */
  async confirm(records: readonly Confirmable[]): Promise<Set<number>> {
    const held = new Set<number>();
    if (records.length === 0) return held;
    const checker = new InboxChecker(this.config, 60_000);
    try {
      const answers = await checker.check(records.map((r) => ({ list: r.list, body: r.body })));
      for (const [i, a] of answers.entries()) {
        if (a.status !== "stored") continue;
        held.add(records[i]!.seq);
        await this.noteConfirmed(records[i]!.list, a.mid.replace(/^<|>$/g, ""));
      }
    } finally {
      await checker.close();
    }
    return held;
  }

  async close(): Promise<void> {
    await this.perl?.stop();
    this.perl = null;
  }

  protected async load(list: string): Promise<HeldMessages> {
    const failed = (what: string) => new VerifyError("VERIFY_FAILED", `cannot read back the public-inbox inbox of list ${list} (${this.config}): ${what}`);
    this.perl ??= new Coprocess("perl", ["-e", MIDS_SCRIPT], { ...process.env, PI_CONFIG: this.config });
    let answer: { inbox?: string | null; pairs?: unknown; error?: string };
    try {
      answer = JSON.parse(await this.perl.ask(Buffer.from(`${list}\n`), 120_000)) as typeof answer;
    } catch (err) {
      this.perl.kill();
      this.perl = null;
      throw failed((err as Error).message);
    }
    if (answer.error !== undefined) throw failed(answer.error.trim());
    if (!Array.isArray(answer.pairs)) throw failed("no Message-IDs in perl's answer");
    const held = new HeldMessages();
    for (const [num, mid] of answer.pairs as Array<[number, string]>) held.add(num, mid);
    return held;
  }
}
