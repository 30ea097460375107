// Which lists a pattern set admits. Patterns are exact names or globs with
// `*` (any run of characters) and `?` (one character); null admits all.
// Pure: used for subscriber filters and for per-peer authorization.
//
// Patterns may come from a hostile peer's hello, so matching never
// backtracks: a glob is cut at its stars into segments, and each segment is
// found leftmost after the previous one (leftmost is always safe for `*`).
// One list costs at most O(list × pattern) character steps, and a matcher
// remembers its answer per list name, so a stream pays it once per list.

export type ListMatcher = (list: string) => boolean;

export const ALL_LISTS: ListMatcher = () => true;

/** What one hello (or --lists) may ask for: list names are at most 255 characters. */
export const MAX_PATTERNS = 256;
export const MAX_PATTERN_LENGTH = 255;
/** All of them together: a hello must fit the wire's 64 KiB header limit with room to spare. */
export const MAX_PATTERNS_TOTAL = 16 * 1024;

/** Names a matcher remembers its answer for; past that it forgets them all and starts over. */
const MEMO_ENTRIES = 4096;

export function listMatcher(patterns: readonly string[] | null): ListMatcher {
  if (patterns === null) return ALL_LISTS;
  if (patterns.includes("*")) return ALL_LISTS;
  const exact = new Set(patterns.filter((p) => !isGlob(p)));
  const globs = patterns.filter(isGlob).map(compileGlob);
  if (globs.length === 0) return (list) => exact.has(list);
  const memo = new Map<string, boolean>();
  return (list) => {
    if (exact.has(list)) return true;
    let admitted = memo.get(list);
    if (admitted === undefined) {
      admitted = globs.some((glob) => glob(list));
      if (memo.size >= MEMO_ENTRIES) memo.clear();
      memo.set(list, admitted);
    }
    return admitted;
  };
}

/** Why a pattern set is beyond the bounds, or null when it is within them. */
export function patternsProblem(patterns: readonly string[]): string | null {
  if (patterns.length > MAX_PATTERNS) return `${patterns.length} list patterns, more than ${MAX_PATTERNS}`;
  const long = patterns.find((p) => p.length === 0 || p.length > MAX_PATTERN_LENGTH);
  if (long !== undefined) return `a list pattern of ${long.length} characters (1 to ${MAX_PATTERN_LENGTH})`;
  const total = patterns.reduce((sum, p) => sum + p.length, 0);
  if (total > MAX_PATTERNS_TOTAL) return `list patterns of ${total} characters in all, more than ${MAX_PATTERNS_TOTAL}`;
  return null;
}

/** Both matchers must admit the list. */
export function bothMatch(a: ListMatcher, b: ListMatcher): ListMatcher {
  if (a === ALL_LISTS) return b;
  if (b === ALL_LISTS) return a;
  return (list) => a(list) && b(list);
}

function isGlob(pattern: string): boolean {
  return pattern.includes("*") || pattern.includes("?");
}

/** A glob as a matcher that never backtracks. */
export function compileGlob(glob: string): ListMatcher {
  const segments = glob.split("*");
  const first = segments[0]!;
  if (segments.length === 1) return (list) => list.length === first.length && segmentAt(list, first, 0);
  const last = segments[segments.length - 1]!;
  const middle = segments.slice(1, -1).filter((s) => s.length > 0);
  const fixed = first.length + last.length;
  return (list) => {
    if (list.length < fixed || !segmentAt(list, first, 0) || !segmentAt(list, last, list.length - last.length)) return false;
    let from = first.length;
    const end = list.length - last.length;
    for (const segment of middle) {
      const at = findSegment(list, segment, from, end);
      if (at < 0) return false;
      from = at + segment.length;
    }
    return true;
  };
}

/** Whether `segment` (with `?` for any one character) matches `list` at `at`. */
function segmentAt(list: string, segment: string, at: number): boolean {
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    if (c !== 0x3f && c !== list.charCodeAt(at + i)) return false;
  }
  return true;
}

/** The leftmost place in list[from, end) where `segment` matches whole, or -1. */
function findSegment(list: string, segment: string, from: number, end: number): number {
  for (let at = from; at + segment.length <= end; at++) {
    if (segmentAt(list, segment, at)) return at;
  }
  return -1;
}
