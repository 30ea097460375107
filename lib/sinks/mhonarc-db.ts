// What MHonArc really holds: one Perl run per mhonarc run reads the
// archive's database (DIR/<list>/.mhonarc.db, Perl that `do` loads) and says,
// for each message file of the batch handed to mhonarc, whether its
// Message-ID is in %MsgId, and the name of its page.
//
// The id is computed as mhonarc computes it (mhamain.pl, read_mail_header),
// from the same file, through MHonArc's own header reader (readmail.pl): the
// first Message-ID, Msg-ID or Content-ID field, the text inside its first
// <...> (else trimmed); none: md5_hex(raw header) . "@NO-ID-FOUND.mhonarc.org".
// A message without Message-ID is thus confirmed under the id mhonarc
// invented for it, which depends only on its header bytes (ours never
// change), so a redelivered copy is found, and skipped by mhonarc, too.

import { spawn } from "node:child_process";
import { SinkError } from "../errors.js";

/** Where MHonArc is: the perl that runs it and the directories its library lives in. */
export interface MhonarcInstall {
  program: string;
  perl: string;
  libDirs: readonly string[];
}

export interface Confirmation {
  /** Each message file's id as mhonarc computes it, and whether %MsgId holds it. */
  ids: string[];
  found: boolean[];
  /** The page of each found message (msg00012.html), "" where not found. */
  pages: string[];
}

// Perl, not shell: run as `perl -I LIB -e SCRIPT -- DB FOLDER` (FOLDER: files 1..n), or `-- --check`.
// POSIX::_exit so that no cleanup at global destruction can change the status.
const SCRIPT = String.raw`
use strict; use warnings; use POSIX (); use Digest::MD5 ();
sub fail { print STDERR @_, "\n"; POSIX::_exit(2); }
eval { require 'readmail.pl'; 1 } or fail("cannot load MHonArc's readmail.pl: $@");
if (($ARGV[0] // '') eq '--check') { POSIX::_exit(0); }
my ($db, $folder) = @ARGV;
our (%MsgId, %IndexNum, $MsgPrefix, $HtmlExt, $GzipFiles);
if (-e $db) {
  package main;
  my $ok = do $db;
  main::fail("cannot read MHonArc database $db: $@") if $@;
  main::fail("cannot read MHonArc database $db: $!") if !defined $ok && $!;
}
opendir(my $dh, $folder) or fail("cannot open $folder: $!");
my @files = sort { $a <=> $b } grep { /^\d+$/ } readdir($dh);
closedir($dh);
my $out = '';
for my $name (@files) {
  open(my $fh, '<', "$folder/$name") or fail("cannot open $folder/$name: $!");
  my ($fields, $header) = readmail::MAILread_file_header($fh);
  close($fh);
  my $id = $fields->{'message-id'}[0] || $fields->{'msg-id'}[0] || $fields->{'content-id'}[0];
  if (defined $id) {
    if ($id =~ /<([^>]*)>/) { $id = $1; } else { $id =~ s/^\s+//; $id =~ s/\s+$//; }
  } else {
    $id = Digest::MD5::md5_hex($header) . '@NO-ID-FOUND.mhonarc.org';
  }
  my $key = $MsgId{$id};
  my $page = '';
  if (defined $key && defined $IndexNum{$key}) {
    $page = sprintf('%s%05d.%s', $MsgPrefix // 'msg', $IndexNum{$key}, $HtmlExt // 'html') . ($GzipFiles ? '.gz' : '');
  }
  $id =~ s/[\t\n]/ /g;
  $out .= join("\t", defined $key ? 1 : 0, $page, $id) . "\n";
}
print $out;
close(STDOUT) or fail("cannot write: $!");
POSIX::_exit(0);
`;

/** Check that perl runs and loads MHonArc's library: a clear error at start, not at the first message. */
export async function checkInstall(install: MhonarcInstall): Promise<void> {
  const r = await runPerl(install, ["--check"]);
  if (r.code !== 0) {
    throw new SinkError(`cannot use MHonArc's library (${install.libDirs.join(", ") || "perl's @INC"}) with ${install.perl}: ${r.stderr.trim()}`, {
      transient: false,
    });
  }
}

/**
 * Which of the `count` files in `folder` (named 1..count) the archive in
 * `db` holds. A database we cannot read confirms nothing: a temporary
 * failure (a person can repair or restore it), never an acknowledgement.
 */
export async function confirmStored(install: MhonarcInstall, db: string, folder: string, count: number): Promise<Confirmation> {
  const r = await runPerl(install, [db, folder]);
  const lines = r.stdout.split("\n").filter((l) => l !== "");
  if (r.code !== 0 || lines.length !== count) {
    const why = r.code !== 0 ? r.stderr.trim() || `perl exit ${r.code}` : `${lines.length} answers for ${count} messages`;
    throw new SinkError(`cannot confirm what MHonArc stored in ${db}: ${why}`, { transient: true });
  }
  const out: Confirmation = { ids: [], found: [], pages: [] };
  for (const line of lines) {
    const [found = "0", page = "", ...id] = line.split("\t");
    out.found.push(found === "1");
    out.pages.push(page);
    out.ids.push(id.join("\t"));
  }
  return out;
}

function runPerl(install: MhonarcInstall, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const include = install.libDirs.flatMap((d) => ["-I", d]);
  return new Promise((resolve) => {
    const child = spawn(install.perl, [...include, "-e", SCRIPT, "--", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => {
      if (stderr.length < 4096) stderr += c.toString("utf8");
    });
    child.on("error", (err) => resolve({ code: -1, stdout: "", stderr: `cannot run ${install.perl}: ${err.message}` }));
    child.on("close", (code) => resolve({ code, stdout: Buffer.concat(out).toString("latin1"), stderr }));
  });
}
