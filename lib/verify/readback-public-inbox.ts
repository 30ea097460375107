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
import { archiveKey } from "../store/archived.js";
import type { Held, Readback } from "./readback.js";

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

/** What a list's inbox serves. */
interface Inbox {
  /** Archive key (hex) of each Message-ID, as `<mid>` and as `mid` → its article number. */
  byKey: Map<string, number>;
  /** Message-ID as public-inbox keeps it (no brackets) → article number. */
  byMid: Map<string, number>;
  articles: number;
}

export class PublicInboxReadback implements Readback {
  private readonly config: string;
  private perl: Coprocess | null = null;
  private readonly lists = new Map<string, Promise<Inbox>>();
  /** Per list: articles found by content (confirm), which the entries therefore account for. */
  private readonly confirmed = new Map<string, Set<number>>();

  constructor(readonly sink: string, config: string) {
    this.config = config === "" ? defaultPiConfig() : config;
  }

  async holds(list: string, entry: Held): Promise<boolean> {
    return (await this.of(list)).byKey.has(entry.key.toString("hex"));
  }

  async unrecorded(list: string, entries: readonly Held[]): Promise<number> {
    const inbox = await this.of(list);
    const accounted = new Set(this.confirmed.get(list) ?? []);
    for (const e of entries) {
      const num = inbox.byKey.get(e.key.toString("hex"));
      if (num !== undefined) accounted.add(num);
    }
    return inbox.articles - accounted.size;
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
        const r = records[i]!;
        held.add(r.seq);
        const num = (await this.of(r.list)).byMid.get(a.mid.replace(/^<|>$/g, ""));
        if (num === undefined) continue;
        const into = this.confirmed.get(r.list) ?? new Set<number>();
        into.add(num);
        this.confirmed.set(r.list, into);
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

  private of(list: string): Promise<Inbox> {
    let inbox = this.lists.get(list);
    if (inbox === undefined) {
      inbox = this.load(list);
      this.lists.set(list, inbox);
    }
    return inbox;
  }

  private async load(list: string): Promise<Inbox> {
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
    const inbox: Inbox = { byKey: new Map(), byMid: new Map(), articles: 0 };
    const nums = new Set<number>();
    for (const [num, mid] of answer.pairs as Array<[number, string]>) {
      nums.add(num);
      inbox.byMid.set(mid, num);
      // mq-archive keeps a bracketed Message-ID with its brackets, an unbracketed one as it came.
      inbox.byKey.set(archiveKey(`<${mid}>`).toString("hex"), num);
      inbox.byKey.set(archiveKey(mid).toString("hex"), num);
    }
    inbox.articles = nums.size;
    return inbox;
  }
}
