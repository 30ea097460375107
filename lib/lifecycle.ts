// The start/close scaffolding every engine shares (publisher, subscriber):
// start() once, close() once (later calls get the same promise), closed()
// resolving with why, and close steps run in order, each guarded so one
// failing never skips the rest.

import { StateMachineError } from "./errors.js";
import type { Logger } from "./log.js";

export type CloseReason = { type: "closed" } | { type: "failed"; error: Error };

export class Lifecycle {
  private started = false;
  private closing: Promise<void> | null = null;
  private resolveClosed!: (reason: CloseReason) => void;
  private readonly closedPromise = new Promise<CloseReason>((resolve) => (this.resolveClosed = resolve));

  constructor(private readonly what: string) {}

  /** Mark the engine started: a second start is a programming error. */
  begin(): void {
    if (this.started) throw new StateMachineError(`${this.what} already started`);
    this.started = true;
  }

  get isClosing(): boolean {
    return this.closing !== null;
  }

  /** Run `shutdown` the first time; resolve closed() with the reason when it is done. */
  close(shutdown: () => Promise<void>, error?: Error): Promise<void> {
    this.closing ??= shutdown().then(() => this.resolveClosed(error ? { type: "failed", error } : { type: "closed" }));
    return this.closing;
  }

  closed(): Promise<CloseReason> {
    return this.closedPromise;
  }
}

/** Run close steps in order, each awaited and guarded: a failure is logged and the next step runs. */
export async function runCloseSteps(steps: ReadonlyArray<() => unknown>, log: Logger): Promise<void> {
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      log.warn({ err }, "error while closing");
    }
  }
}
