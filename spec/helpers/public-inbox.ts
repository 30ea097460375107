// A headless public-inbox set-up for tests (Debian's public-inbox, which
// .ci/run installs): v2 inboxes under one PI_CONFIG, spamcheck none, and
// ways to read back what they hold with public-inbox's own Perl modules,
// independently of the sink's own checks.

import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { tempDir } from "./tmp.js";
import { SYNC_CHILD } from "./sync-limit.js";

/** Why this machine cannot run the public-inbox tests, or null. */
export function publicInboxMissing(): string | null {
  try {
    execFileSync("perl", ["-MPublicInbox::Config", "-MPublicInbox::ContentHash", "-e", "1"], { stdio: "pipe", ...SYNC_CHILD });
    execFileSync("sh", ["-c", "command -v public-inbox-init && command -v public-inbox-mda"], { stdio: "pipe", ...SYNC_CHILD });
  } catch {
    return "public-inbox (perl modules, public-inbox-init, public-inbox-mda) is not installed. Install Debian's public-inbox (.ci/run does)";
  }
  return null;
}

export interface InboxOptions {
  /** publicinbox.NAME.filter; default Mirror (archives everything). "default": none set, -mda's strict Base filter. */
  filter?: string;
}

export class PiSite {
  readonly config: string;
  readonly emergency: string;

  /** A site in `dir` (a new temporary directory by default); nothing is created before the first inbox. */
  constructor(readonly dir = tempDir("mqa-pi-")) {
    this.config = join(dir, "config");
    this.emergency = join(dir, "emergency");
  }

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, PI_CONFIG: this.config, PI_EMERGENCY: this.emergency };
  }

  /** public-inbox-init -V2 (basic index: over.sqlite3, no Xapian), ~1–2.5 s here. */
  addInbox(name: string, address: string, options: InboxOptions = {}): void {
    const dir = join(this.dir, name);
    execFileSync("public-inbox-init", ["-V2", "-L", "basic", name, dir, `http://example.org/${name}`, address], { env: this.env, stdio: "pipe", ...SYNC_CHILD });
    this.set("publicinboxmda.spamcheck", "none");
    const filter = options.filter ?? "PublicInbox::Filter::Mirror";
    if (filter !== "default") this.set(`publicinbox.${name}.filter`, filter);
  }

  set(key: string, value: string): void {
    execFileSync("git", ["config", "-f", this.config, key, value], { stdio: "pipe", ...SYNC_CHILD });
  }

  /** Remove a message from every inbox, as an operator would by hand (public-inbox-learn rm, matched by content). */
  remove(body: Buffer): void {
    execFileSync("public-inbox-learn", ["rm"], { env: this.env, input: body, stdio: ["pipe", "pipe", "pipe"], ...SYNC_CHILD });
  }

  /** Every message of inbox `name` as stored, in article order. */
  messages(name: string): Buffer[] {
    const out = this.perl(READ_ALL, [name], Buffer.alloc(0));
    const messages: Buffer[] = [];
    for (let at = 0; at < out.length; ) {
      const nl = out.indexOf(10, at);
      const length = Number(out.subarray(at, nl).toString());
      messages.push(out.subarray(nl + 1, nl + 1 + length));
      at = nl + 1 + length;
    }
    return messages;
  }

  /**
   * For each message: how many entries of inbox `name` have its content hash
   * (the whole inbox is hashed), and whether the over index finds it under its
   * Message-ID, or digest2mid(content_digest) when it has none.
   */
  stored(name: string, bodies: readonly Buffer[]): Array<{ count: number; byMid: boolean }> {
    const input = Buffer.concat(bodies.flatMap((b) => [Buffer.from(`${b.length}\n`), b]));
    const lines = this.perl(COUNT, [name], input).toString().trim().split("\n").filter((l) => l !== "");
    return lines.map((l) => {
      const [count, byMid] = l.split(" ");
      return { count: Number(count), byMid: byMid === "1" };
    });
  }

  private perl(script: string, args: string[], input: Buffer): Buffer {
    return execFileSync("perl", ["-e", script, ...args], { env: this.env, input, maxBuffer: 256 * 1024 * 1024, ...SYNC_CHILD });
  }
}

/**
 * The bytes the sink gave public-inbox: the stored message without what -mda
 * appended to its header, a List-Id and, to a message without one, the
 * Message-ID it made (digest2mid: "...@z").
 */
export function asDelivered(stored: Buffer, address: string): Buffer {
  const text = stored.toString("latin1");
  const end = text.indexOf("\n\n");
  if (end < 0) return stored;
  const head = text.slice(0, end).split("\n");
  if (/^Message-ID: <[\w.-]+@z>$/.test(head.at(-1) ?? "")) head.pop();
  if (head.at(-1) === `List-Id: <${address.replace("@", ".")}>`) head.pop();
  return Buffer.from(`${head.join("\n")}${text.slice(end)}`, "latin1");
}

// Both end with POSIX::_exit: public-inbox's cleanup at global destruction clobbers the exit status.
const PRELUDE = String.raw`
use strict; use v5.10.1; use POSIX ();
use PublicInbox::Config; use PublicInbox::Eml; use PublicInbox::MID qw(mids); use PublicInbox::Import;
use PublicInbox::ContentHash qw(content_hash content_digest);
binmode STDIN; binmode STDOUT;
my $ibx = PublicInbox::Config->new->lookup_name($ARGV[0]) or do { print STDERR "no inbox $ARGV[0]\n"; POSIX::_exit(3) };
my $over = $ibx->over or do { print STDERR "no over index\n"; POSIX::_exit(3) };
my $nums = $over->dbh->selectcol_arrayref('SELECT num FROM over WHERE num > 0 ORDER BY num');
`;

const READ_ALL = String.raw`${PRELUDE}
for my $num (@$nums) {
	my $raw = $ibx->msg_by_smsg($over->get_art($num));
	print length($$raw), "\n", $$raw;
}
close(STDOUT);
POSIX::_exit(0);
`;

const COUNT = String.raw`${PRELUDE}
my %hashes;
$hashes{content_hash($ibx->smsg_eml($over->get_art($_)))}++ for @$nums;
while (defined(my $len = <STDIN>)) {
	read(STDIN, my $str, $len) == $len or die "short\n";
	$str =~ s/\A[\r\n]*From [^\r\n]*\r?\n//s;
	my $eml = PublicInbox::Eml->new($str);
	my $hash = content_hash($eml);
	my $mid = mids($eml)->[0] // PublicInbox::Import::digest2mid(content_digest($eml), $eml);
	my ($id, $prev, $found) = (undef, undef, 0);
	while (my $smsg = $over->next_by_mid($mid, \$id, \$prev)) {
		$found = 1 if content_hash($ibx->smsg_eml($smsg)) eq $hash;
	}
	print $hashes{$hash} // 0, " $found\n";
}
close(STDOUT);
POSIX::_exit(0);
`;
