// Every command's options, in one place. bin/ turns these into yargs
// commands; the publish fast path reads them with node:util parseArgs.

import type { OptionSpecs, Resolved } from "./spec.js";

const common = {
  config: { type: "string", describe: "JSON config file (top-level keys, or a section named after the command)" },
} satisfies OptionSpecs;

const logging = {
  "log-level": {
    type: "string",
    describe: "log level: fatal, error, warn, info, debug or trace (JSON lines on stderr)",
    default: "info",
  },
} satisfies OptionSpecs;

export const PUBLISH_OPTIONS = {
  ...common,
  db: { type: "string", describe: "outbox database file (created if missing)", required: true },
  list: { type: "string", describe: "list the message was posted to, e.g. dev@lists.example.org (required but with --event)" },
  file: { type: "string", describe: "message file, or with --event the event's JSON (default: standard input)", cliOnly: true },
  event: {
    type: "boolean",
    describe: "commit one list event (JSON: type, list, and id, at, address, display_name where they apply) instead of a message",
    default: false,
    cliOnly: true,
  },
  mbox: { type: "string", describe: "bulk import: every message of this mbox (mboxrd quoting undone)", cliOnly: true },
  maildir: { type: "string", describe: "bulk import: every message in this maildir (cur/ and new/)", cliOnly: true },
  spool: { type: "string", describe: "import once what waits in this spool (what the Mailman plugin spooled), then exit", cliOnly: true },
  "max-size": { type: "size", describe: "largest message accepted", default: "64MiB" },
  quiet: { type: "boolean", describe: "bulk import: no progress bar", default: false },
} satisfies OptionSpecs;

export type PublishOptions = Resolved<typeof PUBLISH_OPTIONS>;

/** The daemons' metrics endpoint (lib/metrics). */
export const METRICS_OPTIONS = {
  metrics: {
    type: "string",
    describe: "serve Prometheus metrics (/metrics) and a health check (/healthz) over HTTP on HOST:PORT, e.g. 127.0.0.1:9580 (loopback only unless --metrics-remote)",
  },
  "metrics-remote": { type: "boolean", describe: "allow --metrics on a non-loopback address", default: false },
} satisfies OptionSpecs;

export const SERVE_OPTIONS = {
  ...common,
  ...logging,
  db: { type: "string", describe: "outbox database file (created if missing)", required: true },
  bind: {
    type: "string",
    describe: "ROUTER endpoint peers connect to; the PUB socket binds the next port unless --pub-bind is given",
    default: "tcp://127.0.0.1:5580",
  },
  "pub-bind": { type: "string", describe: "PUB endpoint (default: --bind with port + 1; announced to peers)" },
  "announce-pub": {
    type: "string",
    describe: "PUB endpoint to announce instead of the bound one (NAT, port forwarding, a relay); peers keep their --connect host",
  },
  key: { type: "string", describe: "this publisher's secret key file (from mq-archive keygen)" },
  peers: {
    type: "string",
    describe: "allowlist: one '<public-key> [name=NAME] [lists=GLOB,...]' per line; re-read on change and SIGHUP",
  },
  insecure: {
    type: "boolean",
    describe: "run without CURVE encryption and authentication: every peer is trusted (loopback only)",
    default: false,
  },
  "insecure-remote": {
    type: "boolean",
    describe: "with --insecure, allow binding a non-loopback address (plaintext over the network)",
    default: false,
  },
  retain: {
    type: "duration",
    describe: "keep records this long after every registered peer acknowledged them",
    default: "7d",
  },
  heartbeat: { type: "duration", describe: "heartbeat interval; a peer silent for 3 intervals is dropped", default: "1s" },
  spool: { type: "string", describe: "import what the Mailman plugin spools here (DIR/lists/<list>/new/) as it arrives" },
  ...METRICS_OPTIONS,
  "max-size": { type: "size", describe: "largest spooled message accepted (as publish's --max-size)", default: "64MiB" },
} satisfies OptionSpecs;

/** What the sinks take beyond their specs: subscribe's and bench's (config/sinks.ts turns them into SinkOptions). */
export const SINK_OPTIONS = {
  "exec-timeout": {
    type: "duration",
    describe: "kill an exec sink command running longer than this (a failed attempt); 0 for no limit",
    default: "10m",
  },
  "mhonarc-timeout": {
    type: "duration",
    describe: "stop a mhonarc run (of up to 250 messages) taking longer than this: SIGTERM, then SIGKILL and its lock removed; a failed attempt; 0 for no limit",
    default: "5m",
  },
  "smtp-url": {
    type: "string",
    describe: "smtp sinks' server: smtp://HOST[:PORT], smtp+starttls://[USER:PASSWORD@]HOST[:PORT] (STARTTLS required) or smtps://... (TLS); a password is better in MQ_ARCHIVE_SMTP_URL or --config than here",
    default: "smtp://127.0.0.1:25",
  },
  "smtp-from": {
    type: "string",
    describe: "smtp sinks' envelope sender (MAIL FROM, where bounces go), or <> for the null reverse-path (default: mq-archive@<host name>)",
  },
  "smtp-timeout": {
    type: "duration",
    describe: "smtp sinks: longest wait to connect, for the greeting and for each reply (a temporary failure)",
    default: "5m",
  },
  "smtp-ca": {
    type: "string",
    describe: "smtp sinks: PEM file of the certificate authorities to trust for the server's certificate, instead of the system's",
  },
  "hyperkitty-key-file": {
    type: "string",
    describe: "hyperkitty sink: a file holding HyperKitty's MAILMAN_ARCHIVER_KEY (not readable by others; read again after HyperKitty refuses it)",
  },
  "hyperkitty-timeout": {
    type: "duration",
    describe: "hyperkitty sink: give up on one POST after this long (a temporary failure, retried)",
    default: "60s",
  },
  "public-inbox-timeout": {
    type: "duration",
    describe: "kill a public-inbox-mda (or the sink's perl check) running longer than this, e.g. waiting on an inbox lock public-inbox-index holds: a temporary failure, retried; 0 for no limit",
    default: "10m",
  },
} satisfies OptionSpecs;

export const SUBSCRIBE_OPTIONS = {
  ...common,
  ...logging,
  connect: {
    type: "array",
    describe:
      "the publisher's endpoint (its --bind), e.g. tcp://mail.example.org:5580; repeat for relays of the same origin, in order of preference: the next is tried after 10 s without a session, the first again after 5 minutes on another",
    required: true,
  },
  "failover-after": {
    type: "duration",
    describe: "with several --connect: without a session this long, try the next endpoint",
    default: "10s",
  },
  "return-after": {
    type: "duration",
    describe: "with several --connect: on a later endpoint, try the first again after this long",
    default: "5m",
  },
  state: { type: "string", describe: "state database file: position, journal, dead letters (created if missing)", required: true },
  sink: {
    type: "array",
    describe: "where to store records: maildir:DIR, mbox:DIR, mhonarc:DIR, hyperkitty:URL, public-inbox[:PI_CONFIG], smtp:ADDRESS (messages), events:DIR (list events), outbox:PATH (relay: records for serve --db PATH), exec:COMMAND or null (repeatable; all must store before an ack)",
    required: true,
  },
  lists: { type: "list", describe: "only these lists (comma-separated; default: every list)" },
  name: { type: "string", describe: "this peer's name in the publisher's status (default: host name)" },
  key: { type: "string", describe: "this peer's secret key file (from mq-archive keygen)" },
  "server-key": { type: "array", describe: "the publisher's public key: Z85 text or its .pub file; with several --connect, one for each, in the same order (or one for all)" },
  insecure: {
    type: "boolean",
    describe: "connect without CURVE encryption and authentication",
    default: false,
  },
  start: {
    type: "string",
    describe: "where a peer with no state starts: all (every retained record, the default), new (only records committed after its first session starts), seq:N (from seq N) or time:ISO-8601 (from the first record received at or after it); recorded in the state, ignored once it has a position",
  },
  "accept-outbox": {
    type: "string",
    describe: "follow this new outbox id after the publisher's outbox was replaced (already archived Message-IDs are skipped)",
  },
  credit: { type: "size", describe: "bytes the publisher may send ahead of what is stored", default: "8MiB" },
  ...SINK_OPTIONS,
  ...METRICS_OPTIONS,
  "retry-max": {
    type: "duration",
    describe: "longest wait between retries of a failing sink (the wait doubles from 100ms up to this)",
    default: "30s",
  },
  "exec-retries": {
    type: "number",
    describe: "attempts before a permanently failing message is set aside as a dead letter",
    default: 5,
  },
} satisfies OptionSpecs;

export const VERIFY_OPTIONS = {
  ...common,
  ...logging,
  connect: { type: "string", describe: "the publisher's endpoint (origin or relay), as for subscribe", required: true },
  state: { type: "string", describe: "the archive peer's state file (--state of subscribe)", required: true },
  sink: {
    type: "array",
    describe: "the peer's sinks: read back what maildir:DIR and mbox:DIR hold and compare it with the state; with --repair, store through them",
  },
  lists: { type: "list", describe: "only these lists (comma-separated; default: every list this peer may receive)" },
  repair: { type: "boolean", describe: "fetch what is missing and still retained, store it through the sinks and record it", default: false },
  name: SUBSCRIBE_OPTIONS.name,
  key: SUBSCRIBE_OPTIONS.key,
  "server-key": { type: "string", describe: "the publisher's public key (origin or relay): Z85 text or its .pub file" },
  insecure: SUBSCRIBE_OPTIONS.insecure,
  timeout: { type: "duration", describe: "longest wait for one answer from the publisher", default: "30s" },
  json: { type: "boolean", describe: "print the report as JSON", default: false },
  ...SINK_OPTIONS,
} satisfies OptionSpecs;

export const STATUS_OPTIONS = {
  ...common,
  db: { type: "string", describe: "the publisher's outbox: its peers, their positions and lag" },
  state: { type: "string", describe: "an archive peer's state file instead: its position and dead letters" },
  spool: { type: "string", describe: "also (or only) the spool: messages waiting, their age, rejected ones" },
  json: { type: "boolean", describe: "print JSON instead of a table", default: false },
  watch: { type: "boolean", describe: "redraw the table every second until Ctrl-C (for a terminal)", default: false },
} satisfies OptionSpecs;

export const DEAD_LETTERS_OPTIONS = {
  ...common,
  state: { type: "string", describe: "the archive peer's state file (--state of subscribe)", required: true },
  all: { type: "boolean", describe: "retry: every dead letter", default: false },
  json: { type: "boolean", describe: "list: print JSON", default: false },
} satisfies OptionSpecs;

export const KEYGEN_OPTIONS = {
  out: { type: "string", describe: "write OUT.key (secret, mode 0600) and OUT.pub; never overwrites", required: true },
} satisfies OptionSpecs;

export const BENCH_OPTIONS = {
  messages: { type: "number", describe: "messages to publish", default: 50_000 },
  size: { type: "size", describe: "bytes per message", default: "10KB" },
  subscribers: { type: "number", describe: "subscriber processes", default: 1 },
  sink: {
    type: "string",
    describe: "the subscribers' sink: null, maildir or mbox (in the working directory), or a full sink spec such as mhonarc:DIR",
    default: "null",
  },
  ...SINK_OPTIONS,
  rate: { type: "number", describe: "publish at this many messages per second, one fsync'd commit each (latency mode)" },
  backlog: { type: "boolean", describe: "publish everything first, then start the subscribers (catch-up mode)", default: false },
  secure: { type: "boolean", describe: "CURVE on (keys generated for the run)", default: false },
  metrics: { type: "boolean", describe: "metrics endpoints on in serve and the subscribers, each scraped every second", default: false },
  json: { type: "boolean", describe: "print the report as JSON", default: false },
  dir: { type: "string", describe: "working directory (default: a new temporary one, removed afterwards)" },
  role: { type: "string", describe: "internal: the part a child process plays", cliOnly: true },
  spec: { type: "string", describe: "internal: the child's job, as JSON", cliOnly: true },
} satisfies OptionSpecs;

export const KNOWN_COMMANDS: ReadonlySet<string> = new Set([
  "publish", "serve", "subscribe", "status", "keygen", "bench", "dead-letters", "verify",
]);

/** Every option name any command knows: a config key outside this set is a typo. */
export const KNOWN_OPTIONS: ReadonlySet<string> = new Set(
  [PUBLISH_OPTIONS, SERVE_OPTIONS, SUBSCRIBE_OPTIONS, STATUS_OPTIONS, KEYGEN_OPTIONS, BENCH_OPTIONS, DEAD_LETTERS_OPTIONS, VERIFY_OPTIONS].flatMap(
    (s) => Object.keys(s),
  ),
);
