// The publisher's security: CURVE keys for its sockets, the ZAP decisions
// that keep unknown keys out (and keys limited to some lists off PUB), the
// hello authorizer, and the record of refused keys. Reloading the allowlist
// reports which keys lost access so their sessions can be ended.

import { RateLimiter, type Logger } from "../log.js";
import { KeyAuthorizer } from "../security/key-authorizer.js";
import { fingerprint, type KeyPair } from "../security/keys.js";
import type { PeerAcl } from "../security/peers-file.js";
import { decideZap, type SocketRole, type ZapRequest } from "../security/zap.js";
import { registerZap } from "../transport/zap-server.js";
import type { CurveServer } from "../transport/zmq.js";

export interface Refusal {
  fingerprint: string;
  key: string;
  address: string;
  count: number;
  at: number;
}

export interface AclChange {
  removed: string[];
  narrowed: string[];
  /** Some key that could follow PUB lost that right: PUB must drop its subscribers. */
  pubAffected: boolean;
}

/** Distinct refused keys held between two writes to the outbox: beyond it, only the total counts them. */
const MAX_PENDING_REFUSALS = 1000;

export class Gatekeeper {
  readonly authorizer: KeyAuthorizer;
  private pending = new Map<string, Refusal>();
  /** Refusal lines: one per 10 s per address (an attacker makes keys for free, not addresses), 20 in all. */
  private readonly limiter = new RateLimiter(10_000, 20);
  private readonly registrations: Array<() => void> = [];
  refusedTotal = 0;

  constructor(
    private readonly keys: KeyPair,
    private acl: PeerAcl,
    private readonly log: Logger,
  ) {
    this.authorizer = new KeyAuthorizer(keys, () => this.acl);
  }

  /** Register the ZAP handlers; returns the CURVE settings for each socket. */
  async start(): Promise<Record<SocketRole, CurveServer>> {
    const curve = async (role: SocketRole): Promise<CurveServer> => {
      const { domain, remove } = await registerZap(`mq-archive.${role}`, (request) => this.decide(role, request));
      this.registrations.push(remove);
      return { secretKey: this.keys.secretKey, publicKey: this.keys.publicKey, domain };
    };
    return { router: await curve("router"), pub: await curve("pub") };
  }

  private decide(role: SocketRole, request: ZapRequest): string | null {
    const decision = decideZap(this.acl, role, request);
    if (decision.ok) return null;
    if (decision.reason === "unknown-key" && decision.key !== null) this.refused(decision.key, request.address);
    else this.warn(request.address, { role, key: decision.key && fingerprint(decision.key), address: request.address, reason: decision.text }, "refused a handshake");
    return decision.text;
  }

  private refused(key: string, address: string): void {
    this.refusedTotal++;
    const fp = fingerprint(key);
    const entry = this.pending.get(fp) ?? { fingerprint: fp, key, address, count: 0, at: 0 };
    entry.count++;
    entry.at = Date.now();
    entry.address = address;
    if (this.pending.has(fp) || this.pending.size < MAX_PENDING_REFUSALS) this.pending.set(fp, entry);
    this.warn(address, { key: fp, publicKey: key, address }, "refused an unknown key (counted in status)");
  }

  private warn(address: string, fields: Record<string, unknown>, message: string): void {
    const suppressed = this.limiter.allow(address);
    if (suppressed !== null) this.log.warn(suppressed > 0 ? { ...fields, suppressed } : fields, message);
  }

  /** Refusals since the last call, for the outbox. */
  drainRefusals(): Refusal[] {
    const out = [...this.pending.values()];
    this.pending = new Map();
    return out;
  }

  /** Refusals that could not be written yet: counted again with the next ones. */
  requeueRefusals(refusals: readonly Refusal[]): void {
    for (const r of refusals) {
      const entry = this.pending.get(r.fingerprint);
      if (entry) entry.count += r.count;
      else this.pending.set(r.fingerprint, { ...r });
    }
  }

  setPeers(next: PeerAcl): AclChange {
    const { removed, narrowed } = this.acl.changesTo(next);
    const pubAffected = [...removed, ...narrowed].some((key) => this.acl.get(key)?.all === true);
    this.acl = next;
    return { removed, narrowed, pubAffected };
  }

  close(): void {
    for (const remove of this.registrations.splice(0)) remove();
  }
}
