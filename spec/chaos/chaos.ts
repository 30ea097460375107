// The chaos run: serve and three subscribers (maildir, mbox, exec) as real
// processes, messages published at a steady rate through `publish` (bulk
// and single), and faults injected at moments chosen from a seed. Then it
// waits until everything is quiet and checks that every archive holds every
// message exactly once, byte-identical, in per-list order; that poisoned
// messages sit in the dead-letter store; and that pruning never went past
// what every peer acknowledged. A chain (chain.ts) rides along: an archive
// relay fed by the origin and a mirror failing over between relay and
// origin; their archives are checked the same way.

import { chmodSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateKeyPair, writeKeyFiles } from "../../lib/security/keys.js";
import { mboxEntry } from "../../lib/sinks/mbox.js";
import { Outbox } from "../../lib/store/outbox.js";
import { Daemon, killAllDaemons, runCli } from "../helpers/cli.js";
import { readRetention } from "../helpers/outbox-sql.js";
import { makeMessage, type TestMessage } from "../helpers/messages.js";
import { freePortPair } from "../helpers/ports.js";
import { seededRandom } from "../helpers/seeded.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { Chain, MIRROR_PEER, RELAY_PEER } from "./chain.js";
import { FaultInjector, realDirOf, type Subscribers } from "./faults.js";
import { TcpProxy } from "./proxy.js";
import { verifyArchives, verifyChain, type Verdict } from "./verify.js";

export interface ChaosOptions {
  messages: number;
  seconds: number;
  seed: number;
  dir?: string;
  say?: (line: string) => void;
}

export interface ChaosResult extends Verdict {
  messages: number;
  faults: number;
  faultsByKind: Record<string, number>;
  seed: number;
  seconds: number;
  /** How often the mirror moved away from its first endpoint (the relay), and back to it. */
  mirrorFailovers: number;
  mirrorReturns: number;
}

export const LISTS = ["dev", "users", "announce", "security", "ops"];
/**
 * Above this many messages the exec peer follows one list only (--lists):
 * a process per record costs 30–50 ms on a small VM, so 100,000 would keep
 * it busy for over an hour (20,000 kept it at 7 records/s under faults, short of the
 * deadline), and the short run's 2,000 kept every other peer waiting a minute
 * for it after the faults (61 of the run's 100 s). maildir and mbox still take every list.
 */
export const EXEC_ALL_LISTS_UP_TO = 1_000;

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const started = Date.now();
  const say = o.say ?? (() => {});
  // Separate streams, so the fault schedule does not depend on how publishing interleaves with it.
  const random = seededRandom(o.seed);
  const publishRandom = seededRandom(o.seed + 1);
  const faultRandom = seededRandom(o.seed + 2);
  const dir = o.dir ?? tempDir("mqa-chaos-");
  const db = join(dir, "outbox.db");
  const [servePort, proxyPort] = [await freePortPair(), await freePortPair()];
  const messages: TestMessage[] = [];
  for (let i = 0; i < o.messages; i++) {
    const m = makeMessage(LISTS[Math.floor(random() * LISTS.length)]!, i, 400 + Math.floor(random() * 8000));
    messages.push(i % 97 === 13 ? poisoned(m) : m);
  }
  const poison = new Set(messages.filter((m) => m.messageId.startsWith("<poison.")).map((m) => m.messageId));
  const paths = preparePaths(dir);

  const proxies = [new TcpProxy(proxyPort, servePort), new TcpProxy(proxyPort + 1, servePort + 1)];
  for (const r of proxies) await r.open();
  // CURVE on, and every peer in the peers file: registered from the start, so pruning waits for
  // each of them even before its first connection (with --insecure a peer registers at its first hello).
  const keys = writeKeys(dir, ["m", "b", "e", RELAY_PEER, MIRROR_PEER]);
  const serveArgs = [
    "serve", "--db", db, "--bind", `tcp://127.0.0.1:${servePort}`, "--key", keys.publisher, "--peers", keys.peers,
    "--announce-pub", `tcp://127.0.0.1:${proxyPort + 1}`, "--retain", "0s", "--heartbeat", "300ms", "--log-level", "info",
  ];
  const startServe = async (): Promise<Daemon> => {
    const d = Daemon.start(serveArgs);
    await d.waitForLog("publisher listening");
    return d;
  };
  const execLists = o.messages > EXEC_ALL_LISTS_UP_TO ? [LISTS[0]!] : null;
  if (execLists) say(`the exec peer follows ${execLists.join(", ")} only (over ${EXEC_ALL_LISTS_UP_TO} messages)`);
  const subscriberArgs = (name: string, sink: string, extra: string[] = []): string[] => [
    "subscribe", "--connect", `tcp://127.0.0.1:${proxyPort}`, "--key", join(dir, `${name}.key`), "--server-key", keys.publisherPub,
    "--state", join(dir, `${name}.db`), "--sink", sink, "--log-level", "info", ...extra,
  ];
  const subscribers: Subscribers = {
    m: { args: subscriberArgs("m", `maildir:${paths.maildir}`), daemon: null, dir: paths.maildir },
    b: { args: subscriberArgs("b", `mbox:${paths.mbox}`), daemon: null, dir: paths.mbox },
    e: { args: subscriberArgs("e", `exec:${paths.script}`, ["--exec-retries", "2", "--retry-max", "2s", ...(execLists ? ["--lists", execLists.join(",")] : [])]), daemon: null, dir: null },
  };
  const chain = new Chain({
    dir, originEndpoint: `tcp://127.0.0.1:${proxyPort}`, originPub: keys.publisherPub, mirrorPublicKey: keys.publicKeys[MIRROR_PEER]!,
  });
  const violations: string[] = [];
  const retentionViolations: string[] = [];
  const faults = new FaultInjector({ random: faultRandom, proxies, subscribers, startServe, chain, execTempFlag: paths.execTemp, violations, say });
  try {
    await faults.startAll();
    const stopSampler = watchRetention(db, retentionViolations);
    const publishing = publishSteadily(db, dir, messages, o.seconds * 0.7, publishRandom, violations, say);
    const faulting = faults.run(o.seconds * 0.85, Math.max(20, Math.ceil(o.seconds * 0.6)));
    await Promise.all([publishing, faulting]);
    await faults.healAll();
    say(`publishing done and faults healed after ${Math.round((Date.now() - started) / 1000)} s; waiting for every peer to acknowledge everything (${progress(db)})`);
    await waitAllAcked(db, ["m", "b", "e"], chain, 60_000 + o.messages * 20, faults);
    say(`every peer caught up after ${Math.round((Date.now() - started) / 1000)} s`);
    if (stopSampler() === 0) retentionViolations.push("the retention sampler never read the outbox: pruning went unchecked");
    await faults.stopAll();
    const verdict = await verifyArchives({ messages, poison, paths, stateOfExec: join(dir, "e.db"), execLists });
    const moves = chain.moves();
    await verifyChain(messages, paths.maildir, chain.paths, verdict);
    if ((faults.byKind["kill-relay-serve"] ?? 0) > 0 && moves.failovers === 0) {
      verdict.violations.push("the relay's serve was down for a while, yet the mirror never moved to the origin");
    }
    return {
      ...verdict,
      mirrorFailovers: moves.failovers,
      mirrorReturns: moves.returns,
      violations: [...violations, ...retentionViolations, ...verdict.violations],
      messages: messages.length,
      faults: faults.count,
      faultsByKind: faults.byKind,
      seed: o.seed,
      seconds: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    for (const r of proxies) await r.close();
    await killAllDaemons();
  }
}

export interface ChaosPaths {
  maildir: string;
  mbox: string;
  execOut: string;
  execTemp: string;
  script: string;
}

function writeKeys(dir: string, names: string[]): { publisher: string; publisherPub: string; peers: string; publicKeys: Record<string, string> } {
  const publisher = writeKeyFiles(join(dir, "publisher"), generateKeyPair());
  const publicKeys: Record<string, string> = {};
  const lines = names.map((name) => {
    const pair = generateKeyPair();
    writeKeyFiles(join(dir, name), pair);
    publicKeys[name] = pair.publicKey;
    return `${pair.publicKey} name=${name}`;
  });
  writeFileSync(join(dir, "peers"), `${lines.join("\n")}\n`);
  return { publisher: publisher.keyFile, publisherPub: publisher.pubFile, peers: join(dir, "peers"), publicKeys };
}

/** A message the exec archiver refuses for good: its Message-ID says so. */
function poisoned(m: TestMessage): TestMessage {
  const messageId = m.messageId.replace("<", "<poison.");
  return { ...m, messageId, body: Buffer.from(m.body.toString("latin1").replace(m.messageId, messageId), "latin1") };
}

/** The exec archiver: atomic files by seq, an order log, exit 75 while a flag exists, exit 65 for poison. */
function preparePaths(dir: string): ChaosPaths {
  const paths = {
    maildir: join(dir, "maildir"),
    mbox: join(dir, "mbox"),
    execOut: join(dir, "exec"),
    execTemp: join(dir, "exec-temporary-failure"),
    script: join(dir, "archiver.sh"),
  };
  mkdirSync(paths.execOut, { recursive: true });
  // The sink directories are symlinks to the real ones, so a fault can make them unusable in one atomic rename.
  for (const d of [paths.maildir, paths.mbox]) {
    mkdirSync(realDirOf(d), { recursive: true });
    symlinkSync(realDirOf(d), d);
  }
  writeFileSync(
    paths.script,
    [
      "#!/bin/sh",
      `[ -e ${paths.execTemp} ] && { echo "archive temporarily unavailable" >&2; exit 75; }`,
      `case "$MQA_MESSAGE_ID" in "<poison."*) echo "this message poisons the archiver" >&2; exit 65 ;; esac`,
      `out=${paths.execOut}/$MQA_LIST; [ -d "$out" ] || mkdir -p "$out" || exit 75`,
      `cat > "$out/$MQA_SEQ.tmp" && mv "$out/$MQA_SEQ.tmp" "$out/$MQA_SEQ.eml" && echo "$MQA_LIST $MQA_SEQ" >> ${paths.execOut}/order.log`,
    ].join("\n"),
  );
  chmodSync(paths.script, 0o755);
  return paths;
}

/**
 * Publish every message within `seconds`, a second's worth at a time: most
 * through bulk import (one mbox per list), one per tick through a single
 * `publish`, as Mailman would. (Each is a Node process: few per second.)
 */
async function publishSteadily(
  db: string,
  dir: string,
  messages: readonly TestMessage[],
  seconds: number,
  random: () => number,
  violations: string[],
  say: (line: string) => void,
): Promise<void> {
  const start = Date.now();
  const TICK_MS = 1000;
  const perTick = messages.length / ((seconds * 1000) / TICK_MS);
  let sent = 0;
  for (let tick = 0; sent < messages.length; tick++) {
    const upTo = Math.min(messages.length, Math.round((tick + 1) * perTick));
    const chunk = messages.slice(sent, upTo);
    sent = upTo;
    const [single, ...rest] = chunk;
    const jobs: Array<Promise<void>> = [];
    if (single) jobs.push(publishOne(db, single, violations));
    for (const list of LISTS) {
      const group = rest.filter((m) => m.list === list);
      if (group.length > 0) jobs.push(importMbox(db, dir, list, group, `${tick}-${list}`, violations));
    }
    await Promise.all(jobs);
    if (tick % 10 === 0) say(`published ${sent}/${messages.length}`);
    const due = start + (tick + 1) * TICK_MS * (0.9 + random() * 0.2);
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
  }
}

async function publishOne(db: string, m: TestMessage, violations: string[]): Promise<void> {
  const r = await runCli(["publish", "--db", db, "--list", m.list], { input: m.body });
  if (r.status !== 0) violations.push(`publish of ${m.messageId} exited ${r.status}: ${r.stderr.trim()}`);
}

async function importMbox(db: string, dir: string, list: string, group: TestMessage[], name: string, violations: string[]): Promise<void> {
  const file = join(dir, `import-${name}.mbox`);
  writeFileSync(file, Buffer.concat(group.map((m) => mboxEntry({ body: m.body, receivedAt: Date.now() }))));
  const r = await runCli(["publish", "--db", db, "--list", list, "--mbox", file, "--quiet"]);
  if (r.status !== 0 || !r.stdout.startsWith(`imported ${group.length},`)) {
    violations.push(`bulk import ${name} exited ${r.status}: ${r.stdout.trim()} ${r.stderr.trim()}`);
  }
  rmSync(file, { force: true });
}

/** Samples the outbox every 250 ms: pruning must never pass the lowest ack. The returned stop() says how many samples were read. */
function watchRetention(db: string, violations: string[]): () => number {
  let samples = 0;
  const timer = setInterval(() => {
    if (!existsSync(db)) return;
    try {
      const r = readRetention(db);
      samples++;
      const prunedUpTo = r.first > 0 ? r.first - 1 : r.head;
      if (r.minAcked !== null && prunedUpTo > r.minAcked && violations.length < 10) {
        violations.push(`pruned up to seq ${prunedUpTo} while a peer had acknowledged only ${r.minAcked}`);
      }
    } catch {
      /* busy: the next sample will do */
    }
  }, 250);
  return () => {
    clearInterval(timer);
    return samples;
  };
}

function progress(db: string): string {
  const outbox = Outbox.open(db, { create: false, readonly: true });
  try {
    return `head ${outbox.records.head()}, acked ${outbox.peers.all().map((p) => `${p.name} ${p.acked}`).join(", ")}`;
  } finally {
    outbox.close();
  }
}

async function waitAllAcked(db: string, names: string[], chain: Chain, timeoutMs: number, faults: FaultInjector): Promise<void> {
  const allAcked = async (): Promise<boolean> => {
    await faults.keepAlive();
    const outbox = Outbox.open(db, { create: false, readonly: true });
    try {
      const head = outbox.records.head();
      const acked = new Map(outbox.peers.all().map((p) => [p.name, p.acked]));
      return names.every((n) => (acked.get(n) ?? -1) >= head) && chain.caughtUp(head, acked);
    } finally {
      outbox.close();
    }
  };
  try {
    await waitFor(allAcked, { timeoutMs, intervalMs: 200, what: "every peer to acknowledge everything" });
  } catch (err) {
    throw new Error(`peers did not catch up (${(err as Error).message}): ${progress(db)}, ${chain.progress()}\n${faults.tails()}`);
  }
}

