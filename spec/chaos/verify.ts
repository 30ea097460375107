// The checks at the end of a chaos run: every archive holds every message it
// should exactly once, byte-identical, in per-list order; what the exec sink
// refused for good is in its dead-letter store; nothing else is missing.
// The chain's archives (the relay's maildir, the mirror's mbox) likewise.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SubscriberState } from "../../lib/store/state.js";
import { compareArchive, readMaildirArchive, readMboxArchive, sha256, type TestMessage } from "../helpers/messages.js";
import type { ChainPaths } from "./chain.js";
import type { ChaosPaths } from "./chaos.js";

export interface Verdict {
  lost: number;
  duplicated: number;
  deadLettered: number;
  violations: string[];
}

export interface VerifyInput {
  messages: readonly TestMessage[];
  poison: ReadonlySet<string>;
  paths: ChaosPaths;
  stateOfExec: string;
  /** The lists the exec peer follows (null: all). */
  execLists: readonly string[] | null;
}

export async function verifyArchives(input: VerifyInput): Promise<Verdict> {
  const verdict: Verdict = { lost: 0, duplicated: 0, deadLettered: 0, violations: [] };
  const lists = [...new Set(input.messages.map((m) => m.list))];
  for (const list of lists) {
    // Outbox order is the order to keep. Concurrent publishes commit in any order, and
    // the outbox is pruned by now, so take each message's seq from the maildir's file names.
    const maildir = readMaildirArchive(input.paths.maildir, list);
    const seqOf = new Map(maildir.map((f) => [sha256(f.body), f.seq]));
    const expected = input.messages
      .filter((m) => m.list === list)
      .sort((a, b) => (seqOf.get(sha256(a.body)) ?? 0) - (seqOf.get(sha256(b.body)) ?? 0));
    const healthy = expected.filter((m) => !input.poison.has(m.messageId));
    tally(verdict, `maildir ${list}`, compareArchive(expected, maildir.map((f) => f.body)), false);
    tally(verdict, `mbox ${list}`, compareArchive(expected, await readMboxArchive(input.paths.mbox, list)), true);
    const execFollows = input.execLists === null || input.execLists.includes(list);
    tally(verdict, `exec ${list}`, compareArchive(execFollows ? healthy : [], execFiles(input.paths.execOut, list)), true);
  }
  checkExecOrder(input.paths.execOut, verdict);
  checkDeadLetters(input, verdict);
  return verdict;
}

/**
 * The chain: the relay's maildir and the mirror's mbox hold every message
 * (poison too: only exec refuses it) exactly once, byte-identical; the
 * relay's under the origin's seqs, the mirror's in the origin's per-list order.
 */
export async function verifyChain(messages: readonly TestMessage[], originMaildir: string, chain: ChainPaths, verdict: Verdict): Promise<void> {
  const lists = [...new Set(messages.map((m) => m.list))];
  for (const list of lists) {
    const seqOf = new Map(readMaildirArchive(originMaildir, list).map((f) => [sha256(f.body), f.seq]));
    const expected = messages
      .filter((m) => m.list === list)
      .sort((a, b) => (seqOf.get(sha256(a.body)) ?? 0) - (seqOf.get(sha256(b.body)) ?? 0));
    const relay = readMaildirArchive(chain.relayMaildir, list);
    tally(verdict, `relay maildir ${list}`, compareArchive(expected, relay.map((f) => f.body)), true);
    const wrongSeq = relay.filter((f) => seqOf.has(sha256(f.body)) && seqOf.get(sha256(f.body)) !== f.seq).length;
    if (wrongSeq > 0) verdict.violations.push(`relay maildir ${list}: ${wrongSeq} messages under another seq than the origin's`);
    tally(verdict, `mirror mbox ${list}`, compareArchive(expected, await readMboxArchive(chain.mirrorMbox, list)), true);
  }
}

function tally(v: Verdict, what: string, c: ReturnType<typeof compareArchive>, ordered: boolean): void {
  v.lost += c.missing.length;
  v.duplicated += c.duplicated.length;
  if (c.missing.length > 0) v.violations.push(`${what}: ${c.missing.length} missing, e.g. ${c.missing.slice(0, 3).join(" ")}`);
  if (c.duplicated.length > 0) v.violations.push(`${what}: ${c.duplicated.length} duplicated, e.g. ${c.duplicated.slice(0, 3).join(" ")}`);
  if (c.unexpected > 0) v.violations.push(`${what}: ${c.unexpected} entries that match no message (torn or altered)`);
  if (ordered && c.outOfOrder) v.violations.push(`${what}: out of per-list order`);
}

/** The exec archiver's files, by seq. */
function execFiles(dir: string, list: string): Buffer[] {
  const d = join(dir, list);
  if (!existsSync(d)) return [];
  return readdirSync(d)
    .filter((n) => n.endsWith(".eml"))
    .map((n) => ({ seq: Number(n.slice(0, -4)), file: join(d, n) }))
    .sort((a, b) => a.seq - b.seq)
    .map((f) => readFileSync(f.file));
}

/** exec runs at least once: a seq may repeat after a crash, but first runs must go up within a list. */
function checkExecOrder(dir: string, v: Verdict): void {
  const log = join(dir, "order.log");
  if (!existsSync(log)) return;
  const seen = new Set<string>();
  const last = new Map<string, number>();
  for (const line of readFileSync(log, "utf8").split("\n")) {
    if (line === "" || seen.has(line)) continue;
    seen.add(line);
    const [list, seqText] = line.split(" ");
    const seq = Number(seqText);
    if (seq < (last.get(list!) ?? 0)) v.violations.push(`exec ${list}: seq ${seq} stored after ${last.get(list!)}`);
    last.set(list!, seq);
  }
}

function checkDeadLetters(input: VerifyInput, v: Verdict): void {
  const state = SubscriberState.open(input.stateOfExec, { create: false });
  try {
    const dead = state.deadLetters();
    v.deadLettered = dead.length;
    const ids = new Set(dead.map((d) => d.messageId));
    const listOf = new Map(input.messages.map((m) => [m.messageId, m.list]));
    const execFollows = (id: string): boolean => input.execLists === null || input.execLists.includes(listOf.get(id)!);
    for (const id of [...input.poison].filter(execFollows)) {
      if (!ids.has(id)) {
        v.lost++;
        v.violations.push(`poisoned ${id} is neither archived by exec nor in its dead-letter store`);
      }
    }
    for (const d of dead) {
      if (!input.poison.has(d.messageId)) v.violations.push(`${d.messageId} was dead-lettered but only failed temporarily: ${d.error}`);
    }
    if (dead.length !== ids.size) v.violations.push(`${dead.length - ids.size} messages dead-lettered twice`);
  } finally {
    state.close();
  }
}
