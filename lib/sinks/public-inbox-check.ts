// Ask public-inbox itself which messages an inbox holds: one Perl run per
// batch, with public-inbox's own modules, the same way public-inbox-mda
// finds the inbox and dedupes. For each (list, message) it answers which
// inbox the list's messages go to and whether that inbox holds the message,
// compared by public-inbox's content hash (PublicInbox::ContentHash), never
// by Message-ID alone: a v2 inbox keeps a second message under a known
// Message-ID when the content differs.
//
// Lookup: a list name with "@" is the posting address, looked up as -mda
// looks up ORIGINAL_RECIPIENT (publicinbox.NAME.address, any case); one
// without "@" is taken for the inbox NAME itself (publicinbox.NAME), whose
// first address is then the recipient.
//
// The content hashed is what -mda would store: the leading "From " line
// cut, then the inbox's filter applied (-mda's default, the strict
// PublicInbox::Filter::Base, when none is set). -mda only adds List-Id
// (not hashed) and, for a message without one, a Message-ID
// (digest2mid(content_digest), from the Date, else Received, else the time
// of import: then only its digest part is known, and the msgid table is
// searched for it).
//
// Measured here (2 busy cores): a run costs ~0.3 s of CPU (loading the
// modules), about what one public-inbox-mda costs; lookups are ~1 ms.

import { access } from "node:fs/promises";
import { SinkError } from "../errors.js";
import { runProgram } from "./run-program.js";

export type InboxCheck =
  | { status: "unknown" }
  /** Trouble with the inbox (its index, its filter): worth waiting for. */
  | { status: "error"; error: string; inbox?: string }
  /** public-inbox cannot parse or hash this message: no later attempt will. */
  | { status: "unreadable"; error: string; inbox: string }
  | {
      status: "stored" | "absent";
      inbox: string;
      /** The inbox's first address: ORIGINAL_RECIPIENT for a list named after the inbox. */
      address: string;
      /** The filter -mda applies; its verdict when it will not store the message as is. */
      filter: string;
      verdict?: "reject" | "ignore";
      reason?: string;
      /** content_hash, hex. */
      hash: string;
      /** The Message-ID it is (or would be) stored under. */
      mid: string;
    };

export interface CheckItem {
  list: string;
  body: Buffer;
}

/** One Perl run: the answer for each item, in order. A run that fails is a temporary SinkError. */
export async function checkInbox(config: string, items: readonly CheckItem[], timeoutMs = 0): Promise<InboxCheck[]> {
  try {
    await access(config);
  } catch (err) {
    throw new SinkError(`public-inbox config ${config} cannot be read (${(err as Error).message}): set PI_CONFIG or give public-inbox:PATH`, { transient: true, cause: err });
  }
  const input = Buffer.concat(items.flatMap(({ list, body }) => [Buffer.from(`${Buffer.byteLength(list)} ${body.length}\n${list}`), body]));
  const outcome = await runProgram("perl", ["-e", CHECK_SCRIPT], { env: { ...process.env, PI_CONFIG: config }, input, timeoutMs, stdout: true });
  const failed = (what: string): SinkError =>
    new SinkError(`cannot look into the public-inbox inboxes of ${config}: ${what} (is public-inbox installed?)`, { transient: true });
  if (outcome.type === "not-run") throw failed(outcome.message);
  if (outcome.code !== 0) throw failed(`perl ${outcome.signal ?? `exit ${outcome.code}`}${outcome.timedOut ? " (timed out)" : ""}: ${outcome.stderr}`);
  const lines = outcome.stdout.toString("utf8").split("\n").filter((l) => l !== "");
  if (lines.length !== items.length) throw failed(`${lines.length} answers for ${items.length} messages: ${outcome.stderr}`);
  return lines.map((line) => parseCheck(line, failed));
}

function parseCheck(line: string, failed: (what: string) => SinkError): InboxCheck {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw failed(`not JSON: ${line.slice(0, 200)}`);
  }
  const v = value as Record<string, unknown>;
  const str = (key: string): string => (typeof v[key] === "string" ? (v[key] as string) : "");
  switch (v.status) {
    case "unknown":
      return { status: "unknown" };
    case "error":
      return { status: "error", error: str("error").trim(), ...(v.inbox === undefined ? {} : { inbox: str("inbox") }) };
    case "unreadable":
      return { status: "unreadable", error: str("error").trim(), inbox: str("inbox") };
    case "stored":
    case "absent": {
      const verdict = v.verdict === "reject" || v.verdict === "ignore" ? { verdict: v.verdict as "reject" | "ignore", reason: str("reason") } : {};
      return { status: v.status, inbox: str("inbox"), address: str("address"), filter: str("filter"), hash: str("hash"), mid: str("mid"), ...verdict };
    }
    default:
      throw failed(`unexpected answer: ${line.slice(0, 200)}`);
  }
}

// Requests on stdin: "LISTLEN BODYLEN\n", the list name, the message; one JSON line out for each.
// It ends with POSIX::_exit: a plain exit status is clobbered by public-inbox's cleanup at global
// destruction (an `exit 1` came out as 0).
const CHECK_SCRIPT = String.raw`
use strict;
use v5.10.1;
use POSIX ();
use JSON::PP ();
use PublicInbox::Config;
use PublicInbox::Eml;
use PublicInbox::InboxWritable;
use PublicInbox::ContentHash qw(content_hash content_digest);
use PublicInbox::MID qw(mids);
use PublicInbox::Import;
use PublicInbox::MsgTime;
use PublicInbox::Filter::Base;

my $json = JSON::PP->new->ascii->canonical;
my $status = 0;
eval {
	binmode STDIN;
	$| = 1;
	my $cfg = PublicInbox::Config->new;
	my %inboxes;
	while (defined(my $head = <STDIN>)) {
		my ($llen, $blen) = ($head =~ /\A([0-9]+) ([0-9]+)\n\z/) or die "bad request line\n";
		my $list = read_exactly($llen);
		my $str = read_exactly($blen);
		my $ibx = $inboxes{$list} //= inbox_for($cfg, $list);
		my $r = eval { check($ibx, \$str) } // { status => 'error', error => "$@", ($ibx ? (inbox => $ibx->{name}) : ()) };
		print $json->encode($r), "\n";
	}
	1;
} or do {
	print STDERR $@;
	$status = 1;
};
close(STDOUT) or $status = 1;
POSIX::_exit($status);

sub read_exactly {
	my ($n) = @_;
	my $buf = '';
	while (length($buf) < $n) {
		my $r = read(STDIN, $buf, $n - length($buf), length($buf));
		die "short request\n" unless $r;
	}
	$buf;
}

sub inbox_for {
	my ($cfg, $list) = @_;
	my $ibx = $list =~ /\@/ ? $cfg->lookup($list) : $cfg->lookup_name($list);
	$ibx ? PublicInbox::InboxWritable->new($ibx) : 0;
}

# Dies for trouble with the inbox (its index, its filter); a message public-inbox cannot read is an answer.
sub check {
	my ($ibx, $sref) = @_;
	return { status => 'unknown' } unless $ibx;
	my $r = { inbox => $ibx->{name}, address => $ibx->{-primary_address} };
	my $filter = filter_for($ibx);
	$r->{filter} = ref($filter);
	my ($eml, $hash) = eval { as_stored($filter, $sref, $r) };
	return { %$r, status => 'unreadable', error => "$@" } unless defined $hash;
	$r->{hash} = unpack('H*', $hash);
	my $over = $ibx->over or die "cannot open the over index of $ibx->{inboxdir} (a v1 inbox needs public-inbox-index first)\n";
	my ($mid, $num) = find($ibx, $over, $eml, $hash);
	$r->{status} = defined($num) ? 'stored' : 'absent';
	$r->{mid} = $mid;
	$r;
}

# The message as -mda would store it, and its content hash; the filter's verdict goes in $r.
sub as_stored {
	my ($filter, $sref, $r) = @_;
	$$sref =~ s/\A[\r\n]*From [^\r\n]*\r?\n//s;
	my $eml = PublicInbox::Eml->new($$sref);
	my $ret = $filter->delivery($eml);
	if (ref($ret) && $ret->isa('PublicInbox::Eml')) {
		$eml = $ret;
	} elsif ($ret == PublicInbox::Filter::Base::IGNORE) {
		$r->{verdict} = 'ignore';
	} elsif ($ret == PublicInbox::Filter::Base::REJECT) {
		$r->{verdict} = 'reject';
		$r->{reason} = $filter->err;
	}
	($eml, content_hash($eml));
}

# As public-inbox-mda picks it (mda_filter_adjust).
sub filter_for {
	my ($ibx) = @_;
	my $f = $ibx->{filter} // '';
	$ibx->{filter} = 'PublicInbox::Filter::Base' if $f eq '';
	$ibx->{filter} = 'PublicInbox::Filter::Mirror' if $f eq 'scrub';
	$ibx->filter // die "cannot load the filter $ibx->{filter} of inbox $ibx->{name}\n";
}

sub find {
	my ($ibx, $over, $eml, $hash) = @_;
	my $mids = mids($eml);
	for my $mid (@$mids) {
		my $num = find_by_mid($ibx, $over, $mid, $hash);
		return ($mid, $num) if defined $num;
	}
	# v2 stores it under a Message-ID of its own when it has none, or when all of its own are taken.
	my $mid0 = PublicInbox::Import::digest2mid(content_digest($eml), $eml);
	my $own = $mids->[0] // $mid0;
	return ($own) if grep { !known($over, $_) } @$mids;
	my $num = find_by_mid($ibx, $over, $mid0, $hash);
	return ($mid0, $num) if defined $num;
	return ($own) if PublicInbox::MsgTime::msg_date_only($eml) || PublicInbox::MsgTime::msg_received_at($eml);
	# No Date nor Received: the date part of that Message-ID was the time of import; its digest part is known.
	my ($tail) = ($mid0 =~ /(\.[A-Za-z0-9_\-]+\@z)\z/) or return ($own);
	my $made = $over->dbh->selectcol_arrayref('SELECT mid FROM msgid WHERE mid GLOB ?', undef, "*$tail");
	for my $mid (@$made) {
		$num = find_by_mid($ibx, $over, $mid, $hash);
		return ($mid, $num) if defined $num;
	}
	($own);
}

sub known {
	my ($over, $mid) = @_;
	defined $over->dbh->selectrow_array('SELECT id FROM msgid WHERE mid = ? LIMIT 1', undef, $mid);
}

sub find_by_mid {
	my ($ibx, $over, $mid, $hash) = @_;
	my ($id, $prev);
	while (my $smsg = $over->next_by_mid($mid, \$id, \$prev)) {
		my $stored = $ibx->smsg_eml($smsg) // next;
		return $smsg->{num} if content_hash($stored) eq $hash;
	}
	undef;
}
`;
