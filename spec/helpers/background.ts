// Publishing at a steady pace while a test does other things (kills,
// restarts), so faults land mid-stream.

import type { Mesh } from "./mesh.js";
import type { TestMessage } from "./messages.js";

export interface BackgroundPublish {
  /** Resolves with every seq once all messages are committed. */
  done: Promise<number[]>;
  /** How many are committed so far. */
  committed(): number;
}

export function publishInBackground(mesh: Mesh, messages: readonly TestMessage[], perTick = 10, tickMs = 5): BackgroundPublish {
  let count = 0;
  const done = (async () => {
    const seqs: number[] = [];
    for (let i = 0; i < messages.length; i += perTick) {
      seqs.push(...mesh.publish(messages.slice(i, i + perTick)));
      count = seqs.length;
      await new Promise((resolve) => setTimeout(resolve, tickMs));
    }
    return seqs;
  })();
  return { done, committed: () => count };
}
