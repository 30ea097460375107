// How many generated cases each property runs: small in `npm test`,
// large in `npm run fuzz` (FUZZ_RUNS), the same seed when FUZZ_SEED is set.

import type { Parameters } from "fast-check";

export function fuzzParameters<T>(defaultRuns: number, scale = 1): Parameters<T> {
  const runs = process.env.FUZZ_RUNS ? Math.max(1, Math.round(Number(process.env.FUZZ_RUNS) * scale)) : defaultRuns;
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
  return { numRuns: runs, ...(seed === undefined ? {} : { seed }), endOnFailure: true };
}

/** Mocha timeout for a property: generous when the run count is raised. */
export function fuzzTimeout(defaultMs: number): number {
  return process.env.FUZZ_RUNS ? 0 : defaultMs;
}
