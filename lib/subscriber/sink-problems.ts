// What the sinks said a person must fix (SinkContext.problem): each change
// logged once, the current text kept in the state file for `status
// --state`, and known to the deliverer, which then logs that sink's retries
// at debug only (the problem already said why it waits).

import type { Logger } from "../log.js";
import type { SubscriberState } from "../store/state.js";

export class SinkProblems {
  private readonly current = new Map<string, string>();

  constructor(
    private readonly state: SubscriberState,
    private readonly log: Logger,
  ) {}

  /** Forget what an earlier run reported: only this run's sinks speak now. */
  reset(): void {
    this.current.clear();
    this.keep(() => this.state.clearSinkProblems());
  }

  report(sink: string, problem: string | null): void {
    if ((this.current.get(sink) ?? null) === problem) return;
    if (problem === null) {
      this.current.delete(sink);
      this.log.info({ sink }, "sink problem solved: it stores again");
    } else {
      this.current.set(sink, problem);
      this.log.error({ sink, problem }, `sink needs attention: ${problem}`);
    }
    this.keep(() => this.state.setSinkProblem(sink, problem));
  }

  has(sink: string): boolean {
    return this.current.has(sink);
  }

  /** The state file only shows the problem: failing to write it must not stop the peer. */
  private keep(write: () => void): void {
    try {
      write();
    } catch (err) {
      this.log.warn({ err }, "cannot record a sink's problem in the state file; status --state will not show it");
    }
  }
}
