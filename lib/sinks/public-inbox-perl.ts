// The Perl side of the public-inbox sink's checks (public-inbox-check.ts),
// kept running for the sink's life: loading public-inbox's modules costs
// ~0.3 s of CPU, a request for one message a few ms.
//
// A request on stdin: "N\n", then N times "LISTLEN BODYLEN\n", the list
// name and the message. The answer: one JSON line, {"ok":true,"answers":
// [one per message]} or {"ok":false,"error":...}. The config is read again
// when its file changed (an inbox added is seen at the next request), an
// index rebuilt since is reopened, and a blob git cat-file cannot find is
// asked of a fresh one (an epoch -mda began since).
//
// It exits at end of input with POSIX::_exit: a plain exit status is
// clobbered by public-inbox's cleanup at global destruction (an `exit 1`
// came out as 0).

export const CHECK_SCRIPT = String.raw`
use strict;
use v5.10.1;
use POSIX ();
use Time::HiRes ();
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
binmode STDIN;
binmode STDOUT;
$| = 1;
my $ok = eval {
	while (defined(my $head = <STDIN>)) {
		my ($n) = ($head =~ /\A([0-9]+)\n\z/) or die "bad request line\n";
		my @items = map { [read_item()] } 1 .. $n;
		my $res = eval { +{ ok => JSON::PP::true, answers => answer(\@items) } } //
			+{ ok => JSON::PP::false, error => "$@" };
		print $json->encode($res), "\n";
	}
	1;
};
print STDERR $@ unless $ok;
POSIX::_exit($ok ? 0 : 1);

sub read_item {
	my ($llen, $blen) = (<STDIN> // '') =~ /\A([0-9]+) ([0-9]+)\n\z/ or die "bad item line\n";
	(read_exactly($llen), read_exactly($blen));
}

sub read_exactly {
	my ($n) = @_;
	my $buf = '';
	while (length($buf) < $n) {
		my $r = read(STDIN, $buf, $n - length($buf), length($buf));
		die "short request\n" unless $r;
	}
	$buf;
}

# Kept between requests while the config file stays the same file, unchanged: re-reading it
# (git config) and starting git cat-file again cost ~50-100 ms each, a lookup a few.
my ($cfg, $cfg_key, %inboxes);

sub answer {
	my ($items) = @_;
	config_now();
	my @out;
	for my $item (@$items) {
		my ($list, $str) = @$item;
		my $ibx = $inboxes{$list} //= inbox_for($cfg, $list);
		push @out, eval { check($ibx, \$str) } //
			+{ status => 'error', error => "$@", ($ibx ? (inbox => $ibx->{name}) : ()) };
	}
	\@out;
}

sub config_now {
	my @st = Time::HiRes::stat($ENV{PI_CONFIG}) or die "cannot stat $ENV{PI_CONFIG}: $!\n";
	my $key = join(',', @st[0, 1, 7, 9]); # device, inode (git config renames a new file in), size, mtime
	if (defined($cfg_key) && $key eq $cfg_key) {
		# An index rebuilt since (public-inbox-index --reindex, -xcpdb) is another file: reopen it.
		$_->{over}->check_inodes for grep { $_ && $_->{over} } values %inboxes;
		return;
	}
	for my $ibx (grep { $_ } values %inboxes) {
		$ibx->{git}->cleanup if $ibx->{git};
	}
	%inboxes = ();
	$cfg = PublicInbox::Config->new;
	$cfg_key = $key;
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
	usable($ibx);
	my $over = $ibx->over or die "cannot open the over index of $ibx->{inboxdir} (a v1 inbox needs public-inbox-index first)\n";
	my ($mid, $num) = find($ibx, $over, $eml, $hash);
	$r->{status} = defined($num) ? 'stored' : 'absent';
	$r->{mid} = $mid;
	$r;
}

# An open index outlives its directory: a disk not mounted, a directory moved by hand, must
# stop the peer (a temporary failure), not let -mda fail on each message in turn.
sub usable {
	my ($ibx) = @_;
	my $dir = $ibx->{inboxdir};
	my $git = ($ibx->version // 1) == 2 ? "$dir/all.git" : $dir;
	return if -d "$git/objects";
	die "the directory of inbox $ibx->{name}, $dir, is missing or not a public-inbox inbox (a disk not mounted? moved?): " .
		"restore it, or fix publicinbox.$ibx->{name}.inboxdir\n";
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
		my $stored = stored_eml($ibx, $smsg) // next;
		return $smsg->{num} if content_hash($stored) eq $hash;
	}
	undef;
}

# A git cat-file finds the packs -mda writes after its start (git 2.39, checked), but it reads all.git's
# alternates once: a blob in an epoch begun since may need a fresh one.
sub stored_eml {
	my ($ibx, $smsg) = @_;
	my $eml = $ibx->smsg_eml($smsg);
	return $eml if $eml;
	$ibx->{git}->cleanup if $ibx->{git};
	delete $ibx->{git};
	$ibx->smsg_eml($smsg);
}
`;
