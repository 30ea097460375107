// The problems a subscriber's sinks reported (SinkContext.problem), as the
// state file keeps them: one JSON list in its meta, informational only (not
// part of any commit), read by `status --state`.

/** A condition a sink reported a person must fix, and since when (ms). */
export interface SinkProblem {
  sink: string;
  problem: string;
  since: number;
}

export function parseProblems(raw: string | null): SinkProblem[] {
  return raw === null ? [] : (JSON.parse(raw) as SinkProblem[]);
}

/** The list with `sink`'s problem set, or cleared (null); null when nothing is left. */
export function withProblem(list: readonly SinkProblem[], sink: string, problem: string | null, now: number): string | null {
  const next = list.filter((p) => p.sink !== sink);
  if (problem !== null) next.push({ sink, problem, since: now });
  return next.length === 0 ? null : JSON.stringify(next);
}
